/**
 * memory: resident set size (VmRSS) of one worker process, idle, and with N jobs scheduled
 * (one-shot, due in a year). Full runs: the jobs are seeded by one process, which then stops;
 * each measured run is a fresh boot on that data, left idle 3 s, RSS sampled five times
 * 200 ms apart (median). --quick: one boot, RSS after 1 s idle, then after seeding N jobs in
 * that same process.
 */
import { namespace } from '../lib/db.js';
import { sleep, type Child } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { System } from '../systems/types.js';
import type { Context } from './context.js';
import { acquire, repetitions, scaled } from './context.js';

const MB = 1024 * 1024;

async function sample(c: Child): Promise<number> {
  const rss: number[] = [];
  for (let i = 0; i < 5; i++) {
    rss.push(c.rss() / MB);
    await sleep(200);
  }
  return median(rss);
}

function emitRss(ctx: Context, system: System, count: number, samples: number[], seedMs: number) {
  const metric = count === 0 ? 'rss_idle' : `rss_${count}_jobs`;
  const base = { scenario: 'memory', system: system.name, store: ctx.store, n: count };
  const r = row({ ...base, metric, unit: 'MB' }, samples);
  emit(system.name === 'jobs-service' && ctx.store === 'embedded' && count === 0 ? withTarget(r, '<= 250') : r);
  if (count > 0) emit(row({ ...base, metric: 'seed_jobs_per_second', unit: 'jobs/s' }, [count / (seedMs / 1000)]));
  return r.value ?? NaN;
}

export async function memory(ctx: Context) {
  const counts = ctx.quick ? [0, 300] : [0, scaled(10_000), scaled(100_000)];
  const { warmup, runs } = repetitions(ctx);
  const scenario = 'memory';
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'rss_idle', unit: 'MB' }, supported));
      continue;
    }
    const byCount = new Map<number, number>();
    const options = { processes: 1, processing: true, concurrency: 20 };
    if (ctx.quick) {
      const lease = await acquire(ctx, system, options);
      try {
        const c = lease.d.children.find((x) => x.exitCode === undefined)!;
        await sleep(1000);
        byCount.set(0, emitRss(ctx, system, 0, [await sample(c)], 0));
        const seedMs = await lease.d.seed({ n: counts[1], handler: 'noop', prefix: 'mem-', dueAt: Date.now() + 365 * 86400_000 });
        await sleep(1000);
        byCount.set(counts[1], emitRss(ctx, system, counts[1], [await sample(c)], seedMs));
        progress(`memory ${system.name} on ${ctx.store}: idle ${Math.round(byCount.get(0)!)} MB, with ${counts[1]} jobs ${Math.round(byCount.get(counts[1])!)} MB`);
      } finally {
        await lease.release();
      }
    } else {
      for (const count of counts) {
        const ns = await namespace(ctx.store, system.name);
        try {
          let seedMs = 0;
          if (count > 0) {
            const seeder = await system.deploy(ns, options);
            try {
              seedMs = await seeder.seed({ n: count, handler: 'noop', prefix: 'mem-', dueAt: Date.now() + 365 * 86400_000 });
            } finally {
              await seeder.close();
            }
          }
          const samples: number[] = [];
          for (let r = 0; r < warmup + runs; r++) {
            const d = await system.deploy(ns, options);
            try {
              await sleep(3000);
              const s = await sample(d.children[0]);
              if (r >= warmup) samples.push(s);
            } finally {
              await d.close();
            }
          }
          progress(
            `memory ${system.name} on ${ctx.store} with ${count} jobs: ${samples.map((s) => Math.round(s)).join(', ')} MB${count ? ` (seeded in ${Math.round(seedMs)} ms)` : ''}`,
          );
          byCount.set(count, emitRss(ctx, system, count, samples, seedMs));
        } finally {
          await ns.drop();
        }
      }
    }
    const top = counts[counts.length - 1];
    const growth = ((byCount.get(top)! - byCount.get(0)!) * 10_000) / top;
    const g = row({ scenario, system: system.name, store: ctx.store, n: top, metric: 'rss_growth_per_10k_jobs', unit: 'MB' }, [growth], 1);
    emit(system.name === 'jobs-service' ? withTarget(g, '<= 50') : g);
  }
}
