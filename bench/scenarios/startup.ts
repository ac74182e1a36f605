/**
 * startup: time from spawning the process until it is ready, with N default jobs. jobs-service
 * is its real entry point as `npm start` runs it (`node [flags] dist/main.js`) with N YAML files in
 * JOBS_DEFAULT_JOBS_DIR, ready when GET /api/v1/readiness answers 200 (polled every 20 ms);
 * raw Agenda is a process that calls every('5 minutes', ...) for N job names and starts its
 * processor, ready when it says so. Cold: a fresh database; warm: the same database again,
 * the jobs already stored. After the warm boot the stored rows are counted for duplicates.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { namespace, tempDir, type Namespace } from '../lib/db.js';
import { startFlags } from '../lib/build.js';
import { projectRoot, sleep, startChild } from '../lib/proc.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import { serviceEnv } from '../systems/jobs-service.js';
import type { Context } from './context.js';
import { repetitions } from './context.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function defaultJobsDir(count: number): Promise<string> {
  const dir = await tempDir(`defaults-${count}`);
  for (let i = 0; i < count; i++) {
    await fs.writeFile(path.join(dir, `periodic-${i}.yaml`), `job_id: periodic-${i}\nhandler: echo\nkwargs:\n  n: ${i}\nperiodically: 5 minutes\n`);
  }
  return dir;
}

/** Boots dist/main.js as `npm start` does; resolves with the ms until readiness answered 200, and a stop function. */
async function bootService(ns: Namespace, jobsDir: string) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...startFlags(), 'dist/main.js'], {
    cwd: projectRoot,
    env: { ...process.env, ...serviceEnv(ns, { processing: true, concurrency: 20 }), JOB_SERVICE_PAUSED: '', PORT: String(port), JOBS_DEFAULT_JOBS_DIR: jobsDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`jobs-service exited before it was ready: ${stderr.slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/readiness`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 300_000) throw new Error('jobs-service was not ready within 300 s');
    await sleep(20);
  }
  const ms = performance.now() - t0;
  return {
    ms,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function countRows(ns: Namespace, text: string): Promise<Record<string, number>> {
  if (ns.pool) return (await ns.pool.query(text)).rows[0] as Record<string, number>;
  const { PGliteClient } = await import('../../src/db/sql-client.js');
  const db = await PGliteClient.open(ns.dataDir!, '16MB');
  try {
    return (await db.query<Record<string, number>>(text)).rows[0];
  } finally {
    await db.close();
  }
}

export async function startup(ctx: Context) {
  const counts = ctx.quick ? [100] : [1000, 5000];
  const { warmup, runs } = repetitions(ctx, { warmup: 1, runs: 3 }, { warmup: 0, runs: 1 });
  const scenario = 'startup';
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'ready_cold', unit: 'ms' }, supported));
      continue;
    }
    for (const count of counts) {
      const cold: number[] = [];
      const warm: number[] = [];
      let duplicates = 0;
      let missing = 0;
      const dir = system.name === 'jobs-service' ? await defaultJobsDir(count) : '';
      for (let r = 0; r < warmup + runs; r++) {
        const ns = await namespace(ctx.store, system.name);
        try {
          const times: number[] = [];
          let check: Record<string, number> = {};
          for (const phase of ['cold', 'warm']) {
            if (system.name === 'jobs-service') {
              const b = await bootService(ns, dir);
              times.push(b.ms);
              await b.stop();
              if (phase === 'warm') {
                check = await countRows(
                  ns,
                  `SELECT (SELECT count(*)::int FROM job) AS rows, (SELECT count(DISTINCT job_id)::int FROM job) AS jobs,
                          (SELECT count(*)::int FROM dispatch) AS engine_rows, (SELECT count(DISTINCT job_id)::int FROM dispatch) AS engine_jobs`,
                );
              }
            } else {
              const t0 = performance.now();
              const c = startChild('agenda', {
                label: `agenda-startup`,
                env: {
                  BENCH_STORE: ns.store,
                  BENCH_PG_URL: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
                  BENCH_SCHEMA: ns.schema,
                  BENCH_DATA_DIR: ns.dataDir,
                  BENCH_EVERY: String(count),
                  BENCH_PROCESSING: '1',
                },
              });
              await c.ready;
              times.push(performance.now() - t0);
              if (phase === 'warm') {
                const q = `SELECT count(*)::int AS rows, count(DISTINCT name)::int AS jobs FROM agenda_jobs WHERE name LIKE 'periodic-%'`;
                check = ns.pool ? (await ns.pool.query(q)).rows[0] : ((await c.rpc<Array<Record<string, number>>>('sql', { text: q }))[0] ?? {});
              }
              await c.stop();
            }
          }
          const dup = Math.max(check.rows - check.jobs, (check.engine_rows ?? 0) - (check.engine_jobs ?? 0));
          const miss = count - check.jobs;
          progress(
            `startup ${system.name} on ${ctx.store}, ${count} jobs, run ${r}${r < warmup ? ' (warm-up)' : ''}: cold ${Math.round(times[0])} ms, warm ${Math.round(times[1])} ms, rows ${JSON.stringify(check)}`,
          );
          if (r < warmup) continue;
          cold.push(times[0]);
          warm.push(times[1]);
          duplicates = Math.max(duplicates, dup);
          missing = Math.max(missing, miss);
        } finally {
          await ns.drop();
        }
      }
      const base = { scenario, system: system.name, store: ctx.store, n: count };
      const ours = system.name === 'jobs-service';
      emit(row({ ...base, metric: `ready_cold_${count}`, unit: 'ms' }, cold));
      const w = row({ ...base, metric: `ready_warm_${count}`, unit: 'ms' }, warm);
      const target = count === 1000 ? '<= 1500' : count === 5000 ? '<= 3000' : undefined;
      emit(ours && target && ctx.store === 'postgres' ? withTarget(w, target) : w);
      emit(
        ours
          ? withTarget(row({ ...base, metric: `duplicates_${count}`, unit: 'jobs' }, [duplicates]), '== 0')
          : row({ ...base, metric: `duplicates_${count}`, unit: 'jobs' }, [duplicates]),
      );
      emit(row({ ...base, metric: `missing_${count}`, unit: 'jobs' }, [missing]));
    }
  }
}
