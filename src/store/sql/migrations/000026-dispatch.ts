/**
 * 000026: the rows the dispatcher claims move from Agenda's agenda_jobs to `dispatch`, a table
 * of the service's own. Agenda's processor never ran on PostgreSQL or PGlite (the service
 * claims and writes the rows itself, engine/sql), but its table cost every run: 31 columns, a
 * trigger that rewrote updated_at on every update, and an index on locked_at and another on
 * next_run_at alone, so each claim was a non-HOT update writing five index entries.
 *
 * `dispatch` holds one row per job with a next fire (job_id) and one per queued run
 * (execution_id). Its one non-unique index names (handler, disabled, next_run_at) and nothing
 * a claim or a release changes: a claim (locked_by, locked_at, claimed_at) is a HOT update, which
 * writes no index entry. Rows whose lock expired are found by the same due probe (a row held
 * by a worker that died is claimed again once it is due and its lock has expired); the rows
 * of workers declared gone are found by reading the table, which holds only what is
 * scheduled or queued. Fillfactor 50: a row is rewritten by its claim within seconds of its
 * insert, and a HOT update needs room on the row's own page (bench/run-cost.ts: 79% of the
 * claims HOT at 70, all at 50; the rows are small and few). next_run_at keeps milliseconds,
 * as a JavaScript Date does, so the time a claim read compares equal to the stored one.
 *
 * The rows of agenda_jobs move here and the table goes. Breaking: a release before this one
 * would create agenda_jobs again and dispatch from it, so it refuses the database instead.
 */
export const name = 'dispatch';

export const breaking = true;

export const sql = `
CREATE TABLE IF NOT EXISTS dispatch (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  handler      text NOT NULL,
  job_id       text,
  execution_id text,
  next_run_at  timestamptz(3) NOT NULL,
  disabled     boolean NOT NULL DEFAULT false,
  -- The worker holding the row, since when (renewed while its run goes on), and the time of
  -- the claim that took it: a release matches holder and claim, so a late one is harmless.
  locked_by    text,
  locked_at    timestamptz,
  claimed_at   timestamptz,
  CONSTRAINT dispatch_one_kind CHECK ((job_id IS NULL) <> (execution_id IS NULL))
) WITH (fillfactor = 50);
CREATE UNIQUE INDEX IF NOT EXISTS dispatch_job_idx ON dispatch (job_id) WHERE job_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS dispatch_run_idx ON dispatch (execution_id) WHERE execution_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS dispatch_due_idx ON dispatch (handler, disabled, next_run_at);

DO $$
BEGIN
  IF to_regclass('agenda_jobs') IS NOT NULL THEN
    INSERT INTO dispatch (handler, job_id, execution_id, next_run_at, disabled, locked_by, locked_at, claimed_at)
    SELECT name, data->>'job_id', CASE WHEN data->>'job_id' IS NULL THEN data->>'execution_id' END, next_run_at, COALESCE(disabled, false),
           CASE WHEN locked_at IS NULL THEN NULL ELSE last_modified_by END, locked_at, CASE WHEN locked_at IS NULL THEN NULL ELSE last_run_at END
      FROM agenda_jobs
     WHERE next_run_at IS NOT NULL AND (data->>'job_id' IS NOT NULL OR data->>'execution_id' IS NOT NULL)
    ON CONFLICT DO NOTHING;
    DROP TABLE agenda_jobs;
  END IF;
END
$$;
DROP FUNCTION IF EXISTS update_agenda_jobs_updated_at();
`;
