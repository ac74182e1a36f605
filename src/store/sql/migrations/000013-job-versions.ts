/**
 * 000013: a job's version and the definitions it had, the version each run was made from, the
 * run a fire missed under `forbid` found active, and the times jobs and the service were
 * paused (the fire ledger reads these). Additive: a release that does not know the columns
 * and tables still works on them.
 */
export const name = 'job-versions';

export const sql = `
ALTER TABLE job ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS job_version integer;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS active_execution_id text;

CREATE TABLE IF NOT EXISTS job_version (
  job_id     text COLLATE "C" NOT NULL,
  version    integer NOT NULL,
  changed_at timestamptz NOT NULL,
  changed_by text,
  changed    text[] NOT NULL,
  definition jsonb NOT NULL,
  first_fire timestamptz,
  PRIMARY KEY (job_id, version)
);

-- job_id NULL: the whole service. A pause still under way has resumed_at NULL.
CREATE TABLE IF NOT EXISTS pause (
  id         bigserial PRIMARY KEY,
  job_id     text COLLATE "C",
  paused_at  timestamptz NOT NULL,
  resumed_at timestamptz
);
CREATE INDEX IF NOT EXISTS pause_job_idx ON pause (job_id, paused_at);
CREATE INDEX IF NOT EXISTS pause_service_idx ON pause (paused_at) WHERE job_id IS NULL;

-- The fire ledger: a job's fires by due time.
CREATE INDEX IF NOT EXISTS execution_job_scheduled_idx ON execution (job_id, scheduled_at) WHERE attempt = 1;
`;
