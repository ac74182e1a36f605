/**
 * jobs-service as the bench runs it: the service's own boot (`createService` from
 * src/service/service.ts, configured from the environment exactly as `src/main.ts` does), serving
 * HTTP, plus commands over IPC for seeding through the service's scheduler in this process
 * and for SQL on its database (row counts; on PGlite, where no other process can reach the
 * data, the ANALYZE after seeding too).
 */
import fs from 'node:fs/promises';
import inspector from 'node:inspector';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/log.js';
import { createService, type Service } from '../../src/service/service.js';
import { fatal, ready, serveCommands } from './ipc.js';
import { pool } from '../lib/proc.js';
import { installSqlStats, takeSqlStats } from './sql-stats.js';

if (process.env.BENCH_SQL_STATS === '1') installSqlStats();

interface SeedArgs {
  prefix: string;
  n: number;
  handler: string;
  /** ISO time of the first run, or 'soon': 100 ms after each job is created. */
  when: string;
  /** Each job's kwargs; `due` (ms) is added when `when` is given. */
  kwargs?: Record<string, unknown>;
  retries?: number;
  concurrency?: number;
  offset?: number;
}

let svc: Service;
let profiler: inspector.Session | undefined;
const post = (session: inspector.Session, method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
try {
  const config = loadConfig(process.env);
  svc = await createService(config, { log: createLogger(config.logLevel) });
  const port = process.env.BENCH_NO_HTTP ? null : await svc.listen();
  const sqlOf = () => {
    const db = (svc.store as unknown as { db?: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> } }).db;
    if (!db) throw new Error('this store has no SQL client');
    return db;
  };
  serveCommands({
    async seed(a) {
      const s = a as unknown as SeedArgs;
      const started = performance.now();
      // What POST /jobs/bulk ends in, in batches of 1,000 (as the peers' bulk APIs are used).
      const batch = 1000;
      await pool(Math.ceil(s.n / batch), s.concurrency ?? 1, async (b) => {
        const reqs = Array.from({ length: Math.min(batch, s.n - b * batch) }, (_, k) => {
          const i = b * batch + k;
          const due = s.when === 'soon' ? Date.now() + 100 : Date.parse(s.when);
          return {
            handler: s.handler,
            job_id: `${s.prefix}${(s.offset ?? 0) + i}`,
            kwargs: { ...(s.kwargs ?? {}), due },
            when: new Date(due).toISOString(),
            ...(s.retries !== undefined ? { retries: s.retries } : {}),
          };
        });
        await svc.scheduler.postScheduleJobs(reqs, { source: 'api' });
      });
      return { ms: performance.now() - started };
    },
    async state(a) {
      await svc.scheduler.setServiceState(a.state as 'running' | 'paused');
      return null;
    },
    async stats() {
      return svc.store.stats();
    },
    async sql(a) {
      return (await sqlOf().query(a.text as string, (a.params as unknown[]) ?? [])).rows;
    },
    /** CPU profile of this process over one stretch (inspector), written as a .cpuprofile. */
    async profile(a) {
      if (a.action === 'start') {
        profiler = new inspector.Session();
        profiler.connect();
        await post(profiler, 'Profiler.enable');
        await post(profiler, 'Profiler.setSamplingInterval', { interval: 500 });
        await post(profiler, 'Profiler.start');
        return null;
      }
      const { profile } = (await post(profiler!, 'Profiler.stop')) as { profile: unknown };
      profiler!.disconnect();
      profiler = undefined;
      await fs.writeFile(a.file as string, JSON.stringify(profile));
      return a.file;
    },
    sqlStats(a) {
      return takeSqlStats(Boolean(a.reset));
    },
    async close() {
      await svc.close();
      return null;
    },
  });
  ready({ port, worker: svc.worker?.id ?? null });
} catch (err) {
  fatal(err);
}
