import { randomUUID } from 'node:crypto';
import type { Catalog } from './catalog.js';
import type { Engine, Lease } from '../engine/agenda.js';
import type { HandlerContext, Handler, RunLogger } from '../handlers/types.js';
import type { Logger } from '../observability/log.js';
import {
  failedStatuses,
  type ExecutionRecord,
  type ExecutionEnd,
  type ExecutionStatus,
  type JobPatch,
  type JobRecord,
  type Kwargs,
  type StepSelection,
  type Store,
} from '../store/types.js';
import { Batcher } from './batcher.js';
import type { RunObserver } from './observer.js';
import { planFire } from './run/plan.js';

export { policyOf, recurrenceOf } from './run/plan.js';

export interface RunnerOptions {
  /** Lines of output kept per run; older lines are dropped and the run marked truncated. */
  maxOutputLines: number;
  /** How long an aborted handler is waited for before its run is recorded anyway, in ms. */
  cancelGrace: number;
  /** Seconds a run may take when neither its job nor its handler says. */
  defaultTimeout: number;
  /** Told of each run started and settled here (metrics). */
  observer?: RunObserver;
}

/** Why a run's signal fired; each ends the run in its own way. */
export type StopReason = 'cancel' | 'timeout' | 'shutdown' | 'replaced';

const stopOutcome: Record<StopReason, { status: ExecutionStatus; error: (timeout: number | null) => string }> = {
  cancel: { status: 'cancelled', error: () => 'cancelled on request' },
  replaced: { status: 'cancelled', error: () => 'cancelled: replaced by a newer run of the job' },
  shutdown: { status: 'cancelled', error: () => 'cancelled: the worker shut down before the run ended' },
  timeout: { status: 'timed_out', error: (t) => `timed out after ${t} s` },
};

/** Steps of a handler that a selection asks for, in the handler's order. */
export function selectSteps<T extends { name: string }>(steps: readonly T[], selection: StepSelection | null): T[] {
  if (!selection) return [...steps];
  const names = new Set(selection.task_names);
  if (!selection.run_subsequent) return steps.filter((s) => names.has(s.name));
  const first = steps.findIndex((s) => names.has(s.name));
  return first < 0 ? [] : steps.slice(first);
}

interface ActiveRun {
  controller: AbortController;
}

/**
 * The run wrapper: turns an Agenda run into an execution record. A schedule row fires its
 * job (misfire grace, concurrency policy, next fire); a run row starts one queued execution.
 * Handler errors end the run as `failed`; they never reach Agenda, whose failure counting
 * would otherwise decide the fate of recurring jobs. Retries are the service's own.
 */
export class Runner {
  private readonly active = new Map<string, ActiveRun>();
  /** Every execute() under way, until its final status is written. */
  private readonly inFlight = new Set<Promise<ExecutionStatus>>();
  /** The worker this process runs as; null in a process that runs no jobs. */
  workerId: string | null = null;
  /** Ends of runs that come together, written together; true for each run this call ended. */
  private readonly finishes = new Batcher<ExecutionEnd, boolean>(async (ends) => {
    const moved = new Set(await this.store.finishExecutions(ends, this.options.maxOutputLines));
    return ends.map((e) => moved.has(e.id));
  });

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {}

  /** Takes the engine's rows of every handler of the catalog. */
  defineAll() {
    this.engine.define(this.catalog.names(), (leases) => this.runMany(leases));
  }

  get runningCount() {
    return this.active.size;
  }

  /** Seconds a new run of this job may take. */
  timeoutFor(job: Pick<JobRecord, 'timeout' | 'handler'>): number {
    return job.timeout ?? this.catalog.get(job.handler)?.timeout ?? this.options.defaultTimeout;
  }

  /**
   * Runs a batch of locked rows: schedule rows fire their jobs, run rows start their queued
   * runs. The reads and writes that start the runs are made for the whole batch together;
   * each returned promise settles when its run is recorded as ended. A rejection means the
   * store failed before the run could be recorded.
   */
  runMany(leases: Lease[]): Array<Promise<void>> {
    const fires = leases.filter((l) => 'job_id' in l.data);
    const queued = leases.filter((l) => 'execution_id' in l.data);
    const firing = fires.length ? this.fireMany(fires) : Promise.resolve(new Map<Lease, ExecutionRecord>());
    const starting = queued.length ? this.startQueued(queued) : Promise.resolve(new Map<Lease, ExecutionRecord>());
    // Each lease waits for its own half only, and a failure there is reported per lease.
    firing.catch(() => undefined);
    starting.catch(() => undefined);
    return leases.map(async (lease) => {
      const started = await ('job_id' in lease.data ? firing : starting);
      const execution = started.get(lease);
      if (execution) await this.execute(execution, lease);
    });
  }

