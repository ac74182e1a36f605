import { Agenda, InMemoryNotificationChannel, type AgendaBackend, type Job, type NotificationChannel } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type { Db } from 'mongodb';
import type { SqlClient } from '../store/sql/client.js';

/** What Agenda keeps for one service job (a schedule row) or one queued run (a run row). */
export type EngineData = { job_id: string } | { execution_id: string };

export type RunFn = (job: Job<EngineData>) => Promise<void>;

/**
 * The database Agenda runs on: the store's own, so its rows live beside the service's model.
 * `embedded` is PGlite (one process); `changeStreams` says the MongoDB deployment is a
 * replica set or a sharded cluster, where change streams exist.
 */
export type EngineBackend = { kind: 'sql'; sql: SqlClient; embedded: boolean } | { kind: 'mongo'; db: Db; changeStreams: boolean };

/** How a worker hears of a run that is due now, besides polling every pollInterval. */
export type DispatchMode = 'LISTEN/NOTIFY' | 'in-process channel' | 'change streams' | 'polling';

/** Agenda's collection on MongoDB (its table on PostgreSQL is agenda_jobs too). */
const mongoCollection = 'agenda_jobs';

export interface EngineOptions {
  pollInterval: number;
  lockLifetime: number;
  /** Runs at once per process, across handlers. */
  maxConcurrency: number;
  name: string;
  /** Errors of the engine that no caller awaits (lost connections, failed lock queries). */
  onError: (err: Error, where: string) => void;
}

/**
 * Agenda is the dispatch engine only: it locks and starts due rows. The service keeps the
 * model (jobs, runs) in its own tables; Agenda rows hold just a job_id or an execution_id
 * and the next run time. Every schedule row is one-shot in Agenda's eyes: the run wrapper
 * computes the next fire itself (anchored intervals, cron with zones, misfire grace).
 */
export class Engine {
  private instance?: Agenda;
  private processing = false;

  constructor(
    private readonly backend: EngineBackend,
    private readonly options: EngineOptions,
  ) {}

  get agenda(): Agenda {
    if (!this.instance) throw new Error('the engine is not initialised');
    return this.instance;
  }

  /**
   * Connects Agenda; its backend creates its table (or its collection's index) on connect,
   * so this runs under the boot lock with the service's own schema creation. Resolves with
   * how runs due now are dispatched.
   */
  async init(): Promise<DispatchMode> {
    const options = this.options;
    const { backend, channel, mode } = await this.connection();
    const agenda = new Agenda({
      backend,
      name: options.name,
      processEvery: options.pollInterval,
      maxConcurrency: options.maxConcurrency,
      defaultConcurrency: options.maxConcurrency,
      defaultLockLifetime: options.lockLifetime,
      lockLimit: options.maxConcurrency * 2,
      defaultLockLimit: options.maxConcurrency * 2,
      removeOnComplete: true,
      ...(channel ? { notificationChannel: channel } : {}),
    });
    // Both emit 'error' when the database goes away; an EventEmitter error without a
    // listener would end the process, while Agenda retries on the next poll and the
    // notification channel reconnects by itself.
    agenda.on('error', (err) => options.onError(err, 'agenda'));
    const emitter = (channel ?? backend.notificationChannel) as unknown as { on?: (e: 'error', fn: (err: Error) => void) => void } | undefined;
    emitter?.on?.('error', (err) => options.onError(err, 'notification channel'));
    this.instance = agenda;
    await agenda.ready;
    await this.createIndexes();
    return mode;
  }

  private async connection(): Promise<{ backend: AgendaBackend; channel?: NotificationChannel; mode: DispatchMode }> {
    const b = this.backend;
    if (b.kind === 'mongo') {
      // Loaded only here: the MongoDB driver costs tens of MB that the other stores do not need.
      const { MongoBackend, MongoChangeStreamNotificationChannel } = await import('@agendajs/mongo-backend');
      const backend = new MongoBackend({ mongo: b.db, collection: mongoCollection });
      // Change streams need a replica set (or a sharded cluster); a standalone server polls.
      if (!b.changeStreams) return { backend, mode: 'polling' };
      return { backend, channel: new MongoChangeStreamNotificationChannel({ db: b.db, collection: mongoCollection }), mode: 'change streams' };
    }
    // PGlite has no LISTEN/NOTIFY across processes; the embedded store is one process, so
    // an in-memory channel gives the same immediate dispatch.
    const backend = new PostgresBackend({ pool: b.sql.agendaPool, disableNotifications: b.embedded });
    if (b.embedded) return { backend, channel: new InMemoryNotificationChannel(), mode: 'in-process channel' };
    return { backend, mode: 'LISTEN/NOTIFY' };
  }

