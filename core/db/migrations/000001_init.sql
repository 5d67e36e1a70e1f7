-- Conveyor's initial schema.
--
-- Shipped migrations are never edited: Conveyor records each file's sha256 and refuses to start
-- when one changes. Change the schema by adding the next numbered file. Each file runs in its own
-- transaction (so no BEGIN/COMMIT here, and nothing that cannot run inside one).
--
-- Ids: integer identities for the things people name (teams, pipelines, jobs, resources), bigint
-- for the things that pile up (builds, versions, containers, volumes).

-- Teams own pipelines, builds and (later) credentials and roles.
CREATE TABLE teams (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name <> ''),
  -- Who may act on the team's behalf (Concourse's team auth config); shape owned by the API.
  auth jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO teams (name) VALUES ('main');

CREATE TABLE pipelines (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id integer NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name <> ''),
  -- The validated pipeline model as stored by set-pipeline.
  config jsonb NOT NULL,
  -- Bumped on every config change; set-pipeline sends the version it read (optimistic concurrency).
  config_version integer NOT NULL DEFAULT 1,
  -- New pipelines start paused, as in Concourse.
  paused boolean NOT NULL DEFAULT true,
  archived boolean NOT NULL DEFAULT false,
  -- Display order within the team.
  ordering integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (team_id, name)
);

CREATE TABLE jobs (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id integer NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name <> ''),
  config jsonb NOT NULL,
  -- false once the job is gone from the pipeline config: its builds stay viewable.
  active boolean NOT NULL DEFAULT true,
  paused boolean NOT NULL DEFAULT false,
  -- The last build number handed out; the next build is named build_number + 1.
  build_number integer NOT NULL DEFAULT 0,
  -- The scheduler looks at a job again when schedule_requested_at > last_scheduled_at
  -- (a new input version, a finished build, a config change).
  schedule_requested_at timestamptz NOT NULL DEFAULT now(),
  last_scheduled_at timestamptz NOT NULL DEFAULT '-infinity',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (pipeline_id, name)
);

CREATE INDEX jobs_needs_scheduling_idx ON jobs (pipeline_id)
  WHERE active AND schedule_requested_at > last_scheduled_at;

CREATE TABLE resources (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id integer NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name <> ''),
  -- Resource type name, optionally pinned to a plugin version range (`git`, `git@^2`).
  type text NOT NULL CHECK (type <> ''),
  source jsonb NOT NULL DEFAULT '{}',
  -- The whole resource declaration (tags, check_timeout, webhook_token, version, ...).
  config jsonb NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  -- NULL means `check_every: never`; the config layer fills in the default interval.
  check_every interval,
  -- When the next periodic check is due; a manual check sets it to now().
  next_check_at timestamptz NOT NULL DEFAULT now(),
  last_checked_at timestamptz,
  -- NULL when the last check succeeded.
  last_check_error text,
  -- The checker that claimed the check, until when (claimed with FOR UPDATE SKIP LOCKED).
  check_lease_owner text,
  check_lease_expires_at timestamptz,
  -- Pinned through the API; a pin in the config lives in `config`. FK added below.
  pinned_version_id bigint,
  pin_comment text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (pipeline_id, name),
  CHECK ((check_lease_owner IS NULL) = (check_lease_expires_at IS NULL))
);

CREATE INDEX resources_check_due_idx ON resources (next_check_at)
  WHERE active AND check_every IS NOT NULL;

-- A version's identity: jsonb prints equal values identically (keys sorted, whitespace fixed), so
-- the digest of that text tells versions apart. convert_to() is only STABLE because conversions can
-- be redefined, but a database's encoding never changes: IMMUTABLE is true here, and a generated
-- column needs it.
CREATE FUNCTION conveyor_version_digest(version jsonb) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN sha256(convert_to(version::text, 'UTF8'));

CREATE TABLE resource_versions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource_id integer NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  version jsonb NOT NULL,
  version_digest bytea GENERATED ALWAYS AS (conveyor_version_digest(version)) STORED,
  -- Concourse's metadata: [{ "name": ..., "value": ... }].
  metadata jsonb NOT NULL DEFAULT '[]',
  -- Order within the resource as check returned them; higher is newer.
  check_order bigint NOT NULL,
  -- Disabled versions are never chosen as inputs.
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (resource_id, version_digest)
);

CREATE INDEX resource_versions_order_idx ON resource_versions (resource_id, check_order DESC);

ALTER TABLE resources
  ADD CONSTRAINT resources_pinned_version_fkey
  FOREIGN KEY (pinned_version_id) REFERENCES resource_versions (id) ON DELETE SET NULL;

