/**
 * What a run record costs: runs per second of raw Agenda 6 (its PostgreSQL backend, no run
 * record) against jobs-service (its own dispatch table on PostgreSQL and PGlite, plus an execution
 * record written at start and at end of every run), on the same database, the same handler (it does nothing), the
 * same concurrency and poll interval.
 *
 *   npm run bench:records -- [--store postgres|embedded] [--runs N] [--repeat N] [--json]
 *
 * PostgreSQL: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); each
 * system in a schema of its own, dropped afterwards.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Agenda } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/observability/log.js';
import { createService } from '../src/service/service.js';
import { PGliteClient, PgClient, type SqlClient } from '../src/db/sql-client.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    runs: { type: 'string', default: '2000' },
    repeat: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const store = args.store as 'postgres' | 'embedded';
const runs = Number(args.runs);
const repeat = Number(args.repeat);
const baseUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
const pollMs = 100;

interface Target {
  env: Record<string, string>;
  sql(): Promise<SqlClient>;
  drop(): Promise<void>;
}

async function target(): Promise<Target> {
  if (store === 'embedded') {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-bench-'));
    return {
      env: { JOBS_DATA_DIR: dir },
      sql: () => PGliteClient.open(dir, '16MB'),
      drop: () => fs.rm(dir, { recursive: true, force: true }),
    };
  }
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  return {
    env: { DATABASE_URL: url.toString() },
    sql: async () => new PgClient(new pg.Pool({ connectionString: baseUrl, max: 10, options: `-c search_path="${schema}"` })),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA "${schema}" CASCADE`);
      await c.end();
    },
  };
}

/** Raw Agenda: N rows due now, then the processor is started and timed until all ran. */
async function rawAgenda(): Promise<number> {
  const t = await target();
  const sql = await t.sql();
  try {
    const agenda = new Agenda({
      backend: new PostgresBackend({ pool: sql.agendaPool, disableNotifications: store === 'embedded' }),
      processEvery: pollMs,
      maxConcurrency: concurrency,
      defaultConcurrency: concurrency,
      lockLimit: concurrency * 2,
      defaultLockLimit: concurrency * 2,
      removeOnComplete: true,
    });
    await agenda.ready;
    let done = 0;
    let finished: () => void = () => undefined;
    const all = new Promise<void>((r) => (finished = r));
    agenda.define('noop', async () => {
      done += 1;
      if (done === runs) finished();
    });
    for (let i = 0; i < runs; i++) await agenda.create('noop', { i }).schedule(new Date()).save();
    const t0 = performance.now();
    await agenda.start();
    await all;
    const seconds = (performance.now() - t0) / 1000;
    await agenda.stop(false);
    return runs / seconds;
  } finally {
    await sql.close();
    await t.drop();
  }
}

/** jobs-service: N one-shot jobs created while paused, then resumed and timed until every run is recorded. */
async function jobsService(): Promise<number> {
  const t = await target();
  const defaults = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-bench-defaults-'));
  const config = loadConfig({
    ...t.env,
    PORT: '0',
    LOG_LEVEL: 'silent',
    JOBS_DEFAULT_JOBS_DIR: defaults,
    JOB_SERVICE_PAUSED: 'true',
    JOBS_POLL_INTERVAL_MS: String(pollMs),
    JOBS_CONCURRENCY: String(concurrency),
  });
  const svc = await createService(config, { log: createLogger('silent') });
  try {
    for (let i = 0; i < runs; i++) {
      await svc.scheduler.postScheduleJob({ handler: 'echo', kwargs: {}, job_id: `b-${i}` }, { source: 'api' });
    }
    const t0 = performance.now();
    await svc.scheduler.setServiceState('running');
    for (;;) {
      const stats = await svc.store.stats();
      if ((stats.executions.succeeded ?? 0) >= runs) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return runs / ((performance.now() - t0) / 1000);
  } finally {
    await svc.close();
    await fs.rm(defaults, { recursive: true, force: true });
    await t.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(system: string, fn: () => Promise<number>) {
  await fn(); // warm-up
  const values: number[] = [];
  for (let i = 0; i < repeat; i++) values.push(await fn());
  const row = {
    scenario: 'run-records',
    system,
    store,
    metric: 'runs_per_second',
    value: Math.round(median(values)),
    unit: 'runs/s',
    n: runs,
    runs: repeat,
    min: Math.round(Math.min(...values)),
    max: Math.round(Math.max(...values)),
  };
  if (args.json) console.log(JSON.stringify(row));
  return row;
}

const raw = await measure('agenda-raw', rawAgenda);
const ours = await measure('jobs-service', jobsService);
if (!args.json) {
  console.log(`run records on ${store}: ${runs} one-shot runs due at once, trivial handler, concurrency ${concurrency}, poll ${pollMs} ms; median of ${repeat} after a warm-up`);
  console.log('system        runs/s  (min..max)');
  for (const r of [raw, ours]) console.log(`${r.system.padEnd(13)} ${String(r.value).padStart(6)}  (${r.min}..${r.max})`);
  console.log(
    `jobs-service / raw Agenda: ${(ours.value / raw.value).toFixed(2)}; the run record costs about ${(1000 / ours.value - 1000 / raw.value).toFixed(2)} ms per run of one worker's time`,
  );
}