  /**
   * One schedule row per service job, enforced by the database, not only by Agenda's
   * check-then-insert (PostgreSQL) or its upsert without a unique index (MongoDB); and an
   * index for the data filters that find a job's row and a run's row.
   */
  private async createIndexes() {
    const b = this.backend;
    if (b.kind === 'mongo') {
      await b.db.collection(mongoCollection).createIndexes([
        {
          name: 'agenda_jobs_service_job_idx',
          key: { 'data.job_id': 1 },
          unique: true,
          partialFilterExpression: { 'data.job_id': { $exists: true } },
        },
        { name: 'agenda_jobs_run_idx', key: { 'data.execution_id': 1 }, partialFilterExpression: { 'data.execution_id': { $exists: true } } },
      ]);
      return;
    }
    await b.sql.exec(`
      CREATE UNIQUE INDEX IF NOT EXISTS agenda_jobs_service_job_idx ON agenda_jobs ((data->>'job_id')) WHERE data ? 'job_id';
      CREATE INDEX IF NOT EXISTS agenda_jobs_data_idx ON agenda_jobs USING gin (data jsonb_path_ops);
    `);
  }

  define(handler: string, run: RunFn) {
    this.agenda.define<EngineData>(handler, run, { lockLifetime: this.options.lockLifetime });
  }

  get lockLifetime() {
    return this.options.lockLifetime;
  }

  async startProcessing() {
    if (this.processing) return;
    this.processing = true;
    await this.agenda.start();
  }

  /** Stops taking new runs; runs in progress go on to their end. */
  async stopProcessing() {
    if (!this.processing) return;
    this.processing = false;
    await this.agenda.stop(false);
  }

  get isProcessing() {
    return this.processing;
  }

  /**
   * Creates or updates the schedule row of a job: due at `nextRunAt`, disabled when the job
   * is paused. A job with no next run has no row.
   */
  async scheduleJob(jobId: string, handler: string, nextRunAt: Date | null, disabled: boolean) {
    if (nextRunAt === null) {
      await this.removeJob(jobId);
      return;
    }
    if (this.backend.kind === 'mongo') {
      // MongoJobRepository saves a unique job with $set of every field, lockedAt: null among
      // them, which would unlock a row a worker is firing right now (PostgreSQL's update
      // leaves the lock alone). An existing row only needs its next run and its state; the
      // save below is for a new row. agenda_jobs_service_job_idx.
      const r = await this.backend.db
        .collection(mongoCollection)
        .updateOne({ name: handler, 'data.job_id': jobId }, { $set: { nextRunAt, disabled } });
      if (r.matchedCount === 1) return;
    }
    const job = this.agenda.create<EngineData>(handler, { job_id: jobId });
    job.unique({ 'data.job_id': jobId });
    job.schedule(nextRunAt);
    if (disabled) job.disable();
    else job.enable();
    await job.save();
  }

  /**
   * A data filter is containment on PostgreSQL (data @> ...) and dotted keys on MongoDB
   * ('data.job_id': ...): either matches the one row, by agenda_jobs_service_job_idx on
   * MongoDB and agenda_jobs_data_idx (GIN) on PostgreSQL.
   */
  async removeJob(jobId: string) {
    await this.agenda.cancel({ data: { job_id: jobId } });
  }

  /** Removes the row of a queued run (it was cancelled before it started); agenda_jobs_run_idx on MongoDB. */
  async removeRun(executionId: string) {
    await this.agenda.cancel({ data: { execution_id: executionId } });
  }

  /** Queues one run of a handler for an execution record already stored as `queued`. */
  async enqueueRun(handler: string, executionId: string, at: Date = new Date()) {
    const job = this.agenda.create<EngineData>(handler, { execution_id: executionId });
    job.schedule(at);
    await job.save();
  }

  async close() {
    this.processing = false;
    await this.instance?.stop(false);
  }
}
