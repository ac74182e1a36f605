import type { ExecutionRecord } from '../../store/types.js';
import { Coalescer } from '../../db/coalescer.js';
import type { RunDeps } from './deps.js';
import { untilLanded } from './retry.js';

/**
 * The writes a worker makes to the runs it runs, each conditional on the run still running
 * on this worker's registration, which is not gone: a worker declared gone (a stall past the
 * window) cannot change a run that was settled meanwhile. A refused write stops the run and
 * tells the worker (`RunDeps.fenced`), which stops the rest and registers again.
 */
export class RunFence {
  /** Starts of runs that come together, fenced in one write; the token of each, or null. */
  private readonly starts = new Coalescer<ExecutionRecord, number | null>(async (runs) => {
    const byWorker = new Map<string, ExecutionRecord[]>();
    for (const r of runs) byWorker.set(r.worker_id ?? '', [...(byWorker.get(r.worker_id ?? '') ?? []), r]);
    const tokens = new Map<string, number>();
    const { token } = this.deps.worker();
    for (const [workerId, of] of byWorker) {
      if (token === null || !workerId) continue;
      // Tried again while the database is away: a start refused for a blip would fail a run
      // whose handler never ran. A try whose answer was lost drew tokens; the next draws again.
      const { log, options, stopped } = this.deps;
      const fenced = await untilLanded(
        () =>
          this.deps.store.fenceRuns(
            workerId,
            token,
            of.map((r) => r.id),
          ),
        { log, what: 'run starts (fencing tokens)', fields: { runs: of.map((r) => r.id) }, maxDelayMs: options.endRetryMaxMs, stopped },
      );
      for (const [id, t] of fenced) tokens.set(id, t);
    }
    return runs.map((r) => tokens.get(r.id) ?? null);
  });

  constructor(private readonly deps: RunDeps) {}

  /** Draws the run's fencing token as it starts; null when the run is no longer this registration's. */
  start(execution: ExecutionRecord): Promise<number | null> {
    return this.starts.add(execution);
  }

  /** Appends output lines; false when refused (the run was taken from this worker). */
  async output(execution: ExecutionRecord, lines: string[]): Promise<boolean> {
    const { token } = this.deps.worker();
    if (token === null || !execution.worker_id) return false;
    return this.refusedUnless(
      await this.deps.store.appendRunOutput(execution.worker_id, token, execution.id, lines, this.deps.options.maxOutputLines, this.deps.options.maxOutputBytes),
    );
  }

  /** Writes progress; false when refused. */
  async progress(execution: ExecutionRecord, percent: number): Promise<boolean> {
    const { token } = this.deps.worker();
    if (token === null || !execution.worker_id) return false;
    return this.refusedUnless(await this.deps.store.writeRunProgress(execution.worker_id, token, execution.id, percent));
  }

  private refusedUnless(ok: boolean) {
    if (!ok) this.deps.fenced();
    return ok;
  }
}

const fences = new WeakMap<RunDeps, RunFence>();

/** The fence of a runner's runs: one per runner, so starts that come together are written together. */
export function fenceOf(deps: RunDeps): RunFence {
  let f = fences.get(deps);
  if (!f) fences.set(deps, (f = new RunFence(deps)));
  return f;
}