CREATE TABLE builds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id integer NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  -- NULL for one-off builds (`cc execute`).
  pipeline_id integer REFERENCES pipelines (id) ON DELETE CASCADE,
  job_id integer REFERENCES jobs (id) ON DELETE CASCADE,
  -- Job builds are numbered per job ('1', '2', reruns '2.1'); one-off builds use their id.
  name text NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'started', 'succeeded', 'failed', 'errored', 'aborted')),
  -- The compiled build plan (DAG); NULL until the scheduler has resolved the inputs.
  plan jsonb,
  manually_triggered boolean NOT NULL DEFAULT false,
  rerun_of bigint REFERENCES builds (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  start_time timestamptz,
  end_time timestamptz,
  -- The executor that runs the build, until when: claimed with FOR UPDATE SKIP LOCKED and kept
  -- alive by heartbeats, so another process takes the build over when its lease expires.
  lease_owner text,
  lease_expires_at timestamptz,
  abort_requested boolean NOT NULL DEFAULT false,
  CHECK (job_id IS NULL OR pipeline_id IS NOT NULL),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

CREATE UNIQUE INDEX builds_job_name_idx ON builds (job_id, name) WHERE job_id IS NOT NULL;
CREATE INDEX builds_job_idx ON builds (job_id, id DESC) WHERE job_id IS NOT NULL;
CREATE INDEX builds_pipeline_idx ON builds (pipeline_id, id DESC) WHERE pipeline_id IS NOT NULL;
CREATE INDEX builds_team_idx ON builds (team_id, id DESC);
CREATE INDEX builds_rerun_of_idx ON builds (rerun_of) WHERE rerun_of IS NOT NULL;
-- The executor's claim query scans only unfinished builds.
CREATE INDEX builds_unfinished_idx ON builds (id) WHERE status IN ('pending', 'started');

CREATE TABLE build_events (
  build_id bigint NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
  -- 0, 1, 2, ... per build: the SSE event id that `Last-Event-ID` resumes from.
  event_id integer NOT NULL CHECK (event_id >= 0),
  -- Concourse event type: log, status, initialize-task, start-task, finish-task, error, ...
  type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (build_id, event_id)
);

-- Containers and volumes are rows before they exist and after they are gone from the runtime:
-- gc moves them created -> destroying and deletes the row once the runtime confirms, so nothing
-- leaks across a crash. A build's deletion leaves them to gc (SET NULL), never drops the row.
CREATE TABLE containers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  handle text NOT NULL UNIQUE,
  -- Runtime plugin name (`local`, `containerd`, `kubernetes`).
  runtime text NOT NULL,
  worker text NOT NULL,
  state text NOT NULL DEFAULT 'creating' CHECK (state IN ('creating', 'created', 'destroying')),
  build_id bigint REFERENCES builds (id) ON DELETE SET NULL,
  -- The step of the build plan the container runs.
  plan_id text,
  labels jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX containers_build_idx ON containers (build_id);
CREATE INDEX containers_worker_state_idx ON containers (worker, state);

CREATE TABLE volumes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  handle text NOT NULL UNIQUE,
  -- Volume driver plugin name (`naive`, `overlay`, `btrfs`, `pvc`).
  driver text NOT NULL,
  worker text NOT NULL,
  state text NOT NULL DEFAULT 'creating' CHECK (state IN ('creating', 'created', 'destroying')),
  build_id bigint REFERENCES builds (id) ON DELETE SET NULL,
  -- The container it is mounted into, if any.
  container_handle text REFERENCES containers (handle) ON DELETE SET NULL,
  -- The volume this one is a copy-on-write clone of: the parent must outlive its children.
  parent_handle text REFERENCES volumes (handle) ON DELETE RESTRICT,
  labels jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX volumes_build_idx ON volumes (build_id);
CREATE INDEX volumes_container_idx ON volumes (container_handle);
CREATE INDEX volumes_parent_idx ON volumes (parent_handle);
CREATE INDEX volumes_worker_state_idx ON volumes (worker, state);

-- The plugins found at startup (built in, installed from a registry, or linked for development).
CREATE TABLE installed_plugins (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  version text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('runtime', 'volume', 'credentials', 'resource-type')),
  -- The plugin API range the plugin implements (`^1.0`).
  api_version text NOT NULL,
  source text NOT NULL CHECK (source IN ('builtin', 'installed', 'linked')),
  path text NOT NULL,
  -- Digest of the installed artifact (`sha256:...`); NULL for built-in and linked plugins.
  digest text,
  installed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version)
);

-- API tokens. Only the sha256 of a token is stored: the plaintext is shown once, at creation.
CREATE TABLE auth_tokens (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name <> ''),
  token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