  /** Fires the jobs of schedule rows; resolves with the runs to execute here. */
  private async fireMany(leases: Lease[]): Promise<Map<Lease, ExecutionRecord>> {
    const jobIds = leases.map((l) => (l.data as { job_id: string }).job_id);
    const fetched = await this.store.getJobsWithActiveRuns(jobIds);
    const jobs = new Map(fetched.map((f) => [f.job.job_id, f.job]));
    const active = new Map(fetched.map((f) => [f.job.job_id, f.active]));
    const now = new Date();

    const toRun = new Map<Lease, ExecutionRecord>();
    const inserts: ExecutionRecord[] = [];
    const enqueues: ExecutionRecord[] = [];
    const jobUpdates: Array<{ job_id: string; patch: JobPatch }> = [];
    const touches: Lease[] = [];
    for (const lease of leases) {
      const job = jobs.get((lease.data as { job_id: string }).job_id);
      const runs = job ? (active.get(job.job_id) ?? []) : [];
      const plan = planFire(job, runs, now);
      // A deleted or paused job: the row is left with no next run and goes. A fire consumed
      // already (a row whose lock expired after its worker died) keeps the job's next run.
      if (plan.action === 'none' || !job) {
        if (plan.action === 'none' && plan.rowNextRunAt) lease.nextRunAt = plan.rowNextRunAt;
        continue;
      }
      const { dueAt, next } = plan;
      // The row keeps the next fire, stored with its lock before anything else, so the job
      // keeps its schedule even if this process dies.
      lease.nextRunAt = next;
      if (next) touches.push(lease);
      const patch: JobPatch = { next_run_at: next };
      jobUpdates.push({ job_id: job.job_id, patch });

      const base = this.newExecution(job, { trigger: 'schedule', scheduled_at: dueAt, created_at: now });
      if (plan.action === 'missed') {
        inserts.push(this.missed(base, plan.reason));
        patch.last_status = 'missed';
        continue;
      }
      if (plan.cancel.length > 0) await this.cancelMany(plan.cancel, 'replaced');
      if (plan.inline) {
        // The common one-shot case runs on the row locked for it: one row, one run.
        const execution: ExecutionRecord = { ...base, status: 'running', started_at: now, worker_id: this.workerId };
        inserts.push(execution);
        toRun.set(lease, execution);
        patch.last_run_at = now;
        patch.last_status = 'running';
        continue;
      }
      // Periodic fires queue their run on a row of its own, so the schedule row is free to
      // fire again (and the policy can see this run) while it runs.
      inserts.push(base);
      enqueues.push(base);
    }
    await Promise.all(touches.map((l) => l.touch()));
    await Promise.all([this.store.updateJobs(jobUpdates), this.store.insertExecutions(inserts)]);
    await this.engine.enqueueRuns(enqueues.map((e) => ({ handler: e.handler, executionId: e.id, at: now })));
    return toRun;
  }

  private missed(execution: ExecutionRecord, reason: string): ExecutionRecord {
    this.log.info({ job_id: execution.job_id, due: execution.scheduled_at, reason }, 'run missed');
    this.options.observer?.onRunFinished(execution, 'missed', null);
    return { ...execution, status: 'missed', finished_at: execution.created_at, error: reason };
  }

