/**
 * The peer engines, each in child processes of its own (bench/children/*.ts) on the same
 * PostgreSQL (a schema each) or, where it can, the same embedded PGlite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { analyze, postgresUrl, type Namespace, type StoreKind } from '../lib/db.js';
import { projectRoot } from '../lib/paths.js';
import { startChild, type Child } from '../lib/proc.js';
import { pollMs } from './jobs-service.js';
import type { DeployOptions, Deployment, RecordCheck, Scenario, SeedSpec, System } from './types.js';

interface PeerSpec {
  name: string;
  child: string;
  supports(store: StoreKind, scenario: Scenario): true | string;
  settings(store: StoreKind, o: DeployOptions): Record<string, string | number | boolean>;
  env?: Record<string, string>;
  /** Jobs not yet finished, from the system's own table. */
  remaining?: (q: Query) => Promise<number>;
  /** Jobs completed since `since`, from the system's own table. */
  done?: (q: Query, since: Date) => Promise<number>;
  verify?: (q: Query, spec: SeedSpec) => Promise<RecordCheck>;
}

/** The installed version of a package (graphile-worker's exports map hides its package.json). */
function installed(pkg: string): string {
  return (JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

type Query = (text: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

function peer(spec: PeerSpec): System {
  return {
    name: spec.name,
    supports: spec.supports,
    settings: spec.settings,
    async deploy(ns: Namespace, options: DeployOptions): Promise<Deployment> {
      const children: Child[] = [];
      let n = 0;
      let seeded = 0;
      const add = async (processing: boolean) => {
        const c = startChild(spec.child, {
          label: `${spec.name}#${n++}`,
          nodeFlags: options.nodeFlags,
          env: {
            BENCH_STORE: ns.store,
            BENCH_PG_URL: postgresUrl,
            BENCH_SCHEMA: ns.schema,
            BENCH_DATA_DIR: ns.dataDir,
            BENCH_CONCURRENCY: String(options.concurrency),
            BENCH_POLL_MS: String(pollMs),
            BENCH_LOCK_MS: options.lockMs ? String(options.lockMs) : '',
            BENCH_PROCESSING: processing ? '1' : '0',
            ...spec.env,
          },
        });
        children.push(c);
        await c.ready;
        return c;
      };
      try {
        for (let i = 0; i < options.processes; i++) await add(options.processing);
      } catch (err) {
        await Promise.all(children.map((c) => c.stop()));
        throw err;
      }
      const first = () => children.find((c) => c.exitCode === undefined) ?? children[0];
      const query: Query = async (text, params = []) => {
        if (ns.pool) return (await ns.pool.query(text, params)).rows as Array<Record<string, unknown>>;
        return first().rpc('sql', { text, params });
      };
      return {
        children,
        async seed(s) {
          const r = await first().rpc<{ ms: number }>('seed', { ...s });
          seeded += s.n;
          await analyze(ns, (text) => query(text));
          return r.ms;
        },
        async start() {
          await Promise.all(children.filter((c) => c.exitCode === undefined).map((c) => c.rpc('start')));
        },
        async stop() {
          await Promise.all(children.filter((c) => c.exitCode === undefined).map((c) => c.rpc('stop')));
        },
        async addProcess(processing: boolean) {
          return add(processing);
        },
        async completed(since) {
          // Agenda and graphile-worker count the rows left, which shrink; pg-boss counts the rows
          // completed since the round began, as jobs-service counts its run records.
          if (spec.done) return spec.done(query, since);
          return seeded - (await spec.remaining!(query));
        },
        async verify(s) {
          return spec.verify ? spec.verify(query, s) : null;
        },
        async close() {
          await Promise.all(children.map((c) => c.stop()));
        },
      };
    },
  };
}

export const agendaRaw = peer({
  name: 'agenda',
  child: 'agenda',
  supports: (store, scenario) => (scenario === 'api' ? 'no HTTP API' : true),
  settings: (store, o) => ({
    version: installed('agenda'),
    processEvery: pollMs,
    maxConcurrency: o.concurrency,
    defaultConcurrency: o.concurrency,
    lockLimit: o.concurrency * 2,
    defaultLockLimit: o.concurrency * 2,
    defaultLockLifetime: o.lockMs ?? 600000,
    removeOnComplete: true,
    notifications: store === 'postgres' ? 'LISTEN/NOTIFY' : 'InMemoryNotificationChannel',
    seeding: 'create().schedule().save(), 16 at once (no bulk API)',
  }),
  // Rows are removed on completion: what is left is what has not run yet (or is running).
  remaining: async (q) => Number((await q(`SELECT count(*)::int AS n FROM agenda_jobs WHERE name IN ('noop', 'sleep')`))[0].n),
});

export const pgBoss = peer({
  name: 'pg-boss',
  child: 'pg-boss',
  supports: (store, scenario) => {
    if (scenario === 'api') return 'no HTTP API';
    if (scenario === 'startup') return 'schedules are per queue; not comparable with one default job per file';
    if (store === 'embedded') return 'not measured on PGlite (pg-boss 12 has a PGlite adapter; the bench runs it on PostgreSQL only)';
    return true;
  },
  settings: (store, o) => ({
    version: installed('pg-boss'),
    'local workers (localConcurrency)': Number(process.env.BENCH_PGBOSS_LOOPS ?? 2),
    batchSize: Number(process.env.BENCH_PGBOSS_BATCH ?? 100),
    burstWhenBatchFull: true,
    pollingIntervalSeconds: Math.max(0.5, pollMs / 1000),
    notifyPollingIntervalSeconds: Math.max(0.5, pollMs / 1000),
    expireInSeconds: o.lockMs ? Math.round(o.lockMs / 1000) : 900,
    superviseIntervalSeconds: o.lockMs ? 1 : 60,
    monitorIntervalSeconds: o.lockMs ? 1 : 60,
    retryLimit: 1,
    max: 10,
    notifications: 'LISTEN/NOTIFY (useListenNotify, queues with notify)',
    seeding: 'insert() in batches of 1,000',
  }),
  env: { BENCH_LOOPS: process.env.BENCH_PGBOSS_LOOPS ?? '2', BENCH_BATCH: process.env.BENCH_PGBOSS_BATCH ?? '100' },
  // job_i16 (name, completed_on): this round's completions only. Completed rows stay in the
  // table (deleteAfterSeconds, 7 days), so a count over the whole table would grow with the rounds.
  done: async (q, since) => Number((await q(`SELECT count(*)::int AS n FROM job WHERE name = 'noop' AND completed_on >= $1 AND state = 'completed'`, [since]))[0].n),
  verify: async (q, s) => {
    const r = (
      await q(
        `SELECT count(*)::int AS records, count(DISTINCT data->>'id')::int AS jobs, count(*) FILTER (WHERE state <> 'completed')::int AS other
           FROM job WHERE name = $1 AND data->>'id' LIKE $2`,
        [s.handler, `${s.prefix}%`],
      )
    )[0] as { records: number; jobs: number; other: number };
    return { records: r.records, duplicates: r.records - r.jobs, missing: s.n - r.jobs, other: r.other };
  },
});

export const graphileWorker = peer({
  name: 'graphile-worker',
  child: 'graphile-worker',
  supports: (store, scenario) => {
    if (scenario === 'api') return 'no HTTP API';
    if (scenario === 'startup') return 'not measured (crontab items, not stored jobs)';
    if (scenario === 'recovery') return "a dead worker's jobs stay locked for 4 hours";
    if (store === 'embedded') return 'needs a PostgreSQL server (LISTEN/NOTIFY, its own pg pool)';
    return true;
  },
  settings: (store, o) => ({
    version: installed('graphile-worker'),
    concurrency: o.concurrency,
    maxPoolSize: Math.max(10, Math.min(o.concurrency, 20) + 2),
    pollInterval: pollMs,
    'localQueue.size': Math.max(Number(process.env.BENCH_GRAPHILE_BATCH ?? 500), o.concurrency + 1),
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
    notifications: 'LISTEN/NOTIFY',
    seeding: 'addJobs() in batches of 1,000',
  }),
  env: { BENCH_BATCH: process.env.BENCH_GRAPHILE_BATCH ?? '500' },
  // Jobs are deleted on success.
  remaining: async (q) => Number((await q(`SELECT count(*)::int AS n FROM _private_jobs`))[0].n),
});

/**
 * Not a job service: the floor of the api scenario, a bare node:http server with one pg
 * statement per request on the same job table (bench/children/bare-http.ts).
 */
export const bareHttp = peer({
  name: 'bare-http',
  child: 'bare-http',
  supports: (store, scenario) => {
    if (scenario !== 'api') return 'the floor of the api scenario only';
    if (store === 'embedded') return 'runs on PostgreSQL only';
    return true;
  },
  settings: () => ({ server: 'node:http, no framework', statements: 'one named pg statement per request', 'pg pool': 10, seeding: 'one INSERT ... generate_series' }),
});

export const peers = [agendaRaw, pgBoss, graphileWorker, bareHttp];
