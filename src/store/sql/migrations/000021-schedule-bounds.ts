/**
 * 000021: schedules users can reason about. A job's catch-up policy, the window it fires in
 * (start_at, end_at), the most runs its fires may start (max_runs) and its jitter; the random
 * delay a run got from that jitter. Additive: a release that does not know the columns still
 * works on the tables (its jobs get the defaults: no catch-up, no bounds, no jitter).
 */
export const name = 'schedule-bounds';

export const sql = `
ALTER TABLE job ADD COLUMN IF NOT EXISTS catch_up text NOT NULL DEFAULT 'none' CHECK (catch_up IN ('none', 'last', 'all'));
ALTER TABLE job ADD COLUMN IF NOT EXISTS start_at timestamptz;
ALTER TABLE job ADD COLUMN IF NOT EXISTS end_at timestamptz;
ALTER TABLE job ADD COLUMN IF NOT EXISTS max_runs integer;
ALTER TABLE job ADD COLUMN IF NOT EXISTS jitter integer;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS jitter_ms integer;
`;
