import type { Agenda } from 'agenda';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import type { ExecutionDoc, JobDoc } from '../../store/mongo/docs.js';
import { RowEngine, type KeptScheduleRow } from '../row-engine.js';
import { agendaReady, newAgenda } from '../agenda.js';
import { agendaRowRest, MongoDispatcher, type AgendaRow, type Hold, type NoticeChannel } from './dispatcher.js';
import { NotHeldError, type DispatchMode, type EngineOptions, type RunFn, type RunRow, type RunWrite, type RunWriteStore, type ScheduleRow } from '../types.js';

/** Agenda's collection. */
const collection = 'agenda_jobs';

/**
 * The engine on MongoDB. Agenda's MongoDB backend connects, creates Agenda's index
 * (findAndLockNextJobIndex) and removes rows (`cancel`); the rows are Agenda's documents, and
 * the engine claims due rows itself (MongoDispatcher), many in one claim, as SqlEngine does on
 * PostgreSQL. Agenda's processor is not started. On a replica set or a sharded cluster the
 * dispatcher wakes on Agenda's change stream channel; on a standalone server it polls.
 */
export class MongoEngine extends RowEngine {
  /** Set by init before Agenda is ready, so close stops it even when init failed. */
  private instance?: Agenda;
  private readonly handlers = new Set<string>();
  private run?: RunFn;
  private holder: () => string | null = () => null;
  /** Set by init. */
  private dispatcher?: MongoDispatcher;

  constructor(
    private readonly db: Db,
    private readonly changeStreams: boolean,
    options: EngineOptions,
  ) {
    super(options);
  }

  private get rows(): Collection<AgendaRow> {
    return this.db.collection<AgendaRow>(collection);
  }

  private initialised(): MongoDispatcher {
    if (!this.dispatcher) throw new Error('the engine is not initialised');
    return this.dispatcher;
  }

  async init(): Promise<DispatchMode> {
    const options = this.options;
    // Loaded only here: the MongoDB driver costs tens of MB that the other stores do not need.
    const { MongoBackend, MongoChangeStreamNotificationChannel } = await import('@agendajs/mongo-backend');
    this.instance = newAgenda(new MongoBackend({ mongo: this.db, collection }), options);
    await agendaReady(this.instance, options.readyTimeoutMs);
    await this.createIndexes();
    // Change streams need a replica set (or a sharded cluster); a standalone server polls.
    let channel: NoticeChannel | undefined;
    if (this.changeStreams) {
      const stream = new MongoChangeStreamNotificationChannel({ db: this.db, collection });
      // An EventEmitter error without a listener would end the process; the channel reconnects by itself.
      stream.on('error', (err: Error) => options.onError(err, 'notification channel'));
      channel = stream;
    }
    this.dispatcher = new MongoDispatcher(this.rows, (leases) => this.run!(leases), {
      names: () => [...this.handlers],
      maxConcurrency: options.maxConcurrency,
      pollIntervalMs: options.pollIntervalMs,
      lockLifetimeMs: options.lockLifetimeMs,
      holder: () => this.holder() ?? options.name,
      channel,
      onError: options.onError,
      retryMaxMs: Math.max(1000, options.pollIntervalMs),
    });
    return channel ? 'change streams' : 'polling';
  }

  /**
   * One schedule row per service job, enforced by the database, not only by an upsert without
   * a unique index; an index for the data filters that find a run's row; and one of locked rows
   * only (expired locks, lock holders), which Agenda's index serves only by a scan of every row
   * of a handler.
   */
  private async createIndexes() {
    await this.rows.createIndexes([
      {
        name: 'agenda_jobs_service_job_idx',
        key: { 'data.job_id': 1 },
        unique: true,
        partialFilterExpression: { 'data.job_id': { $exists: true } },
      },
      { name: 'agenda_jobs_run_idx', key: { 'data.execution_id': 1 }, partialFilterExpression: { 'data.execution_id': { $exists: true } } },
      { name: 'agenda_jobs_locked_idx', key: { lockedAt: 1 }, partialFilterExpression: { lockedAt: { $type: 'date' } } },
    ]);
  }

