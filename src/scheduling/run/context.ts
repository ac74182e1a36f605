import type { Handler, HandlerContext, RunLogger } from '../../handlers/types.js';
import type { ExecutionRecord, Kwargs, StepSelection } from '../../store/types.js';
import type { Catalog } from '../catalog.js';
import type { RunDeps } from './deps.js';
import { blankExecution } from './blank-execution.js';
import { fenceOf } from './fence.js';

/** Steps of a handler that a selection asks for, in the handler's order. */
export function selectSteps<T extends { name: string }>(steps: readonly T[], selection: StepSelection | null): T[] {
  if (!selection) return [...steps];
  const names = new Set(selection.task_names);
  if (!selection.run_subsequent) return steps.filter((s) => names.has(s.name));
  const first = steps.findIndex((s) => names.has(s.name));
  return first < 0 ? [] : steps.slice(first);
}

export type OutputLevel = 'info' | 'warn' | 'error';

/**
 * Text a handler produced, as the stores can keep it: NUL and lone surrogates (which PostgreSQL's
 * text and jsonb refuse, so the run's end could never be written) become U+FFFD.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A line of a run's output, as the handler's logger and the wrapper write it: time, level, message. */
export function outputLine(level: OutputLevel, message: string): string {
  return `${new Date().toISOString()} ${level} ${storableText(message)}`;
}

/**
 * What a handler gets besides its kwargs: its ids, the idempotency key and fencing token, the
 * signal, a logger into `output`, progress, child runs. Progress is written only while the run
 * is still this worker's (see RunFence); once refused, the run stops.
 */
export function handlerContext(
  deps: RunDeps,
  catalog: Catalog,
  execution: ExecutionRecord,
  signal: AbortSignal,
  output: string[],
  onLine?: (chars: number) => void,
): HandlerContext {
  const line = (level: OutputLevel) => (message: string) => {
    output.push(outputLine(level, message));
    onLine?.(message.length);
  };
  const log: RunLogger = { info: line('info'), warn: line('warn'), error: line('error') };
  let children = 0;
  const maxChildren = deps.options.maxFlowRuns ?? Infinity;
  return {
    executionId: execution.id,
    jobId: execution.job_id,
    idempotencyKey: execution.idempotency_key,
    fencingToken: execution.fencing_token ?? 0,
    signal,
    log,
    progress: async (percent: number) => {
      const p = Math.max(0, Math.min(100, percent));
      if (signal.reason === 'fenced') return;
      if (!(await fenceOf(deps).progress(execution, p))) deps.active.get(execution.id)?.controller.abort('fenced');
    },
    startChild: (handler, kwargs, selection) => {
      // Declared children are counted before a job is stored or run; this holds for any handler.
      if (children >= maxChildren) return Promise.reject(new Error(`a run may start at most ${maxChildren} child runs (JOBS_MAX_FLOW_RUNS)`));
      children += 1;
      return startChild(deps, catalog, execution, handler, kwargs, selection ?? null);
    },
    records: {
      deleteExecutionsBefore: (before) => deps.store.deleteExecutionsBefore(before),
      deleteFailuresBefore: (before) => deps.store.deleteFailuresBefore(before),
    },
  };
}

/** Queues a child run of a flow: its own record and run row, under the parent's job. */
async function startChild(deps: RunDeps, catalog: Catalog, parent: ExecutionRecord, handler: string, kwargs: Kwargs, selection: StepSelection | null) {
  if (!catalog.has(handler)) throw new Error(`no handler named '${handler}'`);
  const now = new Date();
  const child: ExecutionRecord = {
    ...blankExecution(),
    job_id: parent.job_id,
    handler,
    kwargs,
    trigger: 'flow',
    parent_id: parent.id,
    selection,
    timeout: catalog.get(handler)?.timeout ?? deps.options.defaultTimeoutSeconds,
    scheduled_at: now,
    created_at: now,
  };
  await deps.rows.queue([child]);
  return child.id;
}

/** Runs a handler's `execute`, or its selected steps in order with their start and end in the output. */
export async function runHandler(handler: Handler, execution: ExecutionRecord, context: HandlerContext) {
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
