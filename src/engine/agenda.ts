import { Agenda, InMemoryNotificationChannel, type Job } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type { SqlClient } from '../store/sql/client.js';

/** What Agenda keeps for one service job (a schedule row) or one queued run (a run row). */
export type EngineData = { job_id: string } | { execution_id: string };

export type RunFn = (job: Job<EngineData>) => Promise<void>;

export interface EngineOptions {
  embedded: boolean;
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
    private readonly sql: SqlClient,
    private readonly options: EngineOptions,
  ) {}

  get agenda(): Agenda {
    if (!this.instance) throw new Error('the engine is not initialised');
    return this.instance;
  }

  /**
   * Connects Agenda; its backend creates its table on connect, so this runs under the boot
   * lock with the service's own schema creation.
   */
  async init() {
    const options = this.options;
    const backend = new PostgresBackend({
      pool: this.sql.agendaPool,
      // PGlite has no LISTEN/NOTIFY across processes; the embedded store is one process, so
      // an in-memory channel gives the same immediate dispatch.
      disableNotifications: options.embedded,
    });
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
      ...(options.embedded ? { notificationChannel: new InMemoryNotificationChannel() } : {}),
    });
    // Both emit 'error' when the database goes away; an EventEmitter error without a
    // listener would end the process, while Agenda retries on the next poll and the
    // notification channel reconnects by itself.
    agenda.on('error', (err) => options.onError(err, 'agenda'));
    const channel = backend.notificationChannel as unknown as { on?: (e: 'error', fn: (err: Error) => void) => void } | undefined;
    channel?.on?.('error', (err) => options.onError(err, 'notification channel'));
    this.instance = agenda;
    await agenda.ready;
    // One schedule row per service job, enforced by the database, not only by Agenda's
    // check-then-insert; and an index for the data filter that finds a job's row.
    await this.sql.exec(`
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
    const job = this.agenda.create<EngineData>(handler, { job_id: jobId });
    job.unique({ 'data.job_id': jobId });
    job.schedule(nextRunAt);
    if (disabled) job.disable();
    else job.enable();
    await job.save();
  }

  async removeJob(jobId: string) {
    await this.agenda.cancel({ data: { job_id: jobId } });
  }

  /** Removes the row of a queued run (it was cancelled before it started). */
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
