/**
 * pg-boss 10 (the last major that runs on Node 20): one queue per bench handler, jobs
 * inserted in bulk with insert(), fetched in batches by several work() loops per process.
 */
import PgBoss from 'pg-boss';
import { fatal, ready, recordRun, serveCommands } from './ipc.js';

const env = process.env;
const schema = env.BENCH_SCHEMA!;
const batchSize = Number(env.BENCH_BATCH ?? 100);
const loops = Number(env.BENCH_LOOPS ?? 2);
const pollSeconds = Math.max(0.5, Number(env.BENCH_POLL_MS ?? 500) / 1000);
const lockSeconds = Math.round(Number(env.BENCH_LOCK_MS || 0) / 1000) || undefined;

try {
  const started = performance.now();
  const boss = new PgBoss({
    connectionString: env.BENCH_PG_URL,
    schema,
    max: 10,
    schedule: false,
    supervise: true,
    // Expired runs are found by the maintenance pass; run it every second for recovery.
    maintenanceIntervalSeconds: lockSeconds ? 1 : 120,
  });
  boss.on('error', () => undefined);
  await boss.start();
  for (const name of ['noop', 'sleep']) {
    await boss.createQueue(name, { name, retryLimit: 1, retryDelay: 0, ...(lockSeconds ? { expireInSeconds: lockSeconds } : {}) });
  }
  const workIds: string[] = [];
  const start = async () => {
    if (workIds.length) return;
    for (let i = 0; i < loops; i++) {
      workIds.push(
        await boss.work<{ id: string; due?: number }>('noop', { batchSize, pollingIntervalSeconds: pollSeconds }, async (jobs) => {
          const t = Date.now();
          for (const j of jobs) recordRun({ id: j.data.id, t, due: j.data.due });
        }),
      );
    }
    // Long runs (recovery, at most 20 of them): one loop per run at once, up to the concurrency;
    // each loop polls on its own, so not a thousand of them when lag asks for room for 1,000.
    for (let i = 0; i < Math.min(50, Number(env.BENCH_CONCURRENCY ?? 20)); i++) {
      workIds.push(
        await boss.work<{ id: string }>('sleep', { batchSize: 1, pollingIntervalSeconds: pollSeconds }, async ([job]) => {
          recordRun({ id: job.data.id, t: Date.now(), kind: 'sleep' }, true);
          await new Promise((r) => setTimeout(r, 600_000));
        }),
      );
    }
  };
  if (env.BENCH_PROCESSING === '1') await start();
  serveCommands({
    async seed(a) {
      const t0 = performance.now();
      const n = a.n as number;
      for (let from = 0; from < n; from += 1000) {
        const jobs = [];
        for (let i = from; i < Math.min(n, from + 1000); i++) {
          const due = a.dueAt === 'soon' ? Date.now() : (a.dueAt as number);
          jobs.push({ name: a.handler as string, data: { id: `${a.prefix as string}${i}`, due }, startAfter: new Date(due) });
        }
        await boss.insert(jobs);
      }
      return { ms: performance.now() - t0 };
    },
    start,
    async stop() {
      for (const id of workIds.splice(0)) await boss.offWork({ id });
    },
    async close() {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
    },
  });
  ready({ bootMs: performance.now() - started });
} catch (err) {
  fatal(err);
}
