/**
 * dispatch: N one-shot jobs due now, trivial handler. Seeded while the workers take no runs
 * (jobs-service paused, the peers' processors not started), then every worker starts at
 * once; timed until the system has recorded N finished runs. One worker, then processes join
 * the same deployment: 2, then 4 workers; full runs end with one run of 100,000 jobs on the 4
 * workers (rows `*_100k`), a backlog ten times larger. Every handler start is reported by the
 * worker, so duplicates and lost runs are counted per job; jobs-service's run records are
 * counted too.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sleep, waitUntil, type Child, type RunEvent } from '../lib/proc.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { Context } from './context.js';
import { acquire, repetitions, scaled } from './context.js';

/** Runs at once per worker process, the same for every system; BENCH_DISPATCH_CONCURRENCY changes it. */
const concurrency = Number(process.env.BENCH_DISPATCH_CONCURRENCY ?? 20);

/** --profile: the statements each jobs-service worker sent during the last run, per run. */
export async function writeSqlStats(dir: string, round: string, n: number, children: Child[]) {
  await fs.mkdir(dir, { recursive: true });
  for (const [i, c] of children.entries()) {
    const stats = await c.rpc<Array<{ text: string; calls: number; ms: number; avg_ms: number }>>('sqlStats', { reset: true });
    const runs = c.events.length ? n : 0;
    const file = path.join(dir, `sql-${round}-worker${i}.json`);
    await fs.writeFile(file, JSON.stringify(stats, null, 2));
    const calls = stats.reduce((a, s) => a + s.calls, 0);
    progress(`  worker ${i}: ${calls} statements in the last run (${(calls / Math.max(1, runs)).toFixed(1)} per run over all workers' runs); top by client time in ${file}:`);
    for (const s of stats.slice(0, 8)) progress(`    ${String(s.calls).padStart(6)} x ${String(s.avg_ms).padStart(6)} ms  ${s.text.slice(0, 140)}`);
  }
}

interface Round {
  workers: number;
  n: number;
  warmup: number;
  runs: number;
  /** Appended to the metric names. */
  suffix: string;
}

/** The rounds on one deployment, in order: processes are only ever added. */
function rounds(ctx: Context): Round[] {
  const n = ctx.quick ? 50 : scaled(10_000);
  const { warmup, runs } = repetitions(ctx);
  // One process owns an embedded data folder.
  if (ctx.store !== 'postgres') return [{ workers: 1, n, warmup, runs, suffix: '' }];
  const list = [1, 2, 4].map((workers) => ({ workers, n, warmup, runs, suffix: '' }));
  // One run, no warm-up: the rounds before warmed the deployment up, and a run takes minutes
  // on the slower systems.
  if (!ctx.quick) list.push({ workers: 4, n: scaled(100_000), warmup: 0, runs: 1, suffix: '_100k' });
  return list;
}

