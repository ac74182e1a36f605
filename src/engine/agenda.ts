import { Agenda, type AgendaBackend, type Job, type NotificationChannel } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type { Db } from 'mongodb';
import type { SqlClient } from '../db/sql-client.js';
import type { EngineData, Lease } from './lease.js';
import { SqlDispatcher } from './sql/dispatcher.js';

export type { EngineData, Lease } from './lease.js';
/** Runs a batch of locked rows; one promise per lease, settled when its run is recorded. */
export type RunFn = (leases: Lease[]) => Array<Promise<void>>;

/**
 * The database Agenda runs on: the store's own, so its rows live beside the service's model.
 * `embedded` is PGlite (one process); `changeStreams` says the MongoDB deployment is a
 * replica set or a sharded cluster, where change streams exist.
 */
export type EngineBackend = { kind: 'sql'; sql: SqlClient; embedded: boolean } | { kind: 'mongo'; db: Db; changeStreams: boolean };

/** How a worker hears of a run that is due now, besides polling every pollInterval. */
export type DispatchMode = 'LISTEN/NOTIFY' | 'change streams' | 'polling';

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
  private readonly handlers = new Set<string>();
  private run?: RunFn;
  private dispatcher?: SqlDispatcher;
  /** The NOTIFY channel of this deployment's rows: one per schema, so deployments sharing a database do not wake each other. */
  private channel = 'jobs_service_due';

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
    const b = this.backend;
    if (b.kind === 'sql') {
      const schema = (await b.sql.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
      this.channel = `jobs_service_due_${schema}`.slice(0, 63);
      this.dispatcher = new SqlDispatcher(b.sql, (leases) => this.run!(leases), {
        names: () => [...this.handlers],
        maxConcurrency: options.maxConcurrency,
        pollInterval: options.pollInterval,
        lockLifetime: options.lockLifetime,
        workerName: options.name,
        channel: this.channel,
        onError: options.onError,
      });
    }
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
    // On SQL the engine claims rows itself (SqlDispatcher) and wakes on its own NOTIFY;
    // Agenda's processor and its channel stay off. PGlite delivers NOTIFY within its process.
    const backend = new PostgresBackend({ pool: b.sql.agendaPool, disableNotifications: true });
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
      CREATE INDEX IF NOT EXISTS agenda_jobs_run_idx ON agenda_jobs ((data->>'execution_id')) WHERE data ? 'execution_id';
      -- Earlier versions found rows by containment through a GIN index on all of data, which
      -- every insert paid for; the two expression indexes above serve every lookup.
      DROP INDEX IF EXISTS agenda_jobs_data_idx;
    `);
  }

  /** Takes rows of these handlers, each batch through `run`. */
  define(handlers: string[], run: RunFn) {
    this.run = run;
    for (const h of handlers) this.handlers.add(h);
    if (this.backend.kind !== 'mongo') return;
    // Agenda's processor runs MongoDB rows one at a time; its Job is the lease.
    for (const handler of handlers) {
      this.agenda.define<EngineData>(
        handler,
        (job: Job<EngineData>) =>
          run([
            {
              data: job.attrs.data,
              get nextRunAt() {
                return job.attrs.nextRunAt ?? null;
              },
              set nextRunAt(at: Date | null) {
                job.attrs.nextRunAt = at;
              },
              touch: () => job.touch(),
            },
          ])[0].catch((err) => this.options.onError(err as Error, 'run')),
        { lockLifetime: this.options.lockLifetime },
      );
    }
  }

  get lockLifetime() {
    return this.options.lockLifetime;
  }

  async startProcessing() {
    if (this.processing) return;
    this.processing = true;
    if (this.dispatcher) await this.dispatcher.start();
    else await this.agenda.start();
  }

  /** Stops taking new runs; runs in progress go on to their end. */
  async stopProcessing() {
    if (!this.processing) return;
    this.processing = false;
    if (this.dispatcher) await this.dispatcher.stop();
    else await this.agenda.stop(false);
  }

  get isProcessing() {
    return this.processing;
  }

  /**
   * Creates or updates the schedule row of a job: due at `nextRunAt`, disabled when the job
   * is paused. A job with no next run has no row.
   */
  async scheduleJob(jobId: string, handler: string, nextRunAt: Date | null, disabled: boolean) {
    await this.scheduleJobs([{ jobId, handler, nextRunAt, disabled }]);
  }

  /** scheduleJob for many jobs: on SQL one statement for all of them. */
  async scheduleJobs(rows: Array<{ jobId: string; handler: string; nextRunAt: Date | null; disabled: boolean }>) {
    const b = this.backend;
    // One row per job, the last word winning (an upsert cannot touch a row twice).
    rows = [...new Map(rows.map((r) => [r.jobId, r])).values()];
    const gone = rows.filter((r) => r.nextRunAt === null);
    const kept = rows.filter((r) => r.nextRunAt !== null);
    if (b.kind === 'sql') {
      if (gone.length) {
        await b.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'job_id' AND data->>'job_id' = ANY($1::text[])`, [gone.map((r) => r.jobId)]);
      }
      if (kept.length === 0) return;
      // Agenda's unique save looks the row up by a parameterised JSON path, which no index
      // serves; this upsert goes straight to agenda_jobs_service_job_idx. A row locked by a
      // fire under way keeps its lock.
      await b.sql.query(
        `WITH up AS (
           INSERT INTO agenda_jobs (name, next_run_at, data, disabled, type, priority)
           SELECT v.name, v.at, jsonb_build_object('job_id', v.job_id), v.disabled, 'normal', 0
             FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[]) AS v(job_id, name, at, disabled)
           ON CONFLICT ((data->>'job_id')) WHERE data ? 'job_id'
           DO UPDATE SET name = EXCLUDED.name, next_run_at = EXCLUDED.next_run_at, disabled = EXCLUDED.disabled
           RETURNING next_run_at, disabled
         )
         ${this.notifyWhenDue('up')}`,
        [kept.map((r) => r.jobId), kept.map((r) => r.handler), kept.map((r) => r.nextRunAt), kept.map((r) => r.disabled), this.soon()],
      );
      return;
    }
    for (const r of gone) await this.removeJob(r.jobId);
    for (const { jobId, handler, nextRunAt, disabled } of kept) {
      // MongoJobRepository saves a unique job with $set of every field, lockedAt: null among
      // them, which would unlock a row a worker is firing right now. An existing row only
      // needs its next run and its state; the save below is for a new row.
      // agenda_jobs_service_job_idx.
      const r = await b.db.collection(mongoCollection).updateOne({ name: handler, 'data.job_id': jobId }, { $set: { nextRunAt, disabled } });
      if (r.matchedCount === 1) continue;
      const job = this.agenda.create<EngineData>(handler, { job_id: jobId });
      job.unique({ 'data.job_id': jobId });
      job.schedule(nextRunAt!);
      if (disabled) job.disable();
      else job.enable();
      await job.save();
    }
  }

  /** Rows due before this are announced at once; later ones are found by the poll. */
  private soon() {
    return new Date(Date.now() + this.options.pollInterval);
  }

  /** A SELECT after a CTE `name` of written rows that sends one NOTIFY when any is due soon ($5). */
  private notifyWhenDue(name: string, soonParam = '$5') {
    return `SELECT pg_notify('${this.channel}', '') FROM (SELECT 1 FROM ${name} WHERE NOT ${name}.disabled AND ${name}.next_run_at <= ${soonParam} LIMIT 1) due`;
  }

  /** Removes a job's schedule row: agenda_jobs_service_job_idx. */
  async removeJob(jobId: string) {
    const b = this.backend;
    if (b.kind === 'sql') {
      await b.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'job_id' AND data->>'job_id' = $1`, [jobId]);
      return;
    }
    await this.agenda.cancel({ data: { job_id: jobId } });
  }

  /** Removes the row of a queued run (it was cancelled before it started): agenda_jobs_run_idx. */
  async removeRun(executionId: string) {
    const b = this.backend;
    if (b.kind === 'sql') {
      await b.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'execution_id' AND data->>'execution_id' = $1`, [executionId]);
      return;
    }
    await this.agenda.cancel({ data: { execution_id: executionId } });
  }

  /** Queues one run of a handler for an execution record already stored as `queued`. */
  async enqueueRun(handler: string, executionId: string, at: Date = new Date()) {
    await this.enqueueRuns([{ handler, executionId, at }]);
  }

  /** enqueueRun for many runs: on SQL one statement for all of them. */
  async enqueueRuns(runs: Array<{ handler: string; executionId: string; at: Date }>) {
    if (runs.length === 0) return;
    const b = this.backend;
    if (b.kind === 'sql') {
      await b.sql.query(
        `WITH ins AS (
           INSERT INTO agenda_jobs (name, next_run_at, data, disabled, type, priority)
           SELECT v.name, v.at, jsonb_build_object('execution_id', v.id), FALSE, 'normal', 0
             FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(id, name, at)
           RETURNING next_run_at, disabled
         )
         ${this.notifyWhenDue('ins', '$4')}`,
        [runs.map((r) => r.executionId), runs.map((r) => r.handler), runs.map((r) => r.at), this.soon()],
      );
      return;
    }
    for (const r of runs) {
      const job = this.agenda.create<EngineData>(r.handler, { execution_id: r.executionId });
      job.schedule(r.at);
      await job.save();
    }
  }

  async close() {
    this.processing = false;
    await this.dispatcher?.close();
    await this.instance?.stop(false);
  }
}
