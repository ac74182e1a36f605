/**
 * dispatch: N one-shot jobs due now, trivial handler. Seeded while the workers take no runs
 * (jobs-service paused, the peers' processors not started), then every worker starts at
 * once; timed until the system has recorded N finished runs. One worker, then a second
 * process joins the same deployment. Every handler start is reported by the worker, so
 * duplicates and lost runs are counted per job; jobs-service's run records are counted too.
 */
import { sleep, waitUntil, type RunEvent } from '../lib/proc.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { Context } from './context.js';
import { acquire, repetitions } from './context.js';

const concurrency = 20;

export async function dispatch(ctx: Context) {
  const n = ctx.quick ? 50 : 10_000;
  const { warmup, runs } = repetitions(ctx);
  const scenario = 'dispatch';
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'runs_per_second_1_worker', unit: 'runs/s' }, supported));
      continue;
    }
    const options = { processes: 1, processing: false, concurrency, nodeFlags: system.name === 'jobs-service' && ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`] : undefined };
    progress(`dispatch ${system.name} on ${ctx.store}: ${n} jobs, settings ${JSON.stringify(system.settings(ctx.store, options))}`);
    const lease = await acquire(ctx, system, options);
    const d = lease.d;
    try {
      const workerCounts = ctx.store === 'postgres' ? [1, 2] : [1];
      for (const workers of workerCounts) {
        const live = () => d.children.filter((c) => c.exitCode === undefined);
        while (live().length < workers) await d.addProcess(false);
        const rates: number[] = [];
        const seedRates: number[] = [];
        let duplicates = 0;
        let lost = 0;
        let recordProblems = 0;
        let checked = false;
        for (let r = 0; r < warmup + runs; r++) {
          const spec = { n, handler: 'noop' as const, prefix: `w${workers}r${r}-`, dueAt: 'soon' as const };
          const before = await d.completed();
          const seedMs = await d.seed(spec);
          await sleep(150); // every job is due 100 ms after its creation
          const t0 = performance.now();
          await d.start();
          await waitUntil(async () => (await d.completed()) >= before + n, 60_000 + n * 20, 20, `${n} runs of ${system.name}`);
          const seconds = (performance.now() - t0) / 1000;
          await d.stop();
          await sleep(100); // the last run events are in flight
          const counts = new Map<string, number>();
          const events: RunEvent[] = d.children.flatMap((c) => c.events.filter((e) => e.id.startsWith(spec.prefix)));
          for (const e of events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
          const perWorker = d.children.map((c) => c.events.filter((e) => e.id.startsWith(spec.prefix)).length);
          const check = await d.verify(spec);
          progress(`  ${workers} worker(s) run ${r}${r < warmup ? ' (warm-up)' : ''}: ${Math.round(n / seconds)} runs/s, seeding ${Math.round(n / (seedMs / 1000))} jobs/s, per worker ${perWorker.join('/')}${check ? `, records ${JSON.stringify(check)}` : ''}`);
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
        const rate = row({ ...base, metric: `runs_per_second_${workers}_worker${workers > 1 ? 's' : ''}`, unit: 'runs/s' }, rates);
        emit(system.name === 'jobs-service' && ctx.store === 'postgres' ? withTarget(rate, '>= 1000') : rate);
        const zero = (x: ReturnType<typeof row>) => (system.name === 'jobs-service' ? withTarget(x, '== 0') : x);
        emit(zero(row({ ...base, metric: `duplicate_runs_${workers}w`, unit: 'jobs' }, [duplicates])));
        emit(zero(row({ ...base, metric: `lost_runs_${workers}w`, unit: 'jobs' }, [lost])));
        if (checked) emit(zero(row({ ...base, metric: `record_mismatches_${workers}w`, unit: 'jobs' }, [recordProblems])));
        if (workers === 1) emit(row({ ...base, metric: 'seed_jobs_per_second', unit: 'jobs/s' }, seedRates));
      }
      if (ctx.store !== 'postgres') {
        emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'runs_per_second_2_workers', unit: 'runs/s' }, 'one process owns an embedded data folder'));
      }
    } finally {
      await lease.release();
    }
  }
}
