import type { Logger } from '../../observability/log.js';
import type { Engine } from '../../engine/index.js';
import {
  finalStatuses,
  RunEndsError,
  type EventInput,
  type ExecutionPatch,
  type ExecutionRecord,
  type ExecutionStatus,
  type JobRecord,
  type RunEventType,
  type Store,
} from '../../store/types.js';

/** Writes waiting for the event log beyond which new ones are dropped (the database is away). */
const maxPendingWrites = 10_000;

/**
 * Writes this process's changes to the event log, in the order they happened, after the write
 * they describe and without holding it up: a failed event write is logged, never the change's
 * failure. The event log is what every process's streams read (hub.ts).
 */
export class EventPublisher {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private dropped = 0;
  /** Called after each write: this process's reader need not wait for its poll (MongoDB has no notifications). */
  onWritten: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Resolves once the events are written or given up; callers need not wait. */
  runs(type: RunEventType, ids: string[]): Promise<void> {
    return ids.length ? this.enqueue(() => this.store.appendRunEvents(type, ids)) : Promise.resolve();
  }

  events(events: EventInput[]): Promise<void> {
    return events.length ? this.enqueue(() => this.store.appendEvents(events)) : Promise.resolve();
  }

  /** Resolves once every event published so far is written (or given up). */
  flushed(): Promise<void> {
    return this.tail;
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    if (this.pending >= maxPendingWrites) {
      if (this.dropped++ === 0) this.log.warn({ pending: this.pending }, 'events not written: too many waiting for the database; streams miss them');
      return Promise.resolve();
    }
    this.pending++;
    this.tail = this.tail.then(async () => {
      try {
        await write();
        this.dropped = 0;
        this.onWritten?.();
      } catch (err) {
        this.log.warn({ err }, 'event not written; streams miss it');
      } finally {
        this.pending--;
      }
    });
    return this.tail;
  }
}

const runEvent = (type: EventInput['type'], e: ExecutionRecord): EventInput => ({
  type,
  job_id: e.job_id,
  execution_id: e.id,
  batch_id: e.batch_id,
  handler: e.handler,
  status: e.status,
  progress: e.progress,
  state: null,
});

/** created, then started or ended when the run was stored so (a one-shot fire, a missed run). */
export function runsStored(executions: ExecutionRecord[]): EventInput[] {
  const out: EventInput[] = [];
  for (const e of executions) {
    out.push(runEvent('execution.created', e));
    if (e.status === 'running') out.push(runEvent('execution.started', e));
    else if (finalStatuses.includes(e.status)) out.push(runEvent('execution.ended', e));
  }
  return out;
}

const jobEvent = (type: EventInput['type'], j: Pick<JobRecord, 'job_id' | 'handler' | 'state'>): EventInput => ({
  type,
  job_id: j.job_id,
  execution_id: null,
  batch_id: null,
  handler: j.handler,
  status: null,
  progress: null,
  state: j.state,
});

const statusEvent = (status: ExecutionStatus | undefined): RunEventType | null =>
  status === 'running' ? 'execution.started' : status && finalStatuses.includes(status) ? 'execution.ended' : null;

// What dispatch writes of a job on every fire and end; a change of these alone is no job.updated.
const bookkeeping = new Set(['next_run_at', 'last_run_at', 'last_status', 'updated_at']);

/**
 * The store, publishing an event after each write that changes a run, a job or the service's
 * state. Every process writes through it, so the log holds the changes of all of them.
 */