export async function dispatch(ctx: Context) {
  const plan = rounds(ctx);
  const scenario = 'dispatch';
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'runs_per_second_1_worker', unit: 'runs/s' }, supported));
      continue;
    }
    const profiling = system.name === 'jobs-service' && ctx.profileDir !== undefined;
    const options = { processes: 1, processing: false, concurrency, profile: profiling };
    progress(
      `dispatch ${system.name} on ${ctx.store}: ${plan.map((r) => `${r.n} jobs on ${r.workers} worker(s)`).join(', ')}; settings ${JSON.stringify(system.settings(ctx.store, options))}`,
    );
    const lease = await acquire(ctx, system, options);
    const d = lease.d;
    try {
      for (const { workers, n, warmup, runs, suffix } of plan) {
        const live = () => d.children.filter((c) => c.exitCode === undefined);
        while (live().length < workers) await d.addProcess(false);
        const rates: number[] = [];
        const seedRates: number[] = [];
        let duplicates = 0;
        let lost = 0;
        let recordProblems = 0;
        let checked = false;
        for (let r = 0; r < warmup + runs; r++) {
          // The warm-up only needs to warm up: a fifth of the jobs.
          const size = r < warmup ? Math.max(50, Math.round(n / 5)) : n;
          const spec = { n: size, handler: 'noop' as const, prefix: `w${workers}${suffix}r${r}-`, dueAt: 'soon' as const };
          const last = r === warmup + runs - 1;
          const since = new Date();
          const before = await d.completed(since);
          const seedMs = await d.seed(spec);
          await sleep(150); // every job is due 100 ms after its creation
          // Profiles and statement counts cover the dispatch of the last run only, not its seeding.
          if (profiling && last) {
            await Promise.all(d.children.map((c) => c.rpc('sqlStats', { reset: true })));
            await Promise.all(d.children.map((c) => c.rpc('profile', { action: 'start' })));
          }
          const t0 = performance.now();
          await d.start();
          await waitUntil(async () => (await d.completed(since)) >= before + size, 60_000 + size * 20, 20, `${size} runs of ${system.name}`);
          const seconds = (performance.now() - t0) / 1000;
          const rate = size / seconds;
          await d.stop();
          await sleep(100); // the last run events are in flight
          const counts = new Map<string, number>();
          const events: RunEvent[] = d.children.flatMap((c) => c.events.filter((e) => e.id.startsWith(spec.prefix)));
          for (const e of events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
          const perWorker = d.children.map((c) => c.events.filter((e) => e.id.startsWith(spec.prefix)).length);
          if (profiling && last) {
            await writeSqlStats(ctx.profileDir!, `${workers}w${suffix}`, n, d.children);
            for (const [i, c] of d.children.entries()) {
              progress(
                `  cpu profile: ${await c.rpc<string>('profile', { action: 'stop', file: path.resolve(ctx.profileDir!, `dispatch-${workers}w${suffix}-worker${i}.cpuprofile`) })}`,
              );
            }
          }
          const check = await d.verify(spec);
          progress(
            `  ${workers} worker(s)${suffix ? `, ${size} jobs,` : ''} run ${r}${r < warmup ? ` (warm-up, ${size} jobs)` : ''}: ${Math.round(rate)} runs/s, seeding ${Math.round(size / (seedMs / 1000))} jobs/s, per worker ${perWorker.join('/')}${check ? `, records ${JSON.stringify(check)}` : ''}`,
          );
          if (r < warmup) continue;
          rates.push(n / seconds);
          seedRates.push(n / (seedMs / 1000));
          duplicates = Math.max(duplicates, [...counts.values()].filter((c) => c > 1).length);
          lost = Math.max(lost, n - counts.size);
          if (check) {
            checked = true;
            recordProblems = Math.max(recordProblems, check.duplicates + check.missing + check.other);
          }
        }
        const base = { scenario, system: system.name, store: ctx.store, n };
        const rate = row({ ...base, metric: `runs_per_second_${workers}_worker${workers > 1 ? 's' : ''}${suffix}`, unit: 'runs/s' }, rates);
        emit(system.name === 'jobs-service' && ctx.store === 'postgres' ? withTarget(rate, '>= 1000') : rate);
        const zero = (x: ReturnType<typeof row>) => (system.name === 'jobs-service' ? withTarget(x, '== 0') : x);
        emit(zero(row({ ...base, metric: `duplicate_runs_${workers}w${suffix}`, unit: 'jobs' }, [duplicates])));
        emit(zero(row({ ...base, metric: `lost_runs_${workers}w${suffix}`, unit: 'jobs' }, [lost])));
        if (checked) emit(zero(row({ ...base, metric: `record_mismatches_${workers}w${suffix}`, unit: 'jobs' }, [recordProblems])));
        if (workers === 1) emit(row({ ...base, metric: 'seed_jobs_per_second', unit: 'jobs/s' }, seedRates));
        if (suffix) emit(row({ ...base, metric: `seed_jobs_per_second${suffix}`, unit: 'jobs/s' }, seedRates));
      }
      if (ctx.store !== 'postgres') {
        for (const workers of [2, 4]) {
          emit(
            skipped({ scenario, system: system.name, store: ctx.store, metric: `runs_per_second_${workers}_workers`, unit: 'runs/s' }, 'one process owns an embedded data folder'),
          );
        }
      }
    } finally {
      // --quick: the deployment stays up for the scenarios after this one (recovery uses a
      // second worker); the processes beyond two go, or every system's four would hold their
      // connections until the end, more than a shared server's max_connections allows.
      if (ctx.quick)
        await Promise.all(
          d.children
            .filter((c) => c.exitCode === undefined)
            .slice(2)
            .map((c) => c.stop()),
        );
      await lease.release();
    }
  }
}
