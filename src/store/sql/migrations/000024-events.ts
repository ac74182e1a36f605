/**
 * 000024: the event log behind the live streams (GET /events, a followed run's output), and
 * the number of lines each run has written in all, which numbers its output lines for a
 * stream to resume from. Additive: a release that does not know them still works.
 */
export const name = 'events';

export const sql = `
CREATE TABLE IF NOT EXISTS event (
  id bigserial PRIMARY KEY,
  type text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  job_id text,
  execution_id text,
  batch_id text,
  handler text,
  status text,
  progress real,
  state text
);
CREATE INDEX IF NOT EXISTS event_at_idx ON event (at);
ALTER TABLE execution ADD COLUMN IF NOT EXISTS output_lines bigint NOT NULL DEFAULT 0;
`;