export function publishingStore(store: Store, publisher: EventPublisher): Store {
  const wrapped: Partial<Store> = {
    // A run's creation is in the log before the write returns, so before any process can
    // start it: its created event comes before its started one.
    insertExecution: async (e) => {
      await store.insertExecution(e);
      await publisher.events(runsStored([e]));
    },
    insertExecutions: async (es) => {
      await store.insertExecutions(es);
      await publisher.events(runsStored(es));
    },
    transitionExecution: async (id, from, patch) => {
      const moved = await store.transitionExecution(id, from, patch);
      const type = statusEvent(patch.status);
      if (moved && type) void publisher.runs(type, [id]);
      return moved;
    },
    transitionExecutions: async (from, moves) => {
      const moved = await store.transitionExecutions(from, moves);
      const ids = new Set(moved);
      for (const type of ['execution.started', 'execution.ended'] as const) {
        void publisher.runs(
          type,
          moves.filter((m) => ids.has(m.id) && statusEvent(m.patch.status) === type).map((m) => m.id),
        );
      }
      return moved;
    },
    updateExecution: async (id, patch: ExecutionPatch) => {
      await store.updateExecution(id, patch);
      const type = statusEvent(patch.status) ?? (patch.progress !== undefined ? 'execution.progress' : null);
      if (type) void publisher.runs(type, [id]);
    },
    finishExecutions: async (ends, maxLines, maxBytes) => {
      try {
        const ended = await store.finishExecutions(ends, maxLines, maxBytes);
        if (!store.writesEndEvents) void publisher.runs('execution.ended', ended);
        return ended;
      } catch (err) {
        if (err instanceof RunEndsError && !store.writesEndEvents) void publisher.runs('execution.ended', err.ended);
        throw err;
      }
    },
    appendOutput: async (id, lines, maxLines, maxBytes) => {
      await store.appendOutput(id, lines, maxLines, maxBytes);
      void publisher.runs('output', [id]);
    },
    appendRunOutput: async (workerId, token, id, lines, maxLines, maxBytes) => {
      const ok = await store.appendRunOutput(workerId, token, id, lines, maxLines, maxBytes);
      if (ok) void publisher.runs('output', [id]);
      return ok;
    },
    writeRunProgress: async (workerId, token, id, progress) => {
      const ok = await store.writeRunProgress(workerId, token, id, progress);
      if (ok) void publisher.runs('execution.progress', [id]);
      return ok;
    },
    insertJobs: async (jobs) => {
      const ids = await store.insertJobs(jobs);
      const inserted = new Set(ids);
      void publisher.events(jobs.filter((j) => inserted.delete(j.job_id)).map((j) => jobEvent('job.created', j)));
      return ids;
    },
    upsertJob: async (job) => {
      const stored = await store.upsertJob(job);
      void publisher.events([jobEvent(stored.created_at.getTime() === stored.updated_at.getTime() ? 'job.created' : 'job.updated', stored)]);
      return stored;
    },
    upsertJobs: async (jobs) => {
      await store.upsertJobs(jobs);
      void publisher.events(jobs.map((j) => jobEvent(j.created_at.getTime() === j.updated_at.getTime() ? 'job.created' : 'job.updated', j)));
    },
    updateJob: async (jobId, patch) => {
      const job = await store.updateJob(jobId, patch);
      if (job) {
        if (patch.state !== undefined) void publisher.events([jobEvent(job.state === 'paused' ? 'job.paused' : 'job.resumed', job)]);
        else if (Object.keys(patch).some((k) => !bookkeeping.has(k))) void publisher.events([jobEvent('job.updated', job)]);
      }
      return job;
    },
    updateJobAtVersion: async (jobId, version, patch) => {
      const job = await store.updateJobAtVersion(jobId, version, patch);
      if (job) {
        // A change may pause or resume the job as well: say both.
        if (patch.state !== undefined && patch.state !== null) void publisher.events([jobEvent(job.state === 'paused' ? 'job.paused' : 'job.resumed', job)]);
        void publisher.events([jobEvent('job.updated', job)]);
      }
      return job;
    },
    countRunEnd: async (jobId, failed) => {
      const counted = await store.countRunEnd(jobId, failed);
      // The failure that pauses a job (pause_after_failures) pauses it in this same write.
      if (counted && counted.state_before === 'running' && counted.job.state === 'paused') void publisher.events([jobEvent('job.paused', counted.job)]);
      return counted;
    },
    deleteJob: async (jobId) => {
      const job = await store.getJob(jobId);
      const deleted = await store.deleteJob(jobId);
      if (deleted)
        void publisher.events([{ ...jobEvent('job.deleted', { job_id: jobId, handler: job?.handler ?? '', state: 'paused' }), handler: job?.handler ?? null, state: null }]);
      return deleted;
    },
    setServiceState: async (state, by) => {
      await store.setServiceState(state, by);
      void publisher.events([
        { type: state === 'paused' ? 'service.paused' : 'service.resumed', job_id: null, execution_id: null, batch_id: null, handler: null, status: null, progress: null, state },
      ]);
    },
  };
  // A method assigned on the wrapper (a test standing in for one) replaces the wrapper's, as on
  // a plain object, and leaves the store underneath untouched.
  const assigned = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (typeof prop === 'string' && prop in wrapped) return wrapped[prop as keyof Store];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set(_target, prop, value) {
      assigned.set(prop, value);
      return true;
    },
  });
}

/** The engine, publishing the runs each fire stores and the jobs each create stores (on SQL written by the engine itself). */
export function publishingEngine(engine: Engine, rawStore: Store, publisher: EventPublisher): Engine {
  const recordRuns: Engine['recordRuns'] = async (write) => {
    // An engine that writes the events with the runs saves a write, and a round trip before
    // the runs start.
    if (engine.writesEvents) return engine.recordRuns({ ...write, events: runsStored(write.executions) }, rawStore);
    const recorded = await engine.recordRuns(write, rawStore);
    await publisher.events(runsStored(write.executions));
    return recorded;
  };
  const createJobs: Engine['createJobs'] = async (write) => {
    const events = write.jobs.map((j) => jobEvent('job.created', j));
    if (engine.writesEvents) return engine.createJobs({ ...write, events }, rawStore);
    const ids = await engine.createJobs(write, rawStore);
    const stored = new Set(ids);
    void publisher.events(events.filter((e) => stored.delete(e.job_id!)));
    return ids;
  };
  const assigned = new Map<PropertyKey, unknown>();
  return new Proxy(engine, {
    set(_target, prop, value) {
      assigned.set(prop, value);
      return true;
    },
    get(target, prop, receiver) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (prop === 'recordRuns') return recordRuns;
      if (prop === 'createJobs') return createJobs;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
