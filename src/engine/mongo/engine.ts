import type { AgendaBackend, Job, NotificationChannel } from 'agenda';
import type { Db, Document } from 'mongodb';
import type { ExecutionDoc } from '../../store/mongo/docs.js';
import { AgendaEngine, type KeptScheduleRow } from '../agenda-engine.js';
import { agendaReady, newAgenda } from '../agenda.js';
import { ServiceMongoBackend } from './backend.js';
import {
  NotHeldError,
  type DispatchMode,
  type EngineData,
  type EngineOptions,
  type Lease,
  type RunFn,
  type RunRow,
  type RunWrite,
  type RunWriteStore,
  type ScheduleRow,
} from '../types.js';

/** Agenda's collection (its table on PostgreSQL is agenda_jobs too). */
const collection = 'agenda_jobs';

/**
 * The lease of a row Agenda locked: its Job, whose next run and lock the run wrapper sets and
 * renews. Agenda holds the row until the whole run is recorded; `released` says the handler
 * returned (the row's next run is final by then).
 */
function leaseOf(job: Job<EngineData>): Lease & { released: boolean } {
  return {
    data: job.attrs.data,
    released: false,
    release() {
      this.released = true;
    },
    get nextRunAt() {
      return job.attrs.nextRunAt ?? null;
    },
    set nextRunAt(at: Date | null) {
      job.attrs.nextRunAt = at;
    },
    touch: () => job.touch(),
  };
}

/**
 * The engine on MongoDB: Agenda 6 with its MongoDB backend does it all. Its processor locks
 * due rows one at a time and runs each as a claim of one; it wakes on change streams on a
 * replica set or a sharded cluster, and polls on a standalone server.
 */
export class MongoEngine extends AgendaEngine {
  /** The row and the claimer of each lease Agenda handed over (its lastModifiedBy at the lock). */
  private readonly holds = new WeakMap<Lease, { id: NonNullable<Job['attrs']['_id']>; by: string }>();
  constructor(
    private readonly db: Db,
    private readonly changeStreams: boolean,
    options: EngineOptions,
  ) {
    super(options);
  }

  async init(): Promise<DispatchMode> {
    const { backend, channel, mode } = await this.connection();
    this.instance = newAgenda(backend, this.options, channel);
    await agendaReady(this.instance, this.options.readyTimeoutMs);
    await this.createIndexes();
    return mode;
  }

  private async connection(): Promise<{ backend: AgendaBackend; channel?: NotificationChannel; mode: DispatchMode }> {
    // Loaded only here: the MongoDB driver costs tens of MB that the other stores do not need.
    const { MongoBackend, MongoChangeStreamNotificationChannel } = await import('@agendajs/mongo-backend');
    const { ObjectId } = await import('mongodb');
    const agendas = new MongoBackend({ mongo: this.db, collection });
    const backend = new ServiceMongoBackend(agendas, this.db.collection(collection), ObjectId, this.options.onError);
    // Change streams need a replica set (or a sharded cluster); a standalone server polls.
    if (!this.changeStreams) return { backend, mode: 'polling' };
    return { backend, channel: new MongoChangeStreamNotificationChannel({ db: this.db, collection }), mode: 'change streams' };
  }

  /**
   * One schedule row per service job, enforced by the database, not only by Agenda's upsert
   * without a unique index; and an index for the data filters that find a job's row and a run's row.
   */
  private async createIndexes() {
    await this.db.collection(collection).createIndexes([
      {
        name: 'agenda_jobs_service_job_idx',
        key: { 'data.job_id': 1 },
        unique: true,
        partialFilterExpression: { 'data.job_id': { $exists: true } },
      },
      { name: 'agenda_jobs_run_idx', key: { 'data.execution_id': 1 }, partialFilterExpression: { 'data.execution_id': { $exists: true } } },
    ]);
  }

  /**
   * Agenda's processor runs the rows of each handler, one lease per run. A run the wrapper
   * could not record (the store failed) before its handler returned keeps its row, due again
   * after a poll interval, as on SQL: Agenda, told of no failure, would remove a row left
   * without a next run (a queued run then stays queued, a periodic job stops firing). Agenda
   * writes its name to lastModifiedBy when it locks a row: the name follows the holder (the
   * worker's id).
   */
  define(handlers: string[], run: RunFn, holder?: () => string | null) {
    if (holder) {
      const fallback = this.options.name;
      Object.defineProperty(this.agenda.attrs, 'name', { get: () => holder() ?? fallback, set: () => undefined, configurable: true, enumerable: true });
    }
    for (const handler of handlers) {
      this.agenda.define<EngineData>(
        handler,
        async (job: Job<EngineData>) => {
          const lease = leaseOf(job);
          if (job.attrs._id !== undefined && job.attrs.lastModifiedBy) this.holds.set(lease, { id: job.attrs._id, by: job.attrs.lastModifiedBy });
          try {
            await run([lease])[0];
          } catch (err) {
            this.options.onError(err as Error, 'run');
            if (!lease.released) lease.nextRunAt = new Date(Date.now() + this.options.pollIntervalMs);
          }
        },
        { lockLifetime: this.options.lockLifetimeMs },
      );
    }
  }

