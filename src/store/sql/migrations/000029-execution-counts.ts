/**
 * 000029: `execution_count` holds, per job and ended status, how many runs are stored, how many
 * of them have a duration and the sum of those durations. A job's stats (GET /jobs/{id}) and
 * the counts by status (GET /stats) read it instead of counting `execution`: a job with 200,000
 * runs took 80 to 120 ms per read, and the overview counted every run of the deployment every
 * few seconds. Runs under way are counted from `execution_active`, which holds only them.
 *
 * The statement triggers of 000028 are replaced by one per kind of write that keeps both
 * tables, so every writer (an insert of ended runs, a run's end, a status changed after it, a
 * deletion) moves the counts in the statement that moves the runs, and an UPDATE of
 * `execution` (an output or progress write too) still joins its old and new rows once, in one
 * call. Runs without a job count under the job id ''. Rows are written in key order, so two statements never wait on each other's
 * counts in opposite orders. The counts are filled from the runs already stored, after the
 * triggers exist: creating them locks `execution` against writes until the migration commits
 * (5.8 s for 800,000 runs: writes of runs wait that long, once).
 *
 * Additive: an older release writes runs through the same triggers and reads `execution`.
 */
export const name = 'execution-counts';

const active = "('queued', 'running')";

/** Adds each (job_id, status, sign, duration_ms) row of the CTE `d` to execution_count, in key order. */
const addCounts = `
  INSERT INTO execution_count AS c (job_id, status, executions, timed, duration_ms)
  SELECT d.job_id, d.status, sum(d.sign), COALESCE(sum(d.sign) FILTER (WHERE d.duration_ms IS NOT NULL), 0), COALESCE(sum(d.sign * d.duration_ms), 0)
    FROM d GROUP BY d.job_id, d.status ORDER BY d.job_id, d.status
  ON CONFLICT (job_id, status) DO UPDATE
     SET executions = c.executions + EXCLUDED.executions,
         timed = c.timed + EXCLUDED.timed,
         duration_ms = c.duration_ms + EXCLUDED.duration_ms`;

