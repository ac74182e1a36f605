/**
 * The floor of the api scenario: a bare node:http server on the service's own job table (its
 * migrations, so the same columns, DDL and indexes), one pg statement per request and nothing
 * else: no routing library, validation, auth, logs, metrics or audit, no run statistics. A job
 * is answered with every field of the contract's `Job`, written by hand. Its figures are what
 * any Node service can reach on this machine with the same load generator and database.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { migrations } from '../../src/store/sql/migrations/index.js';
import { fatal, ready, serveCommands } from './ipc.js';

const env = process.env;
const iso = (d: Date | null) => (d ? d.toISOString() : null);
/** Every field of the contract's `Job`, from the row as pg parsed it: the answer the service gives, without its run statistics. */
const body = (j: Record<string, unknown>) => ({
  job_id: j.job_id,
  handler: j.handler,
  kwargs: j.kwargs,
  state: j.state,
  periodically: j.periodically,
  cron: j.cron,
  timezone: j.timezone,
  when: iso(j.when_at as Date | null),
  misfire_grace_time: j.misfire_grace_time,
  timeout: j.timeout,
  concurrency_policy: j.concurrency_policy,
  retries: j.retries,
  retry_backoff: j.retry_backoff,
  catch_up: j.catch_up,
  start_at: iso(j.start_at as Date | null),
  end_at: iso(j.end_at as Date | null),
  max_runs: j.max_runs,
  jitter: j.jitter,
  schedule_ended: j.end_at !== null && (j.end_at as Date).getTime() < Date.now(),
  next_run_time: iso(j.next_run_at as Date | null),
  last_run_time: iso(j.last_run_at as Date | null),
  last_status: j.last_status,
  source: j.source,
  on_success: j.on_success,
  on_failure: j.on_failure,
  on_finish: j.on_finish,
  after_all: j.after_all,
  image_status: j.image_status,
  image_error: j.image_error,
  created_at: iso(j.created_at as Date),
  updated_at: iso(j.updated_at as Date),
  version: j.version,
  notify: j.notify,
  pause_after_failures: j.pause_after_failures,
  deadline: j.deadline,
});

try {
  const pool = new pg.Pool({ connectionString: env.BENCH_PG_URL, max: 10, options: `-c search_path="${env.BENCH_SCHEMA}"` });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${env.BENCH_SCHEMA}"`);
  // The service's own schema: every migration, so the rows read are the rows the service reads.
  for (const m of migrations) await pool.query(m.sql);

  const send = (res: http.ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname.startsWith('/api/v1/jobs/')) {
        const r = await pool.query({ name: 'get', text: 'SELECT * FROM job WHERE job_id = $1', values: [decodeURIComponent(url.pathname.slice(13))] });
        return r.rows[0] ? send(res, 200, body(r.rows[0])) : send(res, 404, { status: 404 });
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/jobs') {
        const limit = Number(url.searchParams.get('limit') ?? 100);
        const after = url.searchParams.get('cursor') ?? '';
        const r = await pool.query({ name: 'list', text: 'SELECT * FROM job WHERE job_id > $1 ORDER BY job_id LIMIT $2', values: [after, limit + 1] });
        const jobs = r.rows.slice(0, limit).map(body);
        return send(res, 200, { jobs, jobs_count: jobs.length, next_cursor: r.rows.length > limit ? jobs[jobs.length - 1].job_id : null });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/jobs') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const b = JSON.parse(Buffer.concat(chunks).toString()) as { handler: string; kwargs?: object; when?: string };
        const now = new Date();
        const r = await pool.query({
          name: 'create',
          text: `INSERT INTO job (job_id, handler, kwargs, state, when_at, next_run_at, created_at, updated_at)
                 VALUES ($1, $2, $3, 'running', $4, $4, $5, $5) RETURNING *`,
          values: [randomUUID(), b.handler, JSON.stringify(b.kwargs ?? {}), b.when ? new Date(b.when) : now, now],
        });
        return send(res, 201, { job: body(r.rows[0]) });
      }
      send(res, 404, { status: 404 });
    })().catch((err) => send(res, 500, { detail: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  serveCommands({
    async seed(a) {
      const t0 = performance.now();
      await pool.query(
        `INSERT INTO job (job_id, handler, kwargs, state, when_at, next_run_at, created_at, updated_at)
         SELECT $1 || i, $2, '{}', 'running', $3, $3, now(), now() FROM generate_series(0, $4 - 1) AS i`,
        [a.prefix, a.handler, new Date(a.dueAt as number), a.n],
      );
      return { ms: performance.now() - t0 };
    },
    start: () => null,
    stop: () => null,
    async close() {
      server.close();
      await pool.end();
      return null;
    },
  });
  ready({ port: (server.address() as AddressInfo).port });
} catch (err) {
  fatal(err);
}
