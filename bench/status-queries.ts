/**
 * The queries that look for runs by status, before and after migration 25 (which dropped
 * every execution index naming status so that a run's start and end are HOT updates), on
 * the same data: N runs of 1,000 jobs, nearly all succeeded, 1% failed, 10 lost, 200
 * queued and 20 running on 4 workers, 5 of those asked to cancel. Each schema is migrated
 * by the service's own migrations (up to 24, or up to 25: 26 replaced Agenda's table, which
 * the queued-run sweep read), filled, analyzed; each query is timed
 * with EXPLAIN ANALYZE (median of 5) and its plan's first line printed.
 *
 *   npx tsx bench/status-queries.ts [--runs N]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PgClient } from '../src/db/sql-client.js';
import { runMigrations } from '../src/store/sql/migrate.js';
import { migrations } from '../src/store/sql/migrations/index.js';
import { adminQuery, postgresUrl } from './lib/db.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '100000' } } });
const runs = Number(args.runs);

const active = "'queued', 'running'";
/** name -> [statement before migration 25, after it]; parameters are inlined. */
const queries: Record<string, [string, string]> = {
  'active runs of a job (concurrency policies)': [
    `SELECT * FROM execution WHERE job_id = 'job-7' AND status IN (${active}) ORDER BY created_at`,
    `SELECT e.* FROM execution_active a JOIN execution e ON e.id = a.id WHERE a.job_id = 'job-7' AND e.status IN (${active}) ORDER BY e.created_at`,
  ],
  'queued count (queue limits)': ["SELECT count(*) FROM execution WHERE status = 'queued'", "SELECT count(*) FROM execution_active WHERE status = 'queued'"],
  'cancel requests of a worker (polled)': [
    "SELECT id FROM execution WHERE worker_id = 'w-1' AND status = 'running' AND cancel_requested_at IS NOT NULL",
    "SELECT id FROM execution_active WHERE cancel_requested_at IS NOT NULL AND worker_id = 'w-1' AND status = 'running'",
  ],
  'running on gone workers (lost-run settlement)': [
    "SELECT e.* FROM execution e JOIN worker w ON w.id = e.worker_id WHERE e.status = 'running' AND w.state = 'gone'",
    "SELECT e.* FROM execution_active a JOIN worker w ON w.id = a.worker_id JOIN execution e ON e.id = a.id WHERE a.status = 'running' AND e.status = 'running' AND w.state = 'gone'",
  ],
  'queued-run sweep, unchanged statement (engine undispatched)': [
    `SELECT e.id FROM (SELECT id, created_at FROM execution WHERE status = 'queued' AND created_at < now() ORDER BY created_at LIMIT 10000) e
      WHERE NOT EXISTS (SELECT 1 FROM agenda_jobs a WHERE a.data ? 'execution_id' AND a.data->>'execution_id' = e.id) ORDER BY e.created_at LIMIT 500`,
    `SELECT e.id FROM (SELECT id, created_at FROM execution WHERE status = 'queued' AND created_at < now() ORDER BY created_at LIMIT 10000) e
      WHERE NOT EXISTS (SELECT 1 FROM agenda_jobs a WHERE a.data ? 'execution_id' AND a.data->>'execution_id' = e.id) ORDER BY e.created_at LIMIT 500`,
  ],
  'queued-run sweep on execution_active (proposed)': [
    `SELECT e.id FROM (SELECT id, created_at FROM execution WHERE status = 'queued' AND created_at < now() ORDER BY created_at LIMIT 10000) e
      WHERE NOT EXISTS (SELECT 1 FROM agenda_jobs a WHERE a.data ? 'execution_id' AND a.data->>'execution_id' = e.id) ORDER BY e.created_at LIMIT 500`,
    `SELECT e.id FROM (SELECT id, created_at FROM execution_active WHERE status = 'queued' AND created_at < now() ORDER BY created_at LIMIT 10000) e
      WHERE NOT EXISTS (SELECT 1 FROM agenda_jobs a WHERE a.data ? 'execution_id' AND a.data->>'execution_id' = e.id) ORDER BY e.created_at LIMIT 500`,
  ],
  'chains pending (chain sweep)': [
    `SELECT * FROM execution WHERE chains_pending AND finished_at < now() AND status NOT IN (${active}) ORDER BY finished_at LIMIT 100`,
    `SELECT * FROM execution WHERE chains_pending AND finished_at < now() AND status NOT IN (${active}) ORDER BY finished_at LIMIT 100`,
  ],
  'list: status=queued, 50 newest': [
    "SELECT id FROM execution WHERE status = 'queued' ORDER BY created_at DESC, id DESC LIMIT 51",
    "SELECT id FROM execution WHERE status = 'queued' AND id IN (SELECT id FROM execution_active WHERE status = 'queued') ORDER BY created_at DESC, id DESC LIMIT 51",
  ],
  'list: status=succeeded, 50 newest': [
    "SELECT id FROM execution WHERE status = 'succeeded' ORDER BY created_at DESC, id DESC LIMIT 51",
    "SELECT id FROM execution WHERE status = 'succeeded' ORDER BY created_at DESC, id DESC LIMIT 51",
  ],
  'list: status=failed (1%), 50 newest': [
    "SELECT id FROM execution WHERE status = 'failed' ORDER BY created_at DESC, id DESC LIMIT 51",
    "SELECT id FROM execution WHERE status = 'failed' ORDER BY created_at DESC, id DESC LIMIT 51",
  ],
  'list: status=lost (10 runs), 50 newest': [
    "SELECT id FROM execution WHERE status = 'lost' ORDER BY created_at DESC, id DESC LIMIT 51",
    "SELECT id FROM execution WHERE status = 'lost' ORDER BY created_at DESC, id DESC LIMIT 51",
  ],
  'list: job and status=failed, 50 newest': [
    "SELECT id FROM execution WHERE job_id = 'job-7' AND status = 'failed' ORDER BY created_at DESC, id DESC LIMIT 51",
    "SELECT id FROM execution WHERE job_id = 'job-7' AND status = 'failed' ORDER BY created_at DESC, id DESC LIMIT 51",
  ],
};

