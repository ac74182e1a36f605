/**
 * 000025: a run's status changes (queued -> running -> its end) become HOT updates, which
 * write no index entry. An UPDATE is HOT only when no index of the table names a column it
 * changes, as key or in its condition; status, worker_id and finished_at were named by
 * execution_status_idx, execution_active_idx, execution_worker_idx and
 * execution_chains_pending_idx, so each start and end wrote an entry into every index of the
 * table (about 17 per run, where a HOT run writes the 5 of its insert).
 *
 * The runs not ended yet (queued, running) are found instead in execution_active, a table of
 * one small row per such run that a trigger keeps: inserted with the run, updated when its
 * status, worker or cancel request changes, deleted at its end. Every writer of execution
 * keeps it right, whatever statement it sends. Its indexes name neither status nor worker_id,
 * so a start is HOT there too; the queries by worker read the table whole, which holds only
 * the runs under way. execution_chains_pending_idx is keyed on created_at: the runs it holds
 * (chains not written yet) are few, and finished_at changes at every end.
 *
 * A status filter on a list of ended runs reads execution_created_idx (or the job's,
 * handler's... index) and skips the others. Fillfactor 50: a run's row is rewritten twice
 * in its first seconds, and runs created together share pages (measured with
 * bench/run-cost.ts: 83 to 94% of the updates HOT at 50, 76% at 80). Additive: an older release
 * reads the same columns, more slowly where it looked for the dropped indexes.
 *
 * The trigger's statements name execution_active without a schema: the service sets the
 * search_path of every connection to its schema.
 */
export const name = 'active-runs';

export const sql = `
CREATE TABLE IF NOT EXISTS execution_active (
  id                  text PRIMARY KEY,
  job_id              text,
  status              text NOT NULL,
  worker_id           text,
  cancel_requested_at timestamptz,
  created_at          timestamptz NOT NULL
) WITH (fillfactor = 50);
CREATE INDEX IF NOT EXISTS execution_active_job_idx ON execution_active (job_id) WHERE job_id IS NOT NULL;
-- The runs a worker is asked to cancel, polled by every worker while it runs any.
CREATE INDEX IF NOT EXISTS execution_active_cancel_idx ON execution_active (id) WHERE cancel_requested_at IS NOT NULL;

CREATE OR REPLACE FUNCTION execution_active_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO execution_active (id, job_id, status, worker_id, cancel_requested_at, created_at)
    VALUES (NEW.id, NEW.job_id, NEW.status, NEW.worker_id, NEW.cancel_requested_at, NEW.created_at);
  ELSIF TG_OP = 'DELETE' THEN
    DELETE FROM execution_active WHERE id = OLD.id;
  ELSIF NEW.status NOT IN ('queued', 'running') THEN
    DELETE FROM execution_active WHERE id = OLD.id;
  ELSE
    UPDATE execution_active SET job_id = NEW.job_id, status = NEW.status, worker_id = NEW.worker_id, cancel_requested_at = NEW.cancel_requested_at
     WHERE id = NEW.id;
    IF NOT FOUND THEN
      INSERT INTO execution_active (id, job_id, status, worker_id, cancel_requested_at, created_at)
      VALUES (NEW.id, NEW.job_id, NEW.status, NEW.worker_id, NEW.cancel_requested_at, NEW.created_at);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

-- The WHEN conditions are evaluated without calling the function: the many updates of a
-- run that change none of these columns (output, progress, fencing token) cost nothing.
CREATE OR REPLACE TRIGGER execution_active_insert AFTER INSERT ON execution
  FOR EACH ROW WHEN (NEW.status IN ('queued', 'running')) EXECUTE FUNCTION execution_active_sync();
CREATE OR REPLACE TRIGGER execution_active_update AFTER UPDATE OF status, worker_id, cancel_requested_at, job_id ON execution
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.worker_id IS DISTINCT FROM NEW.worker_id
                     OR OLD.cancel_requested_at IS DISTINCT FROM NEW.cancel_requested_at OR OLD.job_id IS DISTINCT FROM NEW.job_id)
  EXECUTE FUNCTION execution_active_sync();
CREATE OR REPLACE TRIGGER execution_active_delete AFTER DELETE ON execution
  FOR EACH ROW WHEN (OLD.status IN ('queued', 'running')) EXECUTE FUNCTION execution_active_sync();

-- The runs under way when the migration runs (execution_active_idx still serves this).
INSERT INTO execution_active (id, job_id, status, worker_id, cancel_requested_at, created_at)
SELECT id, job_id, status, worker_id, cancel_requested_at, created_at FROM execution WHERE status IN ('queued', 'running')
ON CONFLICT (id) DO NOTHING;

DROP INDEX IF EXISTS execution_status_idx;
DROP INDEX IF EXISTS execution_active_idx;
DROP INDEX IF EXISTS execution_worker_idx;
DROP INDEX IF EXISTS execution_chains_pending_idx;
CREATE INDEX IF NOT EXISTS execution_chains_pending_idx ON execution (created_at) WHERE chains_pending;

-- Pages written from now on; those written before keep their fill until rewritten.
ALTER TABLE execution SET (fillfactor = 50);
`;
