-- The installation's identity. Everything Conveyor asks a runtime or volume driver for carries it
-- as a label, so gc destroys as orphans only what this installation made: two installations that
-- share a containerd namespace, or a volume driver's directory, never reap each other's work.
CREATE TABLE installation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id text NOT NULL CHECK (id ~ '^[a-z0-9]{16}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation (id) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16));
