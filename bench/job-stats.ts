/**
 * A job's stats (GET /jobs/{id}) and the counts of runs by status (GET /stats), counted from
 * `execution` as before migration 29 and read from `execution_count` and `execution_active`
 * as since, on the same data: one job with N runs (90% succeeded, 9% failed, 1% timed out,
 * 20 running), and N more runs over 1,000 other jobs, written through the service's
 * migrations and triggers, then analyzed. Each statement is timed with EXPLAIN ANALYZE
 * (median of 5), and the two forms must give the same numbers.
 *
 *   npx tsx bench/job-stats.ts [--runs N]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PgClient } from '../src/db/sql-client.js';
import { runMigrations } from '../src/store/sql/migrate.js';
import { selectJobsWithStats } from '../src/store/sql/executions.js';
import { countExecutionsByStatus } from '../src/store/sql/service-state.js';
import { adminQuery, postgresUrl } from './lib/db.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '200000' } } });
const runs = Number(args.runs);

/** name -> [counted from execution (before 29), read from the counts (since)], each with its parameters. */
const queries: Record<string, [string, string, unknown[]]> = {
  "a job's stats (GET /jobs/{id})": [
    `SELECT j.job_id, a.total, a.succeeded, a.failed, round(a.avg_ms) AS avg_ms, to_jsonb(l) ->> 'id' AS latest
       FROM job j
      CROSS JOIN LATERAL (
        SELECT count(*) AS total, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'lost')) AS failed,
               avg(duration_ms) FILTER (WHERE status = 'succeeded') AS avg_ms
          FROM execution WHERE job_id = ($1::text[])[1]) a
       LEFT JOIN LATERAL (SELECT * FROM execution WHERE job_id = ($1::text[])[1] ORDER BY created_at DESC, id DESC LIMIT 1) l ON true
      WHERE j.job_id = ($1::text[])[1]`,
    `SELECT s.job_id, s.total, s.succeeded, s.failed, round(s.succeeded_ms / NULLIF(s.timed, 0)) AS avg_ms, s.latest ->> 'id' AS latest
       FROM (${selectJobsWithStats}) s`,
    [['busy']],
  ],
  'runs by status (GET /stats)': [
    'SELECT status, count(*) AS n FROM execution GROUP BY status ORDER BY status',
    `SELECT status, sum(n) AS n FROM (${countExecutionsByStatus}) s GROUP BY status ORDER BY status`,
    [],
  ],
};

const fill = (n: number) => `
INSERT INTO job (job_id, handler, kwargs, state, source, created_at, updated_at)
SELECT 'job-' || i, 'noop', '{}'::jsonb, 'running', 'api', now(), now() FROM generate_series(0, 999) i
UNION ALL SELECT 'busy', 'noop', '{}', 'running', 'api', now(), now();
INSERT INTO execution (id, job_id, handler, status, trigger, worker_id, scheduled_at, started_at, finished_at, duration_ms, created_at)
SELECT 'busy-' || i, 'busy', 'noop',
       CASE WHEN i > ${n} - 20 THEN 'running' WHEN i % 100 = 7 THEN 'timed_out' WHEN i % 10 = 3 THEN 'failed' ELSE 'succeeded' END,
       'schedule', 'w-1', now() - make_interval(secs => ${n} - i), now() - make_interval(secs => ${n} - i),
       CASE WHEN i > ${n} - 20 THEN NULL ELSE now() - make_interval(secs => ${n} - i) END,
       CASE WHEN i > ${n} - 20 THEN NULL ELSE i % 1000 END,
       now() - make_interval(secs => ${n} - i)
  FROM generate_series(1, ${n}) i;
INSERT INTO execution (id, job_id, handler, status, trigger, scheduled_at, finished_at, duration_ms, created_at)
SELECT 'run-' || i, 'job-' || (i % 1000), 'noop', CASE WHEN i % 50 = 1 THEN 'failed' ELSE 'succeeded' END, 'schedule',
       now() - make_interval(secs => ${n} - i), now() - make_interval(secs => ${n} - i), 5, now() - make_interval(secs => ${n} - i)
  FROM generate_series(1, ${n}) i;
ANALYZE;
`;

async function main() {
  const schema = `jbench_${process.pid}_job_stats_${Date.now().toString(36)}`;
  await adminQuery(`CREATE SCHEMA "${schema}"`);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 2, options: `-c search_path="${schema}"` });
  try {
    await runMigrations(new PgClient(pool));
    await pool.query(fill(runs));
    console.log(`one job with ${runs} runs, ${runs} more over 1,000 jobs; ms (EXPLAIN ANALYZE, median of 5): counted from execution -> read from execution_count`);
    for (const [name, [before, after, params]] of Object.entries(queries)) {
      const results = [];
      for (const text of [before, after]) {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE) ${text}`, params);
          const last = r.rows[r.rows.length - 1]['QUERY PLAN'];
          times.push(Number(/Execution Time: ([\d.]+)/.exec(last)?.[1]));
        }
        times.sort((a, b) => a - b);
        results.push({ ms: times[2], rows: JSON.stringify((await pool.query(text, params)).rows) });
      }
      const [b, a] = results;
      if (a.rows !== b.rows) throw new Error(`${name}: the two forms differ\n  counted: ${b.rows}\n  read:    ${a.rows}`);
      console.log(`${name}: ${b.ms.toFixed(2)} -> ${a.ms.toFixed(2)} (${(b.ms / a.ms).toFixed(0)}x); both ${a.rows}`);
    }
  } finally {
    await pool.end();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
