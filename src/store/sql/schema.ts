/**
 * The service's own tables. Agenda's table (agenda_jobs) is created by its backend; the
 * engine adds its one index on it (see engine/agenda.ts). Every statement is idempotent so
 * it runs on every boot.
 */
export const schemaSql = `
CREATE TABLE IF NOT EXISTS job (
  job_id             text PRIMARY KEY,
  handler            text NOT NULL,
  kwargs             jsonb NOT NULL DEFAULT '{}'::jsonb,
  state              text NOT NULL CHECK (state IN ('running', 'paused')),
  periodically       text,
  interval_seconds   bigint,
  cron               text,
  timezone           text,
  when_at            timestamptz,
  misfire_grace_time integer,
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
  selection        jsonb,
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

CREATE TABLE IF NOT EXISTS service_state (
  id         text PRIMARY KEY,
  state      text NOT NULL CHECK (state IN ('running', 'paused')),
  updated_at timestamptz NOT NULL
);
`;
