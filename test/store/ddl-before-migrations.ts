/**
 * The service's tables as every boot created them before migrations were numbered (the DDL of
 * release 0.1.0, frozen here): the upgrade test starts from it, so a change to migration
 * 000001 cannot hide a difference from what existing databases ran.
 */
export const ddlBeforeMigrations = `
CREATE TABLE IF NOT EXISTS job (
  -- Byte order, as on the embedded store and MongoDB, whatever the database's collation.
  job_id             text COLLATE "C" PRIMARY KEY,
  handler            text NOT NULL,
  kwargs             jsonb NOT NULL DEFAULT '{}'::jsonb,
  state              text NOT NULL CHECK (state IN ('running', 'paused')),
  periodically       text,
  interval_seconds   bigint,
  cron               text,
  timezone           text,
  when_at            timestamptz,
  misfire_grace_time integer,
  timeout            integer,
  concurrency_policy text CHECK (concurrency_policy IN ('allow', 'forbid', 'replace')),
  retries            integer NOT NULL DEFAULT 0,
  retry_backoff      integer NOT NULL DEFAULT 0,
  next_run_at        timestamptz,
  last_run_at        timestamptz,
  last_status        text,
  source             text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'file')),
  source_file        text,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS job_source_idx ON job (source) WHERE source = 'file';

CREATE TABLE IF NOT EXISTS execution (
  id               text PRIMARY KEY,
  job_id           text,
  handler          text NOT NULL,
  kwargs           jsonb NOT NULL DEFAULT '{}'::jsonb,
  status           text NOT NULL,
  trigger          text NOT NULL,
  parent_id        text,
  batch_id         text,
  selection        jsonb,
  attempt          integer NOT NULL DEFAULT 1,
  timeout          integer,
  worker_id        text,
  cancel_requested_at timestamptz,
  scheduled_at     timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz,
  duration_ms      bigint,
  progress         real,
  error            text,
  stack            text,
  output           text[] NOT NULL DEFAULT '{}',
  output_truncated boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS execution_created_idx ON execution (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS execution_job_idx ON execution (job_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS execution_status_idx ON execution (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS execution_parent_idx ON execution (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS execution_handler_idx ON execution (handler, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS execution_batch_idx ON execution (batch_id, created_at DESC, id DESC) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS execution_active_idx ON execution (job_id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS execution_worker_idx ON execution (worker_id) WHERE status = 'running';

CREATE TABLE IF NOT EXISTS failure (
  id            text PRIMARY KEY,
  failed_job_id text,
  execution_id  text NOT NULL,
  handler       text NOT NULL,
  kwargs        jsonb NOT NULL DEFAULT '{}'::jsonb,
  error         text NOT NULL,
  traceback     text,
  time          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS failure_time_idx ON failure (time DESC, id DESC);

CREATE TABLE IF NOT EXISTS worker (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  host         text NOT NULL,
  pid          integer NOT NULL,
  version      text NOT NULL,
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  handlers     text[] NOT NULL,
  running      integer NOT NULL DEFAULT 0,
  cpu_load     real NOT NULL DEFAULT 0,
  memory       jsonb NOT NULL,
  state        text NOT NULL CHECK (state IN ('active', 'blocked', 'gone'))
);
-- true once the worker holds its session lock (holdWorkerSession): its process is alive while
-- the lock shows in pg_locks.
ALTER TABLE worker ADD COLUMN IF NOT EXISTS session_lock boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS worker_started_idx ON worker (started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS worker_alive_idx ON worker (heartbeat_at) WHERE state <> 'gone';

CREATE TABLE IF NOT EXISTS audit (
  id           text PRIMARY KEY,
  time         timestamptz NOT NULL,
  request_id   text,
  token_name   text,
  operation    text NOT NULL,
  method       text NOT NULL,
  path         text NOT NULL,
  job_id       text,
  execution_id text,
  worker_id    text,
  batch_id     text,
  status       integer NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('success', 'denied', 'rejected', 'error'))
);
CREATE INDEX IF NOT EXISTS audit_time_idx ON audit (time DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_operation_idx ON audit (operation, time DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_token_idx ON audit (token_name, time DESC, id DESC);

CREATE TABLE IF NOT EXISTS service_state (
  id         text PRIMARY KEY,
  state      text NOT NULL CHECK (state IN ('running', 'paused')),
  updated_at timestamptz NOT NULL
);
`;
