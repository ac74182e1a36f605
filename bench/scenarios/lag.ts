/**
 * lag: N jobs all due at the same moment T, created `lead` ahead (3 s, more when seeding and
 * the ANALYZE after it take longer) while one worker is taking runs. Start lag = the handler's
 * start minus T, per job; the figure is the p99 (and p50, max) of one run, median over the runs.
 *
 * At the concurrency of every scenario (20) a burst of 1,000 starts in 50 rounds, so the figure
 * is mostly the time of a round; full runs measure again with room for the whole burst
 * (concurrency 1,000, rows `*_c1000`), where it is the time to fire 1,000 runs at once.
 */
import path from 'node:path';
import { sleep, waitUntil } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { Context } from './context.js';
import { acquire, repetitions } from './context.js';
import { writeSqlStats } from './dispatch.js';

export async function lag(ctx: Context) {
  const n = ctx.quick ? 50 : 1000;
  for (const concurrency of ctx.quick ? [20] : [20, n]) await lagAt(ctx, n, concurrency, concurrency === 20 ? '' : `_c${concurrency}`);
}

async function lagAt(ctx: Context, n: number, concurrency: number, suffix: string) {
  const { warmup, runs } = repetitions(ctx);
  const scenario = 'lag';
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: `start_lag_p99${suffix}`, unit: 'ms' }, supported));
      continue;
    }
    const profiling = system.name === 'jobs-service' && ctx.profileDir !== undefined;
    /** The name of this round's profile and statement files. */
    const profileName = `lag${suffix || '_c20'}`;
    const options = { processes: 1, processing: true, concurrency, profile: profiling };
    progress(`lag ${system.name} on ${ctx.store}: ${n} jobs due at once, concurrency ${concurrency}`);
    const lease = await acquire(ctx, system, options);
    const d = lease.d;
    try {
      const p99: number[] = [];
      const p50: number[] = [];
      const max: number[] = [];
      const seedRates: number[] = [];
      let lead = ctx.quick ? 1000 : 3000;
      let late = 0;
      let missing = 0;
      for (let r = 0; r < warmup + runs; r++) {
        await sleep(ctx.quick ? 100 : 500);
        const prefix = `lag${r}-`;
        const t0 = Date.now();
        const due = t0 + lead;
        const seedMs = await d.seed({ n, handler: 'noop', prefix, dueAt: due });
        // Seeding and the ANALYZE after it must both end before the jobs are due.
        const readyMs = Date.now() - t0;
        const overran = Date.now() > due - 200;
        // --profile: the worker's CPU profile and statements over the last run, from its seeding's end.
        const last = r === warmup + runs - 1;
        const child = d.children[0];
        if (profiling && last) {
          await child.rpc('sqlStats', { reset: true });
          await child.rpc('profile', { action: 'start' });
        }
        const events = () => d.children.flatMap((c) => c.events.filter((e) => e.id.startsWith(prefix)));
        await waitUntil(() => new Set(events().map((e) => e.id)).size >= n || Date.now() > due + 60_000, lead + 90_000, 50, `${n} starts`);
        if (profiling && last) {
          await writeSqlStats(ctx.profileDir!, profileName, n, d.children);
          progress(`  cpu profile: ${await child.rpc<string>('profile', { action: 'stop', file: path.resolve(ctx.profileDir!, `${profileName}.cpuprofile`) })}`);
        }
        const lags = events().map((e) => e.t - due);
        const counted = new Set(events().map((e) => e.id)).size;
        progress(
          `  run ${r}${r < warmup ? ' (warm-up)' : ''}: lead ${lead} ms, seeding ${Math.round(seedMs)} ms (${readyMs} ms with ANALYZE)${overran ? ' (overran the lead)' : ''}, p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ${Math.max(...lags)} ms, started ${counted}/${n}`,
        );
        // Lengthen the lead for the next run if seeding and ANALYZE came close to it.
        if (readyMs > lead - 500) lead = Math.ceil((readyMs * 1.5 + 1000) / 500) * 500;
        if (r < warmup) continue;
        if (overran) late++;
        missing = Math.max(missing, n - counted);
        p99.push(percentile(lags, 99));
        p50.push(percentile(lags, 50));
        max.push(Math.max(...lags));
        seedRates.push(n / (seedMs / 1000));
      }
      const base = { scenario, system: system.name, store: ctx.store, n };
      const note = late ? `seeding overran the lead in ${late} run(s)` : undefined;
      const p = row({ ...base, metric: `start_lag_p99${suffix}`, unit: 'ms', ...(note ? { note } : {}) }, p99);
      emit(system.name === 'jobs-service' ? withTarget(p, '<= 100') : p);
      emit(row({ ...base, metric: `start_lag_p50${suffix}`, unit: 'ms' }, p50));
      emit(row({ ...base, metric: `start_lag_max${suffix}`, unit: 'ms' }, max));
      emit(row({ ...base, metric: `not_started${suffix}`, unit: 'jobs' }, [missing]));
      emit(row({ ...base, metric: `seed_jobs_per_second${suffix}`, unit: 'jobs/s' }, seedRates));
      emit(row({ ...base, metric: `lead_time${suffix}`, unit: 'ms' }, [lead]));
    } finally {
      await lease.release();
    }
  }
}