  /** Starts the queued runs of run rows; resolves with those this worker moved to running. */
  private async startQueued(leases: Lease[]): Promise<Map<Lease, ExecutionRecord>> {
    const ids = leases.map((l) => (l.data as { execution_id: string }).execution_id);
    const queued = new Map((await this.store.getExecutions(ids)).filter((e) => e.status === 'queued').map((e) => [e.id, e]));
    // A replacing run waits, up to the cancel grace, for the runs it cancelled to end.
    const ofJobs = [...queued.values()].filter((e) => e.job_id && e.trigger !== 'flow');
    const stopping = async () =>
      new Set((await this.store.activeExecutionsOf([...new Set(ofJobs.map((e) => e.job_id!))])).filter((e) => e.status === 'running' && e.cancel_requested_at).map((e) => e.job_id!));
    if (ofJobs.length) {
      const deadline = Date.now() + this.options.cancelGrace;
      for (let waiting = await stopping(); waiting.size > 0 && Date.now() <= deadline; waiting = await stopping()) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const now = new Date();
    const patch = { status: 'running' as const, started_at: now, worker_id: this.workerId };
    // Only the worker that moves a run from queued to running executes it.
    const moved = new Set(await this.store.transitionExecutions('queued', [...queued.keys()].map((id) => ({ id, patch }))));
    const toRun = new Map<Lease, ExecutionRecord>();
    const jobUpdates: Array<{ job_id: string; patch: JobPatch }> = [];
    leases.forEach((lease, i) => {
      const e = queued.get(ids[i]);
      if (!e || !moved.has(e.id)) return;
      toRun.set(lease, { ...e, ...patch });
      if (e.job_id && e.trigger !== 'flow') jobUpdates.push({ job_id: e.job_id, patch: { last_run_at: now, last_status: 'running' } });
    });
    await this.store.updateJobs(jobUpdates);
    return toRun;
  }

  /** Runs the handler of a stored `running` execution and records how it ended. */
  private async execute(execution: ExecutionRecord, lease: Lease): Promise<ExecutionStatus> {
    const p = this.executeAndRecord(execution, lease);
    this.inFlight.add(p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async executeAndRecord(execution: ExecutionRecord, lease: Lease): Promise<ExecutionStatus> {
    const handler = this.catalog.get(execution.handler);
    const started = execution.started_at ?? new Date();
    const output: string[] = [];
    const flush = async () => {
      const lines = output.splice(0, output.length);
      await this.store.appendOutput(execution.id, lines, this.options.maxOutputLines);
    };
    const controller = new AbortController();
    const signal = controller.signal;
    // Keeps the Agenda lock alive under long runs (so no other worker starts this row
    // again) and writes buffered output as the run goes.
    const heartbeat = setInterval(() => {
      lease.touch().catch(() => undefined);
      flush().catch(() => undefined);
    }, Math.max(250, Math.floor(this.engine.lockLifetime / 3)));
    heartbeat.unref();
    const timeout = execution.timeout;
    const timer = timeout ? setTimeout(() => controller.abort('timeout' satisfies StopReason), timeout * 1000) : undefined;
    timer?.unref();

    this.log.info({ execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, attempt: execution.attempt }, 'run started');
    this.options.observer?.onRunStarted(execution);
    const handlerDone = (async () => {
      if (!handler) throw new Error(`no handler named '${execution.handler}' is loaded in this worker`);
      await runHandler(handler, execution, this.context(execution, signal, output));
    })().then(
      () => ({ error: null as Error | null, abortedFirst: signal.aborted }),
      (err: unknown) => ({ error: err instanceof Error ? err : new Error(String(err)), abortedFirst: signal.aborted }),
    );
    this.active.set(execution.id, { controller });
    // Once the signal fires the handler gets the cancel grace to return; then the run is
    // recorded without it (the worker stops waiting).
    let graceTimer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<null>((resolve) => {
      const onAbort = () => {
        graceTimer = setTimeout(() => resolve(null), this.options.cancelGrace);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const outcome = await Promise.race([handlerDone, abandoned]);
    clearInterval(heartbeat);
    clearTimeout(timer);
    clearTimeout(graceTimer);
    this.active.delete(execution.id);
    // The handler is done: its place may go to the next run while this one's end is written.
    lease.release?.();

    let status: ExecutionStatus;
    let error: string | null = null;
    let stack: string | null = null;
    if (outcome === null || outcome.abortedFirst) {
      const reason = (signal.reason as StopReason) in stopOutcome ? (signal.reason as StopReason) : 'cancel';
      status = stopOutcome[reason].status;
      error = stopOutcome[reason].error(timeout);
      if (outcome === null) error += `; the handler did not return within ${this.options.cancelGrace} ms`;
      output.push(`[${status}] ${error}`);
    } else if (outcome.error) {
      status = 'failed';
      error = outcome.error.message;
      stack = outcome.error.stack ?? null;
      output.push(`[error] ${outcome.error.message}`);
    } else {
      status = 'succeeded';
    }
    const finished = new Date();
    const recorded = await this.finishes.add({
      id: execution.id,
      status,
      finished_at: finished,
      duration_ms: finished.getTime() - started.getTime(),
      error,
      stack,
      progress: status === 'succeeded' ? 100 : null,
      output: output.splice(0, output.length),
      job_id: execution.job_id && execution.trigger !== 'flow' ? execution.job_id : null,
    });
    // Not recorded: the run was settled meanwhile (its worker was taken for gone); that
    // settlement logged and counted it, and did the rest.
    if (!recorded) {
      this.log.warn({ execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, status }, 'run ended after it was settled as lost; its end is not recorded');
      return status;
    }
    this.log.info(
      { execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, status, duration_ms: finished.getTime() - started.getTime(), error },
      'run finished',
    );
    this.options.observer?.onRunFinished(execution, status, finished.getTime() - started.getTime());
    await this.afterRun({ ...execution, status, error, stack, finished_at: finished });
    return status;
  }

  /** What follows a failed final status (the job's last status is written with it): a failure record, a retry. */
  private async afterRun(execution: ExecutionRecord) {
    const { status } = execution;
    if (!failedStatuses.includes(status)) return;
    const job = execution.job_id ? await this.store.getJob(execution.job_id) : null;
    await this.store.insertFailure({
      id: execution.id,
      execution_id: execution.id,
      failed_job_id: execution.job_id,
      handler: execution.handler,
      kwargs: execution.kwargs,
      error: execution.error ?? status,
      traceback: execution.stack,
      time: execution.finished_at ?? new Date(),
    });
    if (job && execution.trigger !== 'flow' && execution.attempt <= job.retries) {
      const delay = job.retry_backoff * 1000 * 2 ** (execution.attempt - 1);
      const at = new Date(Date.now() + delay);
      const retry: ExecutionRecord = {
        ...this.newExecution(job, { trigger: execution.trigger, scheduled_at: at, created_at: new Date() }),
        kwargs: execution.kwargs,
        attempt: execution.attempt + 1,
        batch_id: execution.batch_id,
        parent_id: execution.parent_id,
        selection: execution.selection,
      };
      await this.store.insertExecution(retry);
      await this.engine.enqueueRun(job.handler, retry.id, at);
      this.log.info({ job_id: job.job_id, execution_id: retry.id, attempt: retry.attempt, at }, 'retry queued');
    }
  }

  /** A new execution record of a job, queued, with the job's kwargs and timeout. */
  newExecution(job: JobRecord, fields: Pick<ExecutionRecord, 'trigger' | 'scheduled_at' | 'created_at'> & Partial<ExecutionRecord>): ExecutionRecord {
    return {
      ...blankExecution(),
      job_id: job.job_id,
      handler: job.handler,
      kwargs: job.kwargs,
      timeout: this.timeoutFor(job),
      ...fields,
    };
  }

  /** Stores queued runs and gives each an Agenda run row. */
  async enqueue(executions: ExecutionRecord[]) {
    if (executions.length === 0) return;
    await this.store.insertExecutions(executions);
    await this.engine.enqueueRuns(executions.map((e) => ({ handler: e.handler, executionId: e.id, at: e.scheduled_at })));
  }

  /**
   * Cancels runs: queued ones at once, running ones by firing their signal (here, or through
   * the store for the worker that runs them). Returns the runs cancelled at once.
   */
  async cancelMany(runs: ExecutionRecord[], reason: StopReason): Promise<string[]> {
    const now = new Date();
    const cancelled: string[] = [];
    for (const run of runs) {
      if (run.status === 'queued') {
        const error = stopOutcome[reason].error(null);
        if (await this.store.transitionExecution(run.id, 'queued', { status: 'cancelled', finished_at: now, error })) {
          cancelled.push(run.id);
          await this.engine.removeRun(run.id);
          if (run.job_id && run.trigger !== 'flow') await this.store.updateJob(run.job_id, { last_status: 'cancelled' });
          // A run that never started ends here: logged and counted like any other end.
          this.log.info({ execution_id: run.id, job_id: run.job_id, handler: run.handler, status: 'cancelled', error }, 'run finished');
          this.options.observer?.onRunFinished(run, 'cancelled', null);
          continue;
        }
      }
      if (!this.stopLocal(run.id, reason)) await this.store.requestCancel(run.id, now);
    }
    return cancelled;
  }

  /** Fires the signal of a run this process is running; false when it runs no such run. */
  stopLocal(executionId: string, reason: StopReason): boolean {
    const run = this.active.get(executionId);
    if (!run) return false;
    if (!run.controller.signal.aborted) run.controller.abort(reason);
    return true;
  }

  /**
   * Settles the runs of workers that stopped heartbeating: each becomes lost (only the
   * process whose update moves it does the rest), leaves a failure record and is retried
   * per its job's rules.
   */
  async settleLost() {
    const runs = await this.store.runningOnGoneWorkers();
    const now = new Date();
    for (const run of runs) {
      const error = `lost: worker ${run.worker_id} stopped heartbeating while the run was running`;
      if (await this.store.transitionExecution(run.id, 'running', { status: 'lost', finished_at: now, error, duration_ms: run.started_at ? now.getTime() - run.started_at.getTime() : null })) {
        this.log.warn({ execution_id: run.id, job_id: run.job_id, worker_id: run.worker_id }, 'run lost');
        if (run.job_id && run.trigger !== 'flow') await this.store.updateJob(run.job_id, { last_status: 'lost' });
        this.options.observer?.onRunFinished(run, 'lost', null);
        await this.afterRun({ ...run, status: 'lost', error, finished_at: now });
      }
    }
    return runs.length;
  }

  /**
   * Shutdown: lets running runs finish for up to `graceMs`, then fires their signals and
   * waits the cancel grace for them to be recorded as cancelled.
   */
  async drain(graceMs: number) {
    // Waits for runs to be recorded, not only for their handlers to return: the store is
    // closed right after.
    const settled = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        Promise.allSettled([...this.inFlight]).then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
      ]).finally(() => clearTimeout(timer));
    };
    if (await settled(graceMs)) return;
    for (const id of [...this.active.keys()]) this.stopLocal(id, 'shutdown');
    await settled(this.options.cancelGrace + 5000);
  }

  private context(execution: ExecutionRecord, signal: AbortSignal, output: string[]): HandlerContext {
    const line = (level: string) => (message: string) => {
      output.push(`${new Date().toISOString()} ${level} ${message}`);
    };
    const log: RunLogger = { info: line('info'), warn: line('warn'), error: line('error') };
    return {
      executionId: execution.id,
      jobId: execution.job_id,
      signal,
      log,
      progress: async (percent: number) => {
        const p = Math.max(0, Math.min(100, percent));
        await this.store.updateExecution(execution.id, { progress: p });
      },
      startChild: (handler, kwargs, selection) => this.startChild(execution, handler, kwargs, selection ?? null),
      records: {
        deleteExecutionsBefore: (before) => this.store.deleteExecutionsBefore(before),
        deleteFailuresBefore: (before) => this.store.deleteFailuresBefore(before),
      },
    };
  }

  private async startChild(parent: ExecutionRecord, handler: string, kwargs: Kwargs, selection: StepSelection | null) {
    if (!this.catalog.has(handler)) throw new Error(`no handler named '${handler}'`);
    const now = new Date();
    const child: ExecutionRecord = {
      ...blankExecution(),
      job_id: parent.job_id,
      handler,
      kwargs,
      trigger: 'flow',
      parent_id: parent.id,
      selection,
      timeout: this.catalog.get(handler)?.timeout ?? this.options.defaultTimeout,
      scheduled_at: now,
      created_at: now,
    };
    await this.store.insertExecution(child);
    await this.engine.enqueueRun(handler, child.id, now);
    return child.id;
  }
}

/** Runs a handler's `execute`, or its selected steps in order with their start and end in the output. */
async function runHandler(handler: Handler, execution: ExecutionRecord, context: HandlerContext) {
  if (!handler.steps?.length) {
    await handler.execute!(execution.kwargs, context);
    return;
  }
  const steps = selectSteps(handler.steps, execution.selection);
  if (steps.length === 0) {
    context.log.warn(`no step of ${handler.name} matches ${JSON.stringify(execution.selection?.task_names)}`);
    return;
  }
  let done = 0;
  for (const step of steps) {
    if (context.signal.aborted) throw new Error(`stopped before step ${step.name}`);
    context.log.info(`step ${step.name} started`);
    const t0 = Date.now();
    await step.run(execution.kwargs, context);
    done += 1;
    context.log.info(`step ${step.name} finished in ${Date.now() - t0} ms`);
    await context.progress(Math.round((done / steps.length) * 100));
  }
}

export function blankExecution(): ExecutionRecord {
  const now = new Date();
  return {
    id: randomUUID(),
    job_id: null,
    handler: '',
    kwargs: {},
    status: 'queued',
    trigger: 'schedule',
    parent_id: null,
    batch_id: null,
    selection: null,
    attempt: 1,
    timeout: null,
    worker_id: null,
    cancel_requested_at: null,
    scheduled_at: now,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    progress: null,
    error: null,
    stack: null,
    output: [],
    output_truncated: false,
    created_at: now,
  };
}
