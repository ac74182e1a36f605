import type { ExecutionRecord } from '../../store/types.js';
import type { RunDeps } from './deps.js';
import type { RunRecorder } from './record.js';
import { stopOutcome, type StopReason } from './stop.js';

/** Stopping runs: cancel requests, signals of runs in this process, and runs of gone workers. */
export class RunCancels {
  constructor(
    private readonly deps: RunDeps,
    private readonly recorder: RunRecorder,
  ) {}

  /**
   * Cancels runs: queued ones at once, running ones by firing their signal (here, or through
   * the store for the worker that runs them; either way the request time is stored).
   * Returns the runs cancelled at once.
   */
  async cancelMany(runs: ExecutionRecord[], reason: StopReason): Promise<string[]> {
    const { store, log, options, rows } = this.deps;
    const now = new Date();
    const cancelled: string[] = [];
    for (const run of runs) {
      if (run.status === 'queued') {
        const error = stopOutcome[reason].error(null);
        if (await store.transitionExecution(run.id, 'queued', { status: 'cancelled', finished_at: now, error })) {
          cancelled.push(run.id);
          await rows.removeRun(run.id);
          if (run.job_id && run.trigger !== 'flow') await store.updateJob(run.job_id, { last_status: 'cancelled' });
          // A run that never started ends here: logged and counted like any other end.
          log.info({ execution_id: run.id, job_id: run.job_id, handler: run.handler, status: 'cancelled', error }, 'run finished');
          options.observer?.onRunFinished(run, 'cancelled', null);
          await this.recorder.afterRun({ ...run, status: 'cancelled', error, finished_at: now });
          continue;
        }
      }
      // A running run gets its request time stored wherever it runs; elsewhere its worker
      // finds the request in the store. Here a cancel request is stored before the signal
      // fires, so the answer, read next, finds the run still running, as it did before the
      // time was stored (a poll that sees the request first stops it for the same reason).
      // Any other reason fires first, so the run ends for that reason, not as a request.
      if (reason === 'cancel') {
        await store.requestCancel(run.id, now);
        this.stopLocal(run.id, reason);
      } else {
        this.stopLocal(run.id, reason);
        await store.requestCancel(run.id, now);
      }
    }
    return cancelled;
  }

  /** Fires the signal of a run this process is running; false when it runs no such run. */
  stopLocal(executionId: string, reason: StopReason): boolean {
    const run = this.deps.active.get(executionId);
    if (!run) return false;
    if (!run.controller.signal.aborted) run.controller.abort(reason);
    return true;
  }

  /**
   * Settles the runs of workers that stopped heartbeating: each becomes lost (only the
   * process whose update moves it does the rest), leaves a failure record and is retried
   * per its job's rules.
   */
  async settleLost(skip: (id: string) => boolean = () => false) {
    const { store, log, options } = this.deps;
    const runs = (await store.runningOnGoneWorkers()).filter((r) => !skip(r.id));
    const now = new Date();
    for (const run of runs) {
      const error = `lost: worker ${run.worker_id} stopped heartbeating while the run was running`;
      if (
        await store.transitionExecution(run.id, 'running', {
          status: 'lost',
          finished_at: now,
          error,
          duration_ms: run.started_at ? now.getTime() - run.started_at.getTime() : null,
          // Its failure record and retry are pending until written (see RunRecorder.afterRun).
          chains_pending: true,
        })
      ) {
        log.warn({ execution_id: run.id, job_id: run.job_id, worker_id: run.worker_id }, 'run lost');
        if (run.job_id && run.trigger !== 'flow') await store.updateJob(run.job_id, { last_status: 'lost' });
        options.observer?.onRunFinished(run, 'lost', null);
        await this.recorder.afterRun({ ...run, status: 'lost', error, finished_at: now, chains_pending: true });
      }
    }
    return runs.length;
  }
}
