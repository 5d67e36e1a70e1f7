-- What the checker, the scheduler, the build lifecycle, build events and gc need on top of the
-- initial schema. Runs in one transaction, like every migration.

-- 0. The pipeline configuration as the user wrote it (YAML), shown by get-pipeline (`config`
--    keeps the validated model); who paused pipelines and jobs, and who made a build by hand.
ALTER TABLE pipelines
  ADD COLUMN config_text text,
  ADD COLUMN paused_by text,
  ADD COLUMN paused_at timestamptz;
ALTER TABLE jobs
  ADD COLUMN paused_by text,
  ADD COLUMN paused_at timestamptz;
-- NULL for builds the scheduler created.
ALTER TABLE builds ADD COLUMN created_by text;

-- 1. Resource version scopes. Concourse keeps a resource's versions while its type and source stay
--    the same and starts a fresh history when either changes. Old versions cannot simply be
--    deleted (earlier builds name them as inputs), so each resource counts its scopes and a
--    version belongs to the scope it was checked in; only the current scope's versions count.
ALTER TABLE resources
  ADD COLUMN version_scope integer NOT NULL DEFAULT 1,
  -- A check asked for through the API (`cc check-resource`); also honoured for `check_every: never`
  -- and in paused pipelines. Cleared by the check that started after it.
  ADD COLUMN check_requested_at timestamptz;

CREATE INDEX resources_check_requested_idx ON resources (check_requested_at)
  WHERE check_requested_at IS NOT NULL;

ALTER TABLE resource_versions ADD COLUMN scope integer NOT NULL DEFAULT 1;
ALTER TABLE resource_versions DROP CONSTRAINT resource_versions_resource_id_version_digest_key;
ALTER TABLE resource_versions
  ADD CONSTRAINT resource_versions_scope_digest_key UNIQUE (resource_id, scope, version_digest);
DROP INDEX resource_versions_order_idx;
CREATE INDEX resource_versions_order_idx ON resource_versions (resource_id, scope, check_order DESC);

-- 2. What the scheduler reads of a job without parsing its config: how many builds may run at
--    once, its serial groups, its inputs.
ALTER TABLE jobs
  -- NULL = unlimited; `serial: true` is 1. With serial groups the limit counts the whole groups.
  ADD COLUMN max_in_flight integer CHECK (max_in_flight > 0),
  -- Why the last scheduling pass could not resolve the job's inputs; NULL when it could.
  ADD COLUMN schedule_failure text;

CREATE TABLE job_serial_groups (
  job_id integer NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  serial_group text NOT NULL CHECK (serial_group <> ''),
  PRIMARY KEY (job_id, serial_group)
);

CREATE INDEX job_serial_groups_group_idx ON job_serial_groups (serial_group, job_id);

-- One row per `get` of a job's plan, rewritten by every set-pipeline.
CREATE TABLE job_inputs (
  job_id integer NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  -- The artifact name (`get:`).
  name text NOT NULL,
  resource_id integer NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  trigger boolean NOT NULL DEFAULT false,
  version_mode text NOT NULL DEFAULT 'latest' CHECK (version_mode IN ('latest', 'every', 'pinned')),
  -- For version_mode 'pinned': the version (or part of one) the input is pinned to.
  pinned_version jsonb,
  -- The jobs a version must have passed through (all of them).
  passed_job_ids integer[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (job_id, name),
  CHECK ((version_mode = 'pinned') = (pinned_version IS NOT NULL))
);

CREATE INDEX job_inputs_resource_idx ON job_inputs (resource_id);
CREATE INDEX job_inputs_passed_idx ON job_inputs USING gin (passed_job_ids);

-- 3. The versions a build consumed and produced. The scheduler reads them for `passed:` (a
--    version passed a job when a succeeded build of it had the version as an input or an
--    output), for `every` (the versions a job already used) and for first occurrences.
CREATE TABLE build_inputs (
  build_id bigint NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
  -- Copied from the build so the per-job lookups need no join; NULL for one-off builds.
  job_id integer REFERENCES jobs (id) ON DELETE CASCADE,
  name text NOT NULL,
  resource_version_id bigint NOT NULL REFERENCES resource_versions (id) ON DELETE CASCADE,
  -- No earlier build of the job had this version as this input.
  first_occurrence boolean NOT NULL,
  PRIMARY KEY (build_id, name)
);

CREATE INDEX build_inputs_job_idx ON build_inputs (job_id, name, resource_version_id);
CREATE INDEX build_inputs_version_idx ON build_inputs (resource_version_id);

CREATE TABLE build_outputs (
  build_id bigint NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
  -- The output's name in the plan (the `put:` step).
  name text NOT NULL,
  resource_version_id bigint NOT NULL REFERENCES resource_versions (id) ON DELETE CASCADE,
  PRIMARY KEY (build_id, name, resource_version_id)
);

CREATE INDEX build_outputs_version_idx ON build_outputs (resource_version_id);

-- 4. Build lifecycle lookups: a job's unfinished builds (max_in_flight, serial groups, the next
--    build), started builds whose lease ran out (recovery), a job's latest finished build.
CREATE INDEX builds_job_unfinished_idx ON builds (job_id, id)
  WHERE job_id IS NOT NULL AND status IN ('pending', 'started');
CREATE INDEX builds_lease_idx ON builds (lease_expires_at) WHERE status = 'started';
CREATE INDEX builds_job_finished_idx ON builds (job_id, id DESC)
  WHERE job_id IS NOT NULL AND status IN ('succeeded', 'failed', 'errored', 'aborted');

-- 5. Build event ids. Appending takes the next ids from this counter with an upsert, whose row
--    lock is held until the appending transaction commits: ids become visible in the order they
--    were handed out, so a reader that has seen id N has seen every id below N.
CREATE TABLE build_event_counters (
  build_id bigint PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
  next_event_id integer NOT NULL CHECK (next_event_id >= 0)
);

-- 6. gc finds what is to be destroyed without scanning every row.
CREATE INDEX containers_destroying_idx ON containers (id) WHERE state = 'destroying';
CREATE INDEX volumes_destroying_idx ON volumes (id) WHERE state = 'destroying';
