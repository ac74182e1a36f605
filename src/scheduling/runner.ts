import { randomUUID } from 'node:crypto';
import type { Job } from 'agenda';
import type { Catalog } from '../catalog.js';
import type { EngineData, Engine } from '../engine/agenda.js';
import type { HandlerContext, Handler, RunLogger } from '../handlers/types.js';
import type { Logger } from '../log.js';
import type { ExecutionRecord, ExecutionStatus, JobRecord, Kwargs, StepSelection, Store } from '../store/types.js';
import { nextFireAfter, type Recurrence } from './timespec.js';

export interface RunnerOptions {
  /** Lines of output kept per run; older lines are dropped and the run marked truncated. */
  maxOutputLines: number;
}

export function recurrenceOf(job: Pick<JobRecord, 'interval_seconds' | 'cron' | 'timezone'>): Recurrence {
  if (job.interval_seconds !== null) return { kind: 'interval', seconds: job.interval_seconds };
  if (job.cron !== null) return { kind: 'cron', expr: job.cron, timezone: job.timezone ?? 'UTC' };
  return { kind: 'once' };
}

/** Steps of a handler that a selection asks for, in the handler's order. */
export function selectSteps<T extends { name: string }>(steps: readonly T[], selection: StepSelection | null): T[] {
  if (!selection) return [...steps];
  const names = new Set(selection.task_names);
  if (!selection.run_subsequent) return steps.filter((s) => names.has(s.name));
  const first = steps.findIndex((s) => names.has(s.name));
  return first < 0 ? [] : steps.slice(first);
}

/**
 * The run wrapper: turns an Agenda run into an execution record. A schedule row fires its
 * job (applying the misfire grace and computing the next fire); a run row starts one queued
 * execution. Handler errors end the run as `failed`; they never reach Agenda, whose failure
 * counting would otherwise decide the fate of recurring jobs.
 */
export class Runner {
  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {}

  /** Registers one Agenda definition per handler of the catalog. */
  defineAll() {
    for (const name of this.catalog.names()) {
      this.engine.define(name, (job) => this.dispatch(job));
    }
  }

  private async dispatch(agendaJob: Job<EngineData>) {
    const data = agendaJob.attrs.data;
    try {
      if ('execution_id' in data) await this.runQueued(agendaJob, data.execution_id);
      else await this.fire(agendaJob, data.job_id);
    } catch (err) {
      // A store failure mid-run: log it; the run record, if any, keeps its last state.
      this.log.error({ err, data }, 'run wrapper failed');
    }
  }

  private async fire(agendaJob: Job<EngineData>, jobId: string) {
    const job = await this.store.getJob(jobId);
    if (!job) {
      // The job was deleted after Agenda locked its row: drop the orphan row.
      await this.engine.removeJob(jobId);
      return;
    }
    if (job.state === 'paused') return;
    const now = new Date();
    const due = job.next_run_at ?? now;
    const next = nextFireAfter(recurrenceOf(job), due, now);
    // Agenda computed no next run (the row is one-shot to it); give it ours and persist it
    // with the lock refresh, so the job keeps its schedule even if this process dies.
    agendaJob.attrs.nextRunAt = next;
    await agendaJob.touch();

    const lateMs = now.getTime() - due.getTime();
    const base = {
      job_id: job.job_id,
      handler: job.handler,
      kwargs: job.kwargs,
      trigger: 'schedule' as const,
      parent_id: null,
      selection: null,
      scheduled_at: due,
      created_at: now,
    };
    if (job.misfire_grace_time !== null && lateMs > job.misfire_grace_time * 1000) {
      await this.store.insertExecution({
        ...blankExecution(),
        ...base,
        status: 'missed',
        finished_at: now,
        error: `missed: due at ${due.toISOString()}, ${Math.round(lateMs / 1000)} s late, beyond the misfire grace time of ${job.misfire_grace_time} s`,
      });
      await this.store.updateJob(job.job_id, { next_run_at: next, last_status: 'missed' });
      this.log.info({ job_id: job.job_id, due, late_ms: lateMs }, 'run missed');
      return;
    }
    const execution: ExecutionRecord = { ...blankExecution(), ...base, status: 'running', started_at: now };
    await this.store.insertExecution(execution);
    await this.store.updateJob(job.job_id, { next_run_at: next, last_run_at: now, last_status: 'running' });
    const status = await this.execute(execution, agendaJob);
    await this.store.updateJob(job.job_id, { last_status: status });
  }

