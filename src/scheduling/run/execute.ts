import { setTimeout as sleep } from 'node:timers/promises';
import type { Lease } from '../../engine/lease.js';
import type { ExecutionRecord } from '../../store/types.js';
import type { Catalog } from '../catalog.js';
import { handlerContext, runHandler } from './context.js';
import type { RunDeps } from './deps.js';
import { guardedContext, openSecrets, redactedError } from './secrets.js';
import { fenceOf } from './fence.js';
import type { StopReason } from './stop.js';

/** Output characters buffered before they are written without waiting for the heartbeat. */
const FLUSH_CHARS = 256 * 1024;

/** How a handler's part of a run went; null outcome: it did not return within the cancel grace. */
export interface Ran {
  outcome: { error: Error | null; abortedFirst: boolean } | null;
  signal: AbortSignal;
  /** Output lines not yet written. */
  output: string[];
  started: Date;
  /** False: stopped while it waited for its time (Lease.due), its handler never called. */
  began: boolean;
}

/**
 * Runs the handler of a stored `running` execution: its AbortSignal (timeout, cancel,
 * shutdown), the heartbeat that flushes buffered output, and the cancel
 * grace. Resolves once the handler returned or was given up on, with the lease released.
 */
export async function executeHandler(
  deps: RunDeps,
  catalog: Catalog,
  heartbeatMs: number,
  execution: ExecutionRecord,
  lease: Lease,
  /** Its fencing token was drawn when it was stored (RunWrite.fence), just before this start. */
  fenced = false,
  /**
   * Its handler starts no sooner (a fire written ahead, Lease.due). The run counts as under way
   * meanwhile: a cancel, a shutdown or a fence stops the wait, and the handler is not called.
   */
  due?: Date,
): Promise<Ran> {
  const { log, options, store } = deps;
  const handler = catalog.get(execution.handler);
  const started = execution.started_at ?? new Date();
  const output: string[] = [];
  const fence = fenceOf(deps);
  const controller = new AbortController();
  const signal = controller.signal;
  // One write at a time, so lines reach the store in their order; each only while the run is
  // still this worker's (once refused, the run stops).
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    writing = writing
      .catch(() => undefined)
      .then(async () => {
        const lines = output.splice(0, output.length);
        if (lines.length === 0 || signal.reason === 'fenced') return;
        if (!(await fence.output(execution, lines))) controller.abort('fenced' satisfies StopReason);
      });
    return writing;
  };
  // A handler that logs much between heartbeats has its lines written without waiting for one.
  let unwritten = 0;
  const onLine = (chars: number) => {
    unwritten += chars;
    if (unwritten >= FLUSH_CHARS || output.length >= options.maxOutputLines) {
      unwritten = 0;
      flush().catch(() => undefined);
    }
  };
  // Writes buffered output as the run goes. The row's lock is renewed by the engine, for all
  // runs under way in one write (DispatchLoop.renew), so no other worker starts it again.
  const heartbeat = setInterval(() => {
    unwritten = 0;
    flush().catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  const timeout = execution.timeout;
  let timer: NodeJS.Timeout | undefined;

  // Secrets are opened here, in the worker, into a copy of the kwargs only the handler sees;
  // what the run writes (output, error) shows their markers instead.
  let opened: Awaited<ReturnType<typeof openSecrets>> | null = null;
  let began = false;
  const handlerDone = (async () => {
    // A timer can fire a millisecond before the clock reads its time (it counts from the loop's
    // cached clock), so the wait repeats until the clock says the run is due.
    const dueAt = due?.getTime() ?? 0;
    for (let wait = dueAt - Date.now(); wait > 0; wait = dueAt - Date.now()) await sleep(wait, undefined, { signal });
    began = true;
    timer = timeout ? setTimeout(() => controller.abort('timeout' satisfies StopReason), timeout * 1000) : undefined;
    timer?.unref();
    log.info({ execution_id: execution.id, job_id: execution.job_id, handler: execution.handler, attempt: execution.attempt }, 'run started');
    options.observer?.onRunStarted(execution);
    if (!handler) throw new Error(`no handler named '${execution.handler}' is loaded in this worker`);
    // The run's fencing token, drawn as it starts; none: it was taken from this worker
    // (declared gone) between its claim and now, so the handler does not run.
    const token = fenced ? execution.fencing_token : await fence.start(execution);
    if (token === null) {
      controller.abort('fenced' satisfies StopReason);
      deps.fenced();
      throw new Error('not started: its worker was declared gone before the handler could start');
    }
    execution.fencing_token = token;
    opened = await openSecrets(store, options.secretsKeyring ?? null, execution.kwargs);
    const context = guardedContext(handlerContext(deps, catalog, execution, signal, output, onLine), opened);
    await runHandler(handler, { ...execution, kwargs: opened.kwargs }, context);
  })().then(
    () => ({ error: null as Error | null, abortedFirst: signal.aborted }),
    (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      return { error: opened ? redactedError(error, opened.redactor) : error, abortedFirst: signal.aborted };
    },
  );
  deps.active.set(execution.id, { controller });
  // Once the signal fires the handler gets the cancel grace to return; then the run is
  // recorded without it (the worker stops waiting).
  let graceTimer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<null>((resolve) => {
    const onAbort = () => {
      graceTimer = setTimeout(() => resolve(null), options.cancelGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const outcome = await Promise.race([handlerDone, abandoned]);
  clearInterval(heartbeat);
  clearTimeout(timer);
  clearTimeout(graceTimer);
  // The run's last lines are written with its end: after the writes under way.
  await writing.catch(() => undefined);
  deps.active.delete(execution.id);
  // The handler is done: its place may go to the next run while this one's end is written.
  // Its row goes with that end where the engine can write both at once (Engine.finishRuns).
  lease.release?.(execution.id);
  return { outcome, signal, output, started, began };
}