  /** The dispatcher claims rows of these handlers once processing starts. */
  define(handlers: string[], run: RunFn, holder?: () => string | null) {
    this.run = run;
    if (holder) this.holder = holder;
    for (const h of handlers) this.handlers.add(h);
  }

  protected async startDispatch() {
    await this.initialised().start();
  }

  protected async stopDispatch() {
    await this.initialised().stop();
  }

  private get agenda(): Agenda {
    if (!this.instance) throw new Error('the engine is not initialised');
    return this.instance;
  }

  protected override async closeDispatch() {
    await this.dispatcher?.close();
  }

  override async close() {
    await super.close();
    await this.instance?.stop(false);
  }

  /**
   * One unordered bulkWrite: a deleteMany of the rows of `gone`, and an upsert per row of
   * `kept` on agenda_jobs_service_job_idx. An existing row gets its handler, next run and state
   * only: a row locked by a fire under way keeps its lock (Agenda's unique save `$set`s
   * `lockedAt: null` among every field). A new row is Agenda's document, its `data` built from
   * the filter's equality on `data.job_id`.
   */
  protected async writeSchedules(gone: ScheduleRow[], kept: KeptScheduleRow[]) {
    const by = this.holder() ?? this.options.name;
    const ops: Array<AnyBulkWriteOperation<AgendaRow>> = [];
    if (gone.length) ops.push({ deleteMany: { filter: { 'data.job_id': { $in: gone.map((r) => r.jobId) } } } });
    for (const { jobId, handler, nextRunAt, disabled } of kept) {
      ops.push({
        updateOne: {
          filter: { 'data.job_id': jobId },
          update: { $set: { name: handler, nextRunAt, disabled }, $setOnInsert: agendaRowRest(by) },
          upsert: true,
        },
      });
    }
    if (ops.length) await this.rows.bulkWrite(ops, { ordered: false });
    this.dueSoon(kept.filter((r) => !r.disabled).map((r) => r.nextRunAt));
  }

  /**
   * Rows written here that fall due within a poll interval are claimed here without waiting
   * for the poll (a standalone server has no change stream; with one, this is only sooner).
   */
  private dueSoon(times: Date[]) {
    let first = Infinity;
    for (const t of times) first = Math.min(first, t.getTime());
    if (first !== Infinity) this.dispatcher?.wake(Math.min(this.options.pollIntervalMs, first - Date.now()));
  }

  /** One insertMany of Agenda's documents (`disabled` null, as Agenda's save of a created job writes it). */
  protected async writeRuns(runs: RunRow[]) {
    const by = this.holder() ?? this.options.name;
    await this.rows.insertMany(
      runs.map((r) => ({ name: r.handler, data: { execution_id: r.executionId }, nextRunAt: r.at, disabled: null, ...agendaRowRest(by) })),
      { ordered: false },
    );
    this.dueSoon(runs.map((r) => r.at));
  }