  private async runQueued(agendaJob: Job<EngineData>, executionId: string) {
    const now = new Date();
    // Only the worker that moves the run from queued to running executes it.
    if (!(await this.store.transitionExecution(executionId, 'queued', { status: 'running', started_at: now }))) return;
    const execution = await this.store.getExecution(executionId);
    if (!execution) return;
    const status = await this.execute(execution, agendaJob);
    if (execution.job_id && execution.trigger !== 'flow') {
      await this.store.updateJob(execution.job_id, { last_run_at: now, last_status: status });
    }
  }

  /** Runs the handler of a stored `running` execution and records how it ended. */
  private async execute(execution: ExecutionRecord, agendaJob: Job<EngineData>): Promise<ExecutionStatus> {
    const handler = this.catalog.get(execution.handler);
    const started = execution.started_at ?? new Date();
    const output: string[] = [];
    const flush = async () => {
      const lines = output.splice(0, output.length);
      await this.store.appendOutput(execution.id, lines, this.options.maxOutputLines);
    };
    const controller = new AbortController();
    // Keeps the Agenda lock alive under long runs (so no other worker starts this row
    // again) and writes buffered output as the run goes.
    const heartbeat = setInterval(() => {
      agendaJob.touch().catch(() => undefined);
      flush().catch(() => undefined);
    }, Math.max(250, Math.floor(this.engine.lockLifetime / 3)));
    heartbeat.unref();

    let status: ExecutionStatus = 'succeeded';
    let error: string | null = null;
    let stack: string | null = null;
    try {
      if (!handler) throw new Error(`no handler named '${execution.handler}' is loaded in this worker`);
      const context = this.context(execution, controller.signal, output);
      this.log.info({ execution_id: execution.id, job_id: execution.job_id, handler: execution.handler }, 'run started');
      await runHandler(handler, execution, context);
    } catch (err) {
      status = 'failed';
      const e = err instanceof Error ? err : new Error(String(err));
      error = e.message;
      stack = e.stack ?? null;
      output.push(`[error] ${e.message}`);
    } finally {
      clearInterval(heartbeat);
    }
    const finished = new Date();
    await flush();
    await this.store.updateExecution(execution.id, {
      status,
      finished_at: finished,
      duration_ms: finished.getTime() - started.getTime(),
      error,
      stack,
      ...(status === 'succeeded' ? { progress: 100 } : {}),
    });
    if (status === 'failed') {
      await this.store.insertFailure({
        id: execution.id,
        execution_id: execution.id,
        failed_job_id: execution.job_id,
        handler: execution.handler,
        kwargs: execution.kwargs,
        error: error ?? 'failed',
        traceback: stack,
        time: finished,
      });
    }
    this.log.info(
      { execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, status, duration_ms: finished.getTime() - started.getTime(), error },
      'run finished',
    );
    return status;
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
      status: 'queued',
      trigger: 'flow',
      parent_id: parent.id,
      selection,
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
  return {
    id: randomUUID(),
    job_id: null,
    handler: '',
    kwargs: {},
    status: 'queued',
    trigger: 'schedule',
    parent_id: null,
    selection: null,
    scheduled_at: new Date(),
    started_at: null,
    finished_at: null,
    duration_ms: null,
    progress: null,
    error: null,
    stack: null,
    output: [],
    output_truncated: false,
    created_at: new Date(),
  };
}
