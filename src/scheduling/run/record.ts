import { failedStatuses, RunEndsError, type ExecutionEnd, type ExecutionRecord, type ExecutionStatus } from '../../store/types.js';
import { Coalescer } from '../../db/coalescer.js';
import { outputLine, storableText } from './context.js';
import type { RunDeps } from './deps.js';
import type { Ran } from './execute.js';
import { isDuplicateKey, untilLanded } from './retry.js';
import { stopOutcome, type StopReason } from './stop.js';
import { derivedRunId } from './derived-id.js';
import { crashAt } from '../crash-point.js';

/**
 * Records how runs ended: the final status (written with a conditional update from
 * `running`, several runs at once), then for a failed run its failure record and retry.
 */
export class RunRecorder {
  /**
   * Ends of runs that come together, written together; for each run, true when this call ended
   * it, or the error of its own write (the others' ends are recorded all the same).
   */
  private readonly finishes = new Coalescer<ExecutionEnd, boolean | Error>(async (ends) => {
    const { maxOutputLines, maxOutputBytes } = this.deps.options;
    // Ordered by id, as every batch that writes execution rows is, so that two workers' batches lock rows in one order.
    const sorted = [...ends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    try {
      const moved = new Set(await this.land('run ends', { runs: sorted.map((e) => e.id) }, () => this.deps.finishRuns(sorted, maxOutputLines, maxOutputBytes)));
      return ends.map((e) => moved.has(e.id));
    } catch (err) {
      if (!(err instanceof RunEndsError)) throw err;
      const moved = new Set(err.ended);
      return ends.map((e) => err.failed.get(e.id) ?? moved.has(e.id));
    }
  });

  /** A write of what follows a run's end, tried until it lands while the worker lives (see untilLanded). */
  land<T>(what: string, fields: Record<string, unknown>, fn: (attempt: number) => Promise<T>): Promise<T> {
    const { log, options, stopped } = this.deps;
    return untilLanded(fn, { log, what, fields, maxDelayMs: options.endRetryMaxMs, stopped });
  }

  constructor(
    private readonly deps: RunDeps,
    /** Starts the jobs a run's end chains to (a no-op for a run without chains_pending). */
    private readonly chain: (run: ExecutionRecord) => Promise<void> = async () => undefined,
  ) {}

  /** Writes the end of a run whose handler ran here, and what follows it. */
  async record(execution: ExecutionRecord, ran: Ran): Promise<ExecutionStatus> {
    const { log, options } = this.deps;
    const { outcome, signal, output, started, began } = ran;
    const timeout = execution.timeout;
    let status: ExecutionStatus;
    let error: string | null = null;
    let stack: string | null = null;
    if (outcome === null || outcome.abortedFirst) {
      const reason = (signal.reason as StopReason) in stopOutcome ? (signal.reason as StopReason) : 'cancel';
      status = stopOutcome[reason].status;
      error = stopOutcome[reason].error(timeout);
      if (!began) error += '; stopped while it waited for its time, its handler never called';
      else if (outcome === null) error += `; the handler did not return within ${options.cancelGraceMs} ms`;
      output.push(outputLine(status === 'cancelled' ? 'warn' : 'error', `[${status}] ${error}`));
    } else if (outcome.error) {
      status = 'failed';
      error = outcome.error.message;
      stack = outcome.error.stack ?? null;
      output.push(outputLine('error', `[error] ${outcome.error.message}`));
    } else {
      status = 'succeeded';
    }
    const finished = new Date();
    // A run stopped before its handler was called took no time (its started_at is its due time).
    const durationMs = began ? finished.getTime() - started.getTime() : null;
    const recorded = await this.finishes.add({
      id: execution.id,
      status,
      finished_at: finished,
      duration_ms: durationMs,
      error: error === null ? null : storableText(error),
      stack: stack === null ? null : storableText(stack),
      progress: status === 'succeeded' ? 100 : null,
      output: output.splice(0, output.length),
      job_id: execution.job_id && execution.trigger !== 'flow' ? execution.job_id : null,
    });
    if (recorded instanceof Error) throw recorded;
    // Not recorded: the run was settled meanwhile (its worker was taken for gone); that
    // settlement logged and counted it, and did the rest.
    if (!recorded) {
      log.warn({ execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, status }, 'run ended after it was settled as lost; its end is not recorded');
      return status;
    }
    // A run that failed, timed out or was lost is worth a look: warn, with the handler's error.
    const failed = failedStatuses.includes(status);
    log[failed ? 'warn' : 'info'](
      {
        execution_id: execution.id,
        job_id: execution.job_id,
        handler: execution.handler,
        status,
        duration_ms: durationMs,
        error,
        ...(failed && outcome?.error ? { err: outcome.error } : {}),
      },
      'run finished',
    );
    options.observer?.onRunFinished(execution, status, durationMs);
    // The end of a failed run was written with chains_pending set (finishExecutions): what
    // follows it is pending until afterRun clears the flag.
    await this.afterRun({ ...execution, status, error, stack, finished_at: finished, duration_ms: durationMs, chains_pending: execution.chains_pending || failed });
    return status;
  }

  /**
   * What follows a final status: for a watched run, its notifications and auto-pause; after a
   * failed one (the job's last status is written with it), a failure record and a retry; then
   * the runs its chains start, and the flag chains_pending cleared. Each write of those is tried
   * until it lands: the final status is written already, so nothing would come back to them.
   * A process that dies before the flag is cleared leaves the run to the sweep (`swept`), which
   * writes the failure record, the retry and the chained runs under the same ids; the
   * notifications of such a run are not sent again (a failure would be counted twice).
   */
  async afterRun(execution: ExecutionRecord, swept = false) {
    // After a failed run's end is written (tests only).
    if (failedStatuses.includes(execution.status) && !swept) crashAt('failed-end');
    await this.afterFailure(execution, swept);
    // After the retry (whether one follows decides on_failure); a crash before it leaves the
    // flag set for the sweep.
    if (execution.chains_pending && !swept) crashAt('chains-pending');
    if (execution.chains_pending) await this.land('chained runs', { execution_id: execution.id, job_id: execution.job_id }, () => this.chain(execution));
  }

  private async afterFailure(execution: ExecutionRecord, swept: boolean) {
    const { store, log } = this.deps;
    const { status } = execution;
    // Only watched runs cost anything here: their job's rules were there when the run was made.
    if (execution.notifies && execution.job_id && execution.trigger !== 'flow' && !swept) await this.deps.options.notifications?.runEnded(execution);
    if (!failedStatuses.includes(status)) return;
    const fields = { execution_id: execution.id, job_id: execution.job_id };
    const job = execution.job_id ? await this.land('failure record', fields, () => store.getJob(execution.job_id!)) : null;
    const failure = {
      id: execution.id,
      execution_id: execution.id,
      failed_job_id: execution.job_id,
      handler: execution.handler,
      kwargs: execution.kwargs,
      error: execution.error ?? status,
      traceback: execution.stack,
      time: execution.finished_at ?? new Date(),
    };
    // A try whose answer was lost, or a process that died before the sweep, may have written
    // it: the failure's id is the run's.
    await this.land('failure record', fields, async () => {
      try {
        await store.insertFailure(failure);
      } catch (err) {
        if (isDuplicateKey(err)) return;
        throw err;
      }
    });
    // Only the job that made the run retries it: one deleted and made again under the same id
    // since (another handler, other retries) must not run this run's kwargs as its own.
    const sameJob = job !== null && job.handler === execution.handler && job.created_at.getTime() <= execution.created_at.getTime();
    if (job && sameJob && execution.trigger !== 'flow' && execution.attempt <= job.retries) {
      const delay = job.retry_backoff * 1000 * 2 ** (execution.attempt - 1);
      const at = new Date(Date.now() + delay);
      const retry: ExecutionRecord = {
        ...this.deps.newExecution(job, { trigger: execution.trigger, scheduled_at: at, created_at: new Date() }),
        // Derived from the run, so the sweep writes the same retry, once.
        id: derivedRunId('retry', execution.id),
        kwargs: execution.kwargs,
        attempt: execution.attempt + 1,
        idempotency_key: execution.idempotency_key,
        batch_id: execution.batch_id,
        parent_id: execution.parent_id,
        selection: execution.selection,
        restarted_from: execution.restarted_from,
        triggered_by: execution.triggered_by,
      };
      await this.land('retry', { ...fields, retry_id: retry.id }, async (attempt) => {
        if ((attempt > 1 || swept) && (await store.getExecution(retry.id))) return;
        try {
          await this.deps.rows.queue([retry]);
        } catch (err) {
          // Written by the sweep or this end's other writer meanwhile: the id is derived from the run.
          if (!isDuplicateKey(err)) throw err;
        }
      });
      log.info({ job_id: job.job_id, execution_id: retry.id, attempt: retry.attempt, at }, 'retry queued');
    }
  }
}
