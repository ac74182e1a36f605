/**
 * graphile-worker 0.18 (LISTEN/NOTIFY), configured as its performance page does for
 * throughput: jobs added in bulk with addJobs(), fetched in batches through its local queue,
 * completions and failures batched, a pool of concurrency + 2 connections.
 */
import { makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { Logger } from 'graphile-worker';
import { fatal, ready, recordRun, serveCommands } from './ipc.js';

const env = process.env;
const schema = env.BENCH_SCHEMA!;
const concurrency = Number(env.BENCH_CONCURRENCY ?? 20);
// At least concurrency + 1 (the local queue must be able to feed every worker at once).
const localQueueSize = Math.max(Number(env.BENCH_BATCH ?? 500), concurrency + 1);
// Its recommendation, max(10, concurrency + 2), up to that of concurrency 20: with a local
// queue and batched completions the pool only fetches and completes, and 1,002 connections at
// concurrency 1,000 would exceed the server's max_connections.
const maxPoolSize = Math.max(10, Math.min(concurrency, 20) + 2);
const silent = new Logger(() => () => undefined);

try {
  const started = performance.now();
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: env.BENCH_PG_URL, schema, logger: silent });
  await utils.migrate();
  let runner: Runner | undefined;
  const start = async () => {
    if (runner) return;
    runner = await run({
      connectionString: env.BENCH_PG_URL,
      schema,
      concurrency,
      maxPoolSize,
      pollInterval: Number(env.BENCH_POLL_MS ?? 200),
      noHandleSignals: true,
      logger: silent,
      preset: {
        worker: {
          localQueue: { size: localQueueSize },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
          useNodeTime: true,
        },
      },
      taskList: {
        noop: async (payload) => {
          const p = payload as { id: string; due?: number };
          recordRun({ id: p.id, t: Date.now(), due: p.due });
        },
      },
    });
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
          jobs.push({ identifier: a.handler as string, payload: { id: `${a.prefix as string}${i}`, due }, runAt: new Date(due) });
        }
        await utils.addJobs(jobs);
      }
      return { ms: performance.now() - t0 };
    },
    start,
    async stop() {
      const r = runner;
      runner = undefined;
      await r?.stop();
    },
    async close() {
      await runner?.stop().catch(() => undefined);
      await utils.release();
    },
  });
  ready({ bootMs: performance.now() - started });
} catch (err) {
  fatal(err);
}
