import { namespace, type Namespace, type StoreKind } from '../lib/db.js';
import type { DeployOptions, Deployment, System } from '../systems/types.js';

export interface Context {
  store: StoreKind;
  quick: boolean;
  systems: System[];
  /** Folder for CPU profiles and statement counts of jobs-service's workers in dispatch (--profile). */
  profileDir?: string;
}

/**
 * BENCH_SCALE (default 1) shrinks the largest sizes of a full run (dispatch's jobs, the API's
 * stored jobs, memory's job counts) on a machine too busy for them; the rows carry the n used.
 */
export function scaled(n: number): number {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** Warm-up runs and measured runs per figure. */
export function repetitions(ctx: Context, full = { warmup: 1, runs: 3 }, quick = { warmup: 0, runs: 3 }) {
  return ctx.quick ? quick : full;
}

export interface Lease {
  d: Deployment;
  ns: Namespace;
  release(): Promise<void>;
}

/** Settings every shared deployment gets in --quick (recovery needs the short window). */
export const quickOptions = { concurrency: 20, lockMs: 3000 };

const shared = new Map<string, Promise<{ d: Deployment; ns: Namespace }>>();

/**
 * A deployment of a system for one scenario. Full runs: a fresh schema (or data folder) and
 * fresh processes, removed afterwards. --quick: one deployment per system shared by the
 * scenarios in turn (boots dominate a short run), taking no runs when handed out; ids are
 * unique per scenario, so their jobs do not mix.
 */
export async function acquire(ctx: Context, system: System, options: DeployOptions): Promise<Lease> {
  if (!ctx.quick) {
    const ns = await namespace(ctx.store, system.name);
    try {
      const d = await system.deploy(ns, options);
      return { d, ns, release: async () => (await d.close(), await ns.drop()) };
    } catch (err) {
      await ns.drop();
      throw err;
    }
  }
  let entry = shared.get(system.name);
  if (!entry) {
    entry = (async () => {
      const ns = await namespace(ctx.store, system.name);
      const d = await system.deploy(ns, { ...options, ...quickOptions, processes: 1, processing: false });
      return { d, ns };
    })();
    shared.set(system.name, entry);
  }
  const { d, ns } = await entry;
  await d.stop();
  if (options.processing) await d.start();
  return { d, ns, release: async () => undefined };
}

/** Closes the deployments --quick shared. */
export async function releaseShared() {
  for (const entry of shared.values()) {
    const { d, ns } = await entry.catch(() => ({ d: undefined, ns: undefined }));
    await d?.close().catch(() => undefined);
    await ns?.drop().catch(() => undefined);
  }
  shared.clear();
}
