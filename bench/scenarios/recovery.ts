/**
 * recovery: K long runs in progress, a second worker up, the worker holding the runs killed
 * with SIGKILL. Timed from the kill until each of its jobs has started again on the other
 * worker (the handler reports each start at once). Every system gets the same
 * failure-detection window W: jobs-service a heartbeat of W/3 (a worker is gone after three
 * missed beats, its runs lost and retried: the jobs have retries: 1), Agenda a lock lifetime
 * of W, pg-boss an expiry of W with its supervisor's monitor pass (where 12.x fails expired
 * jobs) every second.
 *
 * Full runs: a fresh deployment per run, all K runs on worker A, worker B started, A killed.
 * --quick: the shared deployment (W = 3 s); runs may spread over both workers, and the one
 * holding more of them is killed.
 */
import { sleep, waitUntil, type Child } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { Context } from './context.js';
import { acquire, quickOptions, repetitions } from './context.js';

export async function recovery(ctx: Context) {
  const k = ctx.quick ? 5 : 20;
  const windowMs = ctx.quick ? quickOptions.lockMs : Number(process.env.BENCH_RECOVERY_WINDOW_MS ?? 15000);
  const { warmup, runs } = repetitions(ctx, { warmup: 0, runs: 3 }, { warmup: 0, runs: 1 });
  const scenario = 'recovery';
  for (const system of ctx.systems) {
    let supported = system.supports(ctx.store, scenario);
    if (supported === true && ctx.store === 'embedded') supported = 'one process owns an embedded data folder: no second worker';
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'all_redispatched', unit: 'ms' }, supported));
      continue;
    }
    const all: number[] = [];
    const first: number[] = [];
    let notRecovered = 0;
    const options = { processes: 1, processing: true, concurrency: k + 5, lockMs: windowMs };
    progress(`recovery ${system.name}: ${k} long runs, window ${windowMs} ms, settings ${JSON.stringify(system.settings(ctx.store, options))}`);
    for (let r = 0; r < warmup + runs; r++) {
      const lease = await acquire(ctx, system, options);
      const d = lease.d;
      try {
        const prefix = `rec${r}-`;
        const live = () => d.children.filter((c) => c.exitCode === undefined);
        const idsOn = (c: Child) => new Set(c.events.filter((e) => e.id.startsWith(prefix)).map((e) => e.id));
        await d.seed({ n: k, handler: 'sleep', prefix, dueAt: Date.now() + 300, retry: true });
        await waitUntil(() => live().reduce((a, c) => a + idsOn(c).size, 0) >= k, 60_000, 50, `${k} runs started`);
        const victim = live().sort((a, b) => idsOn(b).size - idsOn(a).size)[0];
        const ids = idsOn(victim);
        if (live().length < 2) await d.addProcess(true);
        await sleep(500);
        const others = live().filter((c) => c !== victim);
        const killedAt = Date.now();
        victim.kill9();
        await victim.exited;
        const restarted = () => {
          const m = new Map<string, number>();
          for (const c of others) for (const e of c.events) if (ids.has(e.id) && e.t >= killedAt && !m.has(e.id)) m.set(e.id, e.t - killedAt);
          return m;
        };
        await waitUntil(() => restarted().size >= ids.size, windowMs * 3 + 30_000, 50, `${ids.size} runs again`).catch(() => undefined);
        const times = [...restarted().values()];
        progress(
          `  run ${r}: ${times.length}/${ids.size} again on the other worker; first after ${Math.min(...times)} ms, all after ${Math.max(...times)} ms (median ${median(times)})`,
        );
        if (r < warmup) continue;
        notRecovered = Math.max(notRecovered, ids.size - times.length);
        if (times.length === ids.size) all.push(Math.max(...times));
        if (times.length) first.push(Math.min(...times));
      } finally {
        await lease.release();
      }
    }
    const base = { scenario, system: system.name, store: ctx.store, n: k };
    const allRow = row({ ...base, metric: 'all_redispatched', unit: 'ms', note: `failure-detection window ${windowMs} ms` }, all);
    emit(system.name === 'jobs-service' ? withTarget(allRow, '<= 15000') : allRow);
    emit(row({ ...base, metric: 'first_redispatched', unit: 'ms' }, first));
    emit(row({ ...base, metric: 'not_redispatched', unit: 'jobs' }, [notRecovered]));
  }
}
