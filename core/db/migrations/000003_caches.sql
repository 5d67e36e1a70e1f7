-- Resource caches and task caches. Runs in one transaction, like every migration.

-- 1. A resource cache holds one fetched version of a resource (keyed by the resource type plugin,
--    its source, the version and the get params) on one worker. A get of a version already
--    fetched gives its step a copy-on-write child of the cache volume instead of fetching again.
--    The key is a digest: sources hold credentials, which never reach the database in plain text.
CREATE TABLE resource_caches (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cache_key text NOT NULL,
  worker text NOT NULL,
  -- `filling` while a build fetches into it (that build's id in build_id), then `ready`.
  state text NOT NULL CHECK (state IN ('filling', 'ready')),
  -- The volume goes, the cache goes with it.
  volume_handle text NOT NULL UNIQUE REFERENCES volumes (handle) ON DELETE CASCADE,
  -- The VolumeRef the driver returned (handle, driver, location), to mount without asking it.
  volume jsonb,
  resource_type text NOT NULL,
  version jsonb NOT NULL,
  metadata jsonb,
  build_id bigint REFERENCES builds (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (worker, cache_key)
);
CREATE INDEX resource_caches_last_used_idx ON resource_caches (last_used_at);

-- 2. A task cache (a task config's `caches:` path) persists per job, step and path on a worker.
CREATE TABLE task_caches (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id integer NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  step_name text NOT NULL,
  path text NOT NULL,
  worker text NOT NULL,
  volume_handle text NOT NULL UNIQUE REFERENCES volumes (handle) ON DELETE CASCADE,
  -- NULL while the volume is being created.
  volume jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, step_name, path, worker)
);
