/**
 * jobs-service: each process is the service's own boot (createService, as src/main.ts does)
 * in a child, configured through the environment; jobs are seeded through the service's
 * scheduler (Scheduler.postScheduleJob: validation, job row, schedule row) in the first
 * process, several at once.
 */
import type { Namespace, StoreKind } from '../lib/db.js';
import { analyze, tempDir } from '../lib/db.js';
import { benchHandlersDir } from '../lib/handlers-dir.js';
import { startChild, type Child } from '../lib/proc.js';
import type { DeployOptions, RecordCheck, SeedSpec, System } from './types.js';

export const pollMs = 200;

/** JOBS_CLAIM_AHEAD of the bench: the concurrency, unless the bench's own environment sets it (to compare). */
const claimAhead = (concurrency: number) => process.env.JOBS_CLAIM_AHEAD ?? String(concurrency);

export function serviceEnv(ns: Namespace, options: Pick<DeployOptions, 'processing' | 'concurrency' | 'lockMs'>): Record<string, string> {
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    JOBS_CONCURRENCY: String(options.concurrency),
    // A local queue of one concurrency's worth, as the peers' are tuned (graphile-worker's localQueue).
    JOBS_CLAIM_AHEAD: claimAhead(options.concurrency),
    // Fires of rows claimed early written ahead of their time (the lag scenario's burst);
    // JOBS_FIRE_LEAD_MS in the bench's own environment overrides it, to compare.
    JOBS_FIRE_LEAD_MS: process.env.JOBS_FIRE_LEAD_MS ?? '150',
    JOBS_POLL_INTERVAL_MS: String(pollMs),
    JOB_SERVICE_PAUSED: options.processing ? 'false' : 'true',
    // The bench never measures a shutdown: runs still going when a deployment closes (the
    // recovery scenario's long runs) are cancelled after a second instead of 30.
    JOBS_SHUTDOWN_GRACE_SECONDS: '1',
  };
  if (options.lockMs) {
    // Three missed heartbeats mark a worker gone and its runs lost.
    env.JOBS_HEARTBEAT_MS = String(Math.round(options.lockMs / 3));
  }
  if (ns.store === 'postgres') env.DATABASE_URL = ns.serviceUrl!;
  else env.JOBS_DATA_DIR = ns.dataDir!;
  return env;
}

export async function serviceChild(ns: Namespace, options: DeployOptions, label: string, extraEnv: Record<string, string> = {}): Promise<Child> {
  const child = startChild('jobs-service', {
    label,
    nodeFlags: options.nodeFlags,
    env: {
      ...serviceEnv(ns, options),
      JOBS_DEFAULT_JOBS_DIR: await tempDir('defaults'),
      JOBS_HANDLERS_DIR: await benchHandlersDir(),
      ...(options.profile ? { BENCH_SQL_STATS: '1' } : {}),
      ...extraEnv,
    },
  });
  await child.ready;
  return child;
}

export const jobsService: System = {
  name: 'jobs-service',
  supports: () => true,
  settings(store: StoreKind, o: DeployOptions) {
    return {
      JOBS_CONCURRENCY: o.concurrency,
      // The embedded store ignores it (one connection).
      JOBS_CLAIM_AHEAD: store === 'embedded' ? 0 : Number(claimAhead(o.concurrency)),
      JOBS_POLL_INTERVAL_MS: pollMs,
      dispatch: store === 'postgres' ? 'LISTEN/NOTIFY' : 'in-process channel',
      JOBS_HEARTBEAT_MS: o.lockMs ? Math.round(o.lockMs / 3) : 5000,
      JOBS_LOCK_LIFETIME_MS: 30000,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    };
  },
  async deploy(ns, options) {
    const children: Child[] = [];
    let n = 0;
    const add = async (o: DeployOptions) => {
      const c = await serviceChild(ns, o, `jobs-service#${n++}`);
      children.push(c);
      return c;
    };
    try {
      for (let i = 0; i < options.processes; i++) await add(options);
    } catch (err) {
      await Promise.all(children.map((c) => c.stop()));
      throw err;
    }
    const first = () => children.find((c) => c.exitCode === undefined) ?? children[0];
    const sql = async (text: string, params: unknown[] = []) => {
      if (ns.pool) return (await ns.pool.query(text, params)).rows as Array<Record<string, unknown>>;
      return first().rpc<Array<Record<string, unknown>>>('sql', { text, params });
    };
    let seeded = 0;
    return {
      children,
      async seed(spec: SeedSpec) {
        seeded += spec.n;
        const r = await first().rpc<{ ms: number }>('seed', {
          prefix: spec.prefix,
          n: spec.n,
          handler: spec.handler,
          when: spec.dueAt === 'soon' ? 'soon' : new Date(spec.dueAt).toISOString(),
          retries: spec.retry ? 1 : undefined,
          // Batches of 1,000 at once (one statement each for the jobs and one for their schedule rows).
          concurrency: ns.store === 'postgres' ? 2 : 1,
        });
        await analyze(ns, (text) => sql(text));
        return r.ms;
      },
      async start() {
        await Promise.all(children.filter((c) => c.exitCode === undefined).map((c) => c.rpc('state', { state: 'running' })));
      },
      async stop() {
        await Promise.all(children.filter((c) => c.exitCode === undefined).map((c) => c.rpc('state', { state: 'paused' })));
      },
      async addProcess(processing: boolean) {
        return add({ ...options, processing });
      },
      async completed() {
        // The dispatch rows left, as Agenda and graphile-worker count theirs: a one-shot job's
        // row is deleted in the statement that writes its run's end (or after it), never before.
        // Counting this round's run records instead read every record of the round, index entry
        // and row, at each poll: about 15% of the time of the statements the server ran in the
        // dispatch rounds (auto_explain, sampled).
        const rows = await sql(`SELECT count(*)::int AS n FROM dispatch WHERE handler IN ('noop', 'sleep')`);
        return seeded - Number(rows[0].n);
      },
      async verify(spec: SeedSpec): Promise<RecordCheck> {
        const rows = await sql(
          `SELECT count(*)::int AS records, count(DISTINCT job_id)::int AS jobs, count(*) FILTER (WHERE status <> 'succeeded')::int AS other
             FROM execution WHERE job_id LIKE $1`,
          [`${spec.prefix}%`],
        );
        const r = rows[0] as { records: number; jobs: number; other: number };
        return { records: r.records, duplicates: r.records - r.jobs, missing: spec.n - r.jobs, other: r.other };
      },
      async close() {
        await Promise.all(children.map((c) => c.stop()));
      },
    };
  },
};