export const sql = `
CREATE TABLE IF NOT EXISTS execution_count (
  job_id text NOT NULL,
  status text NOT NULL,
  executions bigint NOT NULL,
  timed bigint NOT NULL DEFAULT 0,
  duration_ms bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, status)
) WITH (fillfactor = 50);

CREATE OR REPLACE FUNCTION execution_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH under_way AS (
    INSERT INTO execution_active (id, job_id, status, worker_id, cancel_requested_at, created_at)
    SELECT n.id, n.job_id, n.status, n.worker_id, n.cancel_requested_at, n.created_at
      FROM execution_new n WHERE n.status IN ${active}
  ), d AS (
    SELECT COALESCE(n.job_id, '') AS job_id, n.status, 1 AS sign, n.duration_ms
      FROM execution_new n WHERE n.status NOT IN ${active}
  )${addCounts};
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION execution_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The rows whose change moves execution_active (moves_active) or the counts (moves_count).
  WITH changed AS MATERIALIZED (
    SELECT * FROM (
      SELECT n.id, n.job_id, n.status, n.worker_id, n.cancel_requested_at, n.created_at, n.duration_ms,
             o.job_id AS old_job_id, o.status AS old_status, o.duration_ms AS old_duration_ms,
             o.status IS DISTINCT FROM n.status OR o.worker_id IS DISTINCT FROM n.worker_id
               OR o.cancel_requested_at IS DISTINCT FROM n.cancel_requested_at OR o.job_id IS DISTINCT FROM n.job_id AS moves_active,
             (o.status NOT IN ${active} OR n.status NOT IN ${active})
               AND (o.status IS DISTINCT FROM n.status OR o.job_id IS DISTINCT FROM n.job_id OR o.duration_ms IS DISTINCT FROM n.duration_ms) AS moves_count
        FROM execution_new n JOIN execution_old o ON o.id = n.id
    ) x WHERE x.moves_active OR x.moves_count
  ), ended AS (
    DELETE FROM execution_active a
     WHERE a.id = ANY(ARRAY(SELECT c.id FROM changed c WHERE c.moves_active AND c.status NOT IN ${active}))
  ), going AS (
    INSERT INTO execution_active AS a (id, job_id, status, worker_id, cancel_requested_at, created_at)
    SELECT c.id, c.job_id, c.status, c.worker_id, c.cancel_requested_at, c.created_at
      FROM changed c WHERE c.moves_active AND c.status IN ${active}
    ON CONFLICT (id) DO UPDATE
       SET job_id = EXCLUDED.job_id, status = EXCLUDED.status, worker_id = EXCLUDED.worker_id,
           cancel_requested_at = EXCLUDED.cancel_requested_at
  ), d AS (
    SELECT COALESCE(c.old_job_id, '') AS job_id, c.old_status AS status, -1 AS sign, c.old_duration_ms AS duration_ms
      FROM changed c WHERE c.moves_count AND c.old_status NOT IN ${active}
    UNION ALL
    SELECT COALESCE(c.job_id, ''), c.status, 1, c.duration_ms FROM changed c WHERE c.moves_count AND c.status NOT IN ${active}
  )${addCounts};
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION execution_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH under_way AS (
    DELETE FROM execution_active a WHERE a.id = ANY(ARRAY(SELECT o.id FROM execution_old o WHERE o.status IN ${active}))
  ), d AS (
    SELECT COALESCE(o.job_id, '') AS job_id, o.status, -1 AS sign, o.duration_ms
      FROM execution_old o WHERE o.status NOT IN ${active}
  )${addCounts};
  -- Counts of runs all deleted (a one-shot job's, a job's whole history past retention) go.
  -- Reached by key (the job ids as an array: a plan cached after a large delete would
  -- otherwise scan the whole table at each later one), and only the counts written above,
  -- which this statement holds already: it takes no lock out of key order.
  DELETE FROM execution_count c WHERE c.executions = 0
     AND c.job_id = ANY(ARRAY(SELECT DISTINCT COALESCE(o.job_id, '') FROM execution_old o WHERE o.status NOT IN ${active}))
     AND (c.job_id, c.status) IN (SELECT COALESCE(o.job_id, ''), o.status FROM execution_old o WHERE o.status NOT IN ${active});
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS execution_active_inserted ON execution;
DROP TRIGGER IF EXISTS execution_active_updated ON execution;
DROP TRIGGER IF EXISTS execution_active_deleted ON execution;
CREATE OR REPLACE TRIGGER execution_inserted AFTER INSERT ON execution
  REFERENCING NEW TABLE AS execution_new
  FOR EACH STATEMENT EXECUTE FUNCTION execution_inserted();
CREATE OR REPLACE TRIGGER execution_updated AFTER UPDATE ON execution
  REFERENCING OLD TABLE AS execution_old NEW TABLE AS execution_new
  FOR EACH STATEMENT EXECUTE FUNCTION execution_updated();
CREATE OR REPLACE TRIGGER execution_deleted AFTER DELETE ON execution
  REFERENCING OLD TABLE AS execution_old
  FOR EACH STATEMENT EXECUTE FUNCTION execution_deleted();
DROP FUNCTION IF EXISTS execution_active_inserted();
DROP FUNCTION IF EXISTS execution_active_updated();
DROP FUNCTION IF EXISTS execution_active_deleted();

INSERT INTO execution_count (job_id, status, executions, timed, duration_ms)
SELECT COALESCE(job_id, ''), status, count(*), count(duration_ms), COALESCE(sum(duration_ms), 0)
  FROM execution WHERE status NOT IN ${active} GROUP BY 1, 2
ON CONFLICT (job_id, status) DO NOTHING;
`;
