/**
 * 000019: chains. A job's on_success, on_failure and on_finish (jobs its runs' ends start) and
 * after_all (fan-in); a run's restarted_from, triggered_by and chains_pending (its chains not
 * written yet: what the chain sweep looks for, by the partial index). Additive.
 */
export const name = 'chains';

export const sql = `
ALTER TABLE job ADD COLUMN IF NOT EXISTS on_success jsonb NOT NULL DEFAULT '[]';
ALTER TABLE job ADD COLUMN IF NOT EXISTS on_failure jsonb NOT NULL DEFAULT '[]';
ALTER TABLE job ADD COLUMN IF NOT EXISTS on_finish jsonb NOT NULL DEFAULT '[]';
ALTER TABLE job ADD COLUMN IF NOT EXISTS after_all jsonb NOT NULL DEFAULT '[]';
ALTER TABLE execution ADD COLUMN IF NOT EXISTS restarted_from text;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS triggered_by jsonb;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS chains_pending boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS execution_chains_pending_idx ON execution (finished_at) WHERE chains_pending;
CREATE INDEX IF NOT EXISTS job_fan_in_idx ON job (job_id) WHERE after_all <> '[]'::jsonb;
CREATE INDEX IF NOT EXISTS job_chained_idx ON job (job_id)
  WHERE on_success <> '[]'::jsonb OR on_failure <> '[]'::jsonb OR on_finish <> '[]'::jsonb OR after_all <> '[]'::jsonb;
`;