  /**
   * No multi-document transaction is assumed, so the writes go in an order a crash can only
   * cut into a fire absent or a fire whose queued runs lack run rows (which `undispatched`
   * finds): schedule rows with their next fire, the jobs' next fires (a fire whose job moved
   * on is never fired twice), the run records, then the run rows.
   */
  async recordRuns(write: RunWrite, store: RunWriteStore) {
    const dispatcher = this.dispatcher;
    // The rows the fires come from, still locked by the claim that handed them out: checked
    // before anything is written (a read, then the writes: not atomic as on SQL, but a worker
    // declared gone before its fire is written records nothing). Read on the primary, where
    // the locks were written.
    const held = (write.held ?? []).map((l) => dispatcher?.holdOf(l)).filter((h): h is Hold => h !== undefined);
    if (held.length) {
      const found = await this.rows
        .find({ _id: { $in: held.map((h) => h.id) }, lockedAt: { $ne: null } }, { projection: { _id: 1, claimToken: 1 }, readPreference: 'primary' })
        .toArray();
      const tokens = new Map(found.map((d) => [String(d._id), d.claimToken]));
      if (held.some((h) => tokens.get(String(h.id)) !== h.token)) throw new NotHeldError(held.length);
    }
    if (dispatcher && write.schedules.length) await dispatcher.touchMany(write.schedules);
    await store.updateJobs(write.jobs.map(({ job_id, version, fired, ...patch }) => ({ job_id, patch, version, fired })));
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

  /** A slice of the jobs' _id_, their rows looked up by agenda_jobs_service_job_idx. */
  async unscheduled(after: string | null, limit: number, before: Date) {
    const slice = await this.db
      .collection<Pick<JobDoc, '_id' | 'handler' | 'state' | 'next_run_at' | 'updated_at'>>('jobs')
      .find(after === null ? {} : { _id: { $gt: after } }, { projection: { _id: 1, handler: 1, state: 1, next_run_at: 1, updated_at: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const candidates = slice.filter((j) => j.state === 'running' && j.next_run_at != null && j.updated_at < before);
    return { ids: await this.outOfStep(candidates), last: slice.length === limit ? slice[slice.length - 1]._id : null };
  }

  /**
   * The jobs read again, then their rows written (writeSchedules): no multi-document
   * transaction is assumed, so a change landing between the read and the write can be
   * overwritten by the older read, until the next sweep.
   */
  async repairSchedules(jobIds: string[], before: Date) {
    if (jobIds.length === 0) return [];
    const jobs = await this.db
      .collection<Pick<JobDoc, '_id' | 'handler' | 'next_run_at'>>('jobs')
      .find({ _id: { $in: jobIds }, state: 'running', next_run_at: { $ne: null }, updated_at: { $lt: before } }, { projection: { _id: 1, handler: 1, next_run_at: 1 } })
      .toArray();
    const ids = new Set(await this.outOfStep(jobs));
    const kept = jobs.filter((j) => ids.has(j._id)).map((j) => ({ jobId: j._id, handler: j.handler, nextRunAt: j.next_run_at!, disabled: false }));
    await this.writeSchedules([], kept);
    return kept.map((k) => k.jobId);
  }

  /** Those of these jobs whose row is missing, or unlocked and disabled or at another time or handler than the job's. */
  private async outOfStep(jobs: Array<Pick<JobDoc, '_id' | 'handler' | 'next_run_at'>>): Promise<string[]> {
    if (jobs.length === 0) return [];
    const rows = await this.rows.find({ 'data.job_id': { $in: jobs.map((j) => j._id) } }, { projection: { data: 1, name: 1, nextRunAt: 1, disabled: 1, lockedAt: 1 } }).toArray();
    const byJob = new Map(rows.flatMap((r) => ('job_id' in r.data ? [[r.data.job_id, r] as const] : [])));
    return jobs
      .filter((j) => {
        const row = byJob.get(j._id);
        if (!row) return true;
        return row.lockedAt == null && (row.disabled === true || row.name !== j.handler || row.nextRunAt?.getTime() !== j.next_run_at?.getTime());
      })
      .map((j) => j._id);
  }

  /** agenda_jobs_locked_idx: only locked rows. */
  async lockHolders(): Promise<string[]> {
    const holders = await this.rows.distinct('lastModifiedBy', { lockedAt: { $type: 'date' } });
    return holders.filter((h): h is string => typeof h === 'string');
  }

  async releaseLocks(holders: string[]): Promise<number> {
    if (holders.length === 0) return 0;
    const r = await this.rows.updateMany({ lockedAt: { $type: 'date' }, lastModifiedBy: { $in: holders } }, { $set: { lockedAt: null } });
    // Rows due now are claimed at once here; other workers hear of them on the change stream or at their next poll.
    if (r.modifiedCount) this.dispatcher?.wake(0);
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
