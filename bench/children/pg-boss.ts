/**
 * pg-boss 12: one queue per bench handler (notify on, LISTEN/NOTIFY), jobs inserted in bulk
 * with insert(), fetched in batches by one work() call with several local workers per
 * process, each fetching again at once while its batches come back full (burstWhenBatchFull).
 */
import { PgBoss } from 'pg-boss';
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
    // Workers are woken by a NOTIFY when a job is created due now (one dedicated connection).
    useListenNotify: true,
    // Expired runs are failed (and retried) by the monitor pass of the supervisor: every second
    // in recovery instead of every minute.
    ...(lockSeconds ? { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } : {}),
  });
  boss.on('error', () => undefined);
  await boss.start();
  for (const name of ['noop', 'sleep']) {
    await boss.createQueue(name, { retryLimit: 1, retryDelay: 0, notify: true, ...(lockSeconds ? { expireInSeconds: lockSeconds } : {}) });
  }
  // Jobs due later than their creation (the lag scenario) send no NOTIFY: they are found by
  // polling, which must then run at the same interval as without notifications (the default
  // backstop is 30 s).
  const polling = { pollingIntervalSeconds: pollSeconds, notifyPollingIntervalSeconds: pollSeconds };
  const workIds: Array<[string, string]> = [];
  const start = async () => {
    if (workIds.length) return;
    const noop = await boss.work<{ id: string; due?: number }>('noop', { batchSize, localConcurrency: loops, burstWhenBatchFull: true, ...polling }, async (jobs) => {
      const t = Date.now();
      for (const j of jobs) recordRun({ id: j.data.id, t, due: j.data.due });
    });
    workIds.push(['noop', noop]);
    // Long runs (recovery, at most 20 of them): one local worker per run at once, up to the
    // concurrency; each polls on its own, so not a thousand of them when lag asks for room for 1,000.
    const sleep = await boss.work<{ id: string }>('sleep', { batchSize: 1, localConcurrency: Math.min(50, Number(env.BENCH_CONCURRENCY ?? 20)), ...polling }, async ([job]) => {
      recordRun({ id: job.data.id, t: Date.now(), kind: 'sleep' }, true);
      await new Promise((r) => setTimeout(r, 600_000));
    });
    workIds.push(['sleep', sleep]);
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
          jobs.push({ data: { id: `${a.prefix as string}${i}`, due }, startAfter: new Date(due) });
        }
        await boss.insert(a.handler as string, jobs);
      }
      return { ms: performance.now() - t0 };
    },
    start,
    async stop() {
      // Not waiting for runs in progress: the long runs of recovery take ten minutes.
      for (const [name, id] of workIds.splice(0)) await boss.offWork(name, { id, wait: false });
    },
    async close() {
      await boss.stop({ graceful: false, timeout: 1000 }).catch(() => undefined);
    },
  });
  ready({ bootMs: performance.now() - started });
} catch (err) {
  fatal(err);
}