  protected async startDispatch() {
    await this.agenda.start();
  }

  protected async stopDispatch() {
    await this.agenda.stop(false);
  }

  protected async writeSchedules(gone: ScheduleRow[], kept: KeptScheduleRow[]) {
    for (const r of gone) await this.removeJob(r.jobId);
    for (const { jobId, handler, nextRunAt, disabled } of kept) {
      // MongoJobRepository saves a unique job with $set of every field, lockedAt: null among
      // them, which would unlock a row a worker is firing right now. An existing row only
      // needs its next run and its state; the save below is for a new row.
      // agenda_jobs_service_job_idx.
      const r = await this.db.collection(collection).updateOne({ name: handler, 'data.job_id': jobId }, { $set: { nextRunAt, disabled } });
      if (r.matchedCount === 1) continue;
      const job = this.agenda.create<EngineData>(handler, { job_id: jobId });
      job.unique({ 'data.job_id': jobId });
      job.schedule(nextRunAt);
      if (disabled) job.disable();
      else job.enable();
      await job.save();
    }
  }

  protected async writeRuns(runs: RunRow[]) {
    for (const r of runs) {
      const job = this.agenda.create<EngineData>(r.handler, { execution_id: r.executionId });
      job.schedule(r.at);
      await job.save();
    }
  }

  /**
   * No multi-document transaction is assumed, so the writes go in an order a crash can only
   * cut into a fire absent or a fire whose queued runs lack run rows (which `undispatched`
   * finds): schedule rows with their next fire, the jobs' next fires (a fire whose job moved
   * on is never fired twice), the run records, then the run rows.
   */
  async recordRuns(write: RunWrite, store: RunWriteStore) {
    // The rows the fires come from, still locked by their claimer: checked before anything is
    // written (a read, then the writes: not atomic as on SQL, but a worker declared gone
    // before its fire is written records nothing).
    const held = (write.held ?? []).map((l) => this.holds.get(l)).filter((h): h is { id: NonNullable<Job['attrs']['_id']>; by: string } => h !== undefined);
    if (held.length) {
      const n = await this.db.collection(collection).countDocuments({ $or: held.map((h) => ({ _id: h.id, lastModifiedBy: h.by, lockedAt: { $ne: null } })) } as Document);
      if (n < held.length) throw new NotHeldError(held.length);
    }
    await Promise.all(write.schedules.map((l) => l.touch()));
    await store.updateJobs(write.jobs.map(({ job_id, version, ...patch }) => ({ job_id, patch, version })));
    await store.insertExecutions(write.executions);
    await this.enqueueRuns(write.runs);
  }

  /** execution_status_idx, then agenda_jobs_run_idx per run, among the oldest `candidates` queued runs. */
  async undispatched(before: Date, limit: number, candidates = 10_000): Promise<string[]> {
    const docs = await this.db
      .collection<ExecutionDoc>('executions')
      .aggregate<{ _id: string }>([
        { $match: { status: 'queued', created_at: { $lt: before } } },
        { $sort: { created_at: 1 } },
        { $limit: candidates },
        { $lookup: { from: collection, localField: '_id', foreignField: 'data.execution_id', as: 'rows' } },
        { $match: { rows: { $size: 0 } } },
        { $limit: limit },
        { $project: { _id: 1 } },
      ])
      .toArray();
    return docs.map((d) => d._id);
  }

  async lockHolders(): Promise<string[]> {
    const holders = await this.db.collection(collection).distinct('lastModifiedBy', { lockedAt: { $ne: null } });
    return holders.filter((h): h is string => typeof h === 'string');
  }

  async releaseLocks(holders: string[]): Promise<number> {
    if (holders.length === 0) return 0;
    const r = await this.db.collection(collection).updateMany({ lockedAt: { $ne: null }, lastModifiedBy: { $in: holders } }, { $set: { lockedAt: null } });
    return r.modifiedCount;
  }

  /** Removes a job's schedule row: agenda_jobs_service_job_idx. */
  async removeJob(jobId: string) {
    await this.agenda.cancel({ data: { job_id: jobId } });
  }

  /** Removes the row of a queued run: agenda_jobs_run_idx. */
  async removeRun(executionId: string) {
    await this.agenda.cancel({ data: { execution_id: executionId } });
  }
}