const fill = (n: number) => `
CREATE TABLE IF NOT EXISTS agenda_jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text, data jsonb, next_run_at timestamptz);
CREATE INDEX IF NOT EXISTS agenda_jobs_run_idx ON agenda_jobs ((data->>'execution_id')) WHERE data ? 'execution_id';
INSERT INTO worker (id, name, host, pid, version, started_at, heartbeat_at, handlers, memory, state)
SELECT 'w-' || i, 'w', 'h', i, 'v', now(), now(), '{}', '{}', CASE WHEN i = 0 THEN 'gone' ELSE 'active' END FROM generate_series(0, 3) i;
INSERT INTO execution (id, job_id, handler, status, trigger, worker_id, scheduled_at, started_at, finished_at, created_at, chains_pending, cancel_requested_at)
SELECT 'run-' || i, 'job-' || (i % 1000), 'noop',
       CASE WHEN i > ${n} - 200 THEN 'queued' WHEN i > ${n} - 220 THEN 'running' WHEN i % 10000 = 5 THEN 'lost' WHEN i % 100 = 7 THEN 'failed' ELSE 'succeeded' END,
       'schedule',
       CASE WHEN i > ${n} - 200 THEN NULL ELSE 'w-' || (i % 4) END,
       now() - make_interval(secs => ${n} - i), now() - make_interval(secs => ${n} - i), 
       CASE WHEN i > ${n} - 220 THEN NULL ELSE now() - make_interval(secs => ${n} - i) END,
       now() - make_interval(secs => ${n} - i),
       i % 5000 = 3,
       CASE WHEN i > ${n} - 220 AND i <= ${n} - 215 THEN now() END
  FROM generate_series(1, ${n}) i;
INSERT INTO agenda_jobs (name, data) SELECT 'noop', jsonb_build_object('execution_id', 'run-' || i) FROM generate_series(${n} - 199, ${n}) i;
ANALYZE;
`;

async function measure(schema: string, upTo: 24 | 25) {
  await adminQuery(`CREATE SCHEMA "${schema}"`);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 2, options: `-c search_path="${schema}"` });
  try {
    const db = new PgClient(pool);
    await runMigrations(
      db,
      migrations.filter((m) => m.version <= upTo),
    );
    await db.exec(fill(runs));
    const out = new Map<string, { ms: number; plan: string }>();
    for (const [name, [before, after]] of Object.entries(queries)) {
      const text = upTo === 25 ? after : before;
      const times: number[] = [];
      let plan = '';
      for (let i = 0; i < 5; i++) {
        const r = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`);
        const lines = r.rows.map((x) => x['QUERY PLAN']);
        times.push(Number(/Execution Time: ([\d.]+)/.exec(lines[lines.length - 1])?.[1]));
        plan = lines.find((l) => /Scan/.test(l))?.trim() ?? lines[0];
      }
      times.sort((a, b) => a - b);
      out.set(name, { ms: times[2], plan: plan.replace(/\s*\(cost.*$/, '') });
    }
    return out;
  } finally {
    await pool.end();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}

async function main() {
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const before = await measure(`jbench_${process.pid}_status_before_${tag}`, 24);
  const after = await measure(`jbench_${process.pid}_status_after_${tag}`, 25);
  console.log(`${runs} runs; ms (EXPLAIN ANALYZE, median of 5), before migration 25 -> after; first scan of each plan`);
  for (const name of Object.keys(queries)) {
    const b = before.get(name)!;
    const a = after.get(name)!;
    console.log(`${name}: ${b.ms.toFixed(2)} -> ${a.ms.toFixed(2)}\n    before: ${b.plan}\n    after:  ${a.plan}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
