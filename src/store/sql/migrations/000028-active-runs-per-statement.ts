/**
 * 000028: execution_active is kept by one trigger call per statement instead of one per row.
 * The row triggers of 000025 ran a PL/pgSQL call and a statement of their own for every run
 * a fire inserts and every run an end updates: about a third of the server time of both
 * statements in the dispatch bench (auto_explain: 2.2 ms of 7 for 20 runs, each way). These
 * statement triggers read the rows the statement wrote (its transition tables) and write
 * execution_active in one statement each, whatever the number of runs.
 *
 * The rows are the same as before: inserted with a queued or running run, updated when its
 * status, worker, cancel request or job changes while it is under way, deleted when it ends or
 * is deleted. An UPDATE trigger with transition tables cannot name columns, so every UPDATE of
 * execution calls it; the rows it looks at are those of the statement, joined by id, and one
 * that changes none of those columns is left alone. Rows are reached by key through
 * `= ANY(ARRAY(...))`, which the planner takes as an index probe whatever it knows of the
 * transition tables (they have no statistics).
 *
 * Additive: an older release reads and writes the same tables.
 */
export const name = 'active-runs-per-statement';

export const sql = `
DROP TRIGGER IF EXISTS execution_active_insert ON execution;
DROP TRIGGER IF EXISTS execution_active_update ON execution;
DROP TRIGGER IF EXISTS execution_active_delete ON execution;

CREATE OR REPLACE FUNCTION execution_active_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_active (id, job_id, status, worker_id, cancel_requested_at, created_at)
  SELECT n.id, n.job_id, n.status, n.worker_id, n.cancel_requested_at, n.created_at
    FROM execution_new n WHERE n.status IN ('queued', 'running');
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION execution_active_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS MATERIALIZED (
    SELECT n.id, n.job_id, n.status, n.worker_id, n.cancel_requested_at, n.created_at
      FROM execution_new n JOIN execution_old o ON o.id = n.id
     WHERE o.status IS DISTINCT FROM n.status OR o.worker_id IS DISTINCT FROM n.worker_id
        OR o.cancel_requested_at IS DISTINCT FROM n.cancel_requested_at OR o.job_id IS DISTINCT FROM n.job_id
  ), ended AS (
    DELETE FROM execution_active a
     WHERE a.id = ANY(ARRAY(SELECT c.id FROM changed c WHERE c.status NOT IN ('queued', 'running')))
  )
  INSERT INTO execution_active AS a (id, job_id, status, worker_id, cancel_requested_at, created_at)
  SELECT c.id, c.job_id, c.status, c.worker_id, c.cancel_requested_at, c.created_at
    FROM changed c WHERE c.status IN ('queued', 'running')
  ON CONFLICT (id) DO UPDATE
     SET job_id = EXCLUDED.job_id, status = EXCLUDED.status, worker_id = EXCLUDED.worker_id,
         cancel_requested_at = EXCLUDED.cancel_requested_at;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION execution_active_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM execution_active a WHERE a.id = ANY(ARRAY(SELECT o.id FROM execution_old o WHERE o.status IN ('queued', 'running')));
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER execution_active_inserted AFTER INSERT ON execution
  REFERENCING NEW TABLE AS execution_new
  FOR EACH STATEMENT EXECUTE FUNCTION execution_active_inserted();
CREATE OR REPLACE TRIGGER execution_active_updated AFTER UPDATE ON execution
  REFERENCING OLD TABLE AS execution_old NEW TABLE AS execution_new
  FOR EACH STATEMENT EXECUTE FUNCTION execution_active_updated();
CREATE OR REPLACE TRIGGER execution_active_deleted AFTER DELETE ON execution
  REFERENCING OLD TABLE AS execution_old
  FOR EACH STATEMENT EXECUTE FUNCTION execution_active_deleted();

DROP FUNCTION IF EXISTS execution_active_sync();
`;
