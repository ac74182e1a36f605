import { PostgresBackend } from '@agendajs/postgres-backend';
import type { SqlClient } from '../../db/sql-client.js';
import { AgendaEngine, type KeptScheduleRow } from '../agenda-engine.js';
import { agendaReady, newAgenda } from '../agenda.js';
import type { DispatchMode, EngineOptions, RunFn, RunRow, ScheduleRow } from '../types.js';
import { SqlDispatcher } from './dispatcher.js';

/**
 * The engine on PostgreSQL and PGlite. Agenda's backend only creates its table
 * (agenda_jobs); the engine writes the rows with its own statements and claims due rows
 * itself (SqlDispatcher), waking on its own NOTIFY. Agenda's processor and its notification
 * channel stay off. PGlite delivers NOTIFY within its process.
 */
export class SqlEngine extends AgendaEngine {
  private readonly handlers = new Set<string>();
  private run?: RunFn;
  /** Set by init. */
  private dispatcher?: SqlDispatcher;
  /** The NOTIFY channel of this deployment's rows: one per schema, so deployments sharing a database do not wake each other. */
  private channel = 'jobs_service_due';

  constructor(
    private readonly sql: SqlClient,
    options: EngineOptions,
  ) {
    super(options);
  }

  private initialised(): SqlDispatcher {
    if (!this.dispatcher) throw new Error('the engine is not initialised');
    return this.dispatcher;
  }

  async init(): Promise<DispatchMode> {
    const options = this.options;
    this.instance = newAgenda(new PostgresBackend({ pool: this.sql.agendaPool, disableNotifications: true }), options);
    await agendaReady(this.instance, options.readyTimeoutMs);
    await this.createIndexes();
    const schema = (await this.sql.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    this.channel = `jobs_service_due_${schema}`.slice(0, 63);
    this.dispatcher = new SqlDispatcher(this.sql, (leases) => this.run!(leases), {
      names: () => [...this.handlers],
      maxConcurrency: options.maxConcurrency,
      pollIntervalMs: options.pollIntervalMs,
      lockLifetimeMs: options.lockLifetimeMs,
      workerName: options.name,
      channel: this.channel,
      onError: options.onError,
    });
    return 'LISTEN/NOTIFY';
  }

  /**
   * One schedule row per service job, enforced by the database, not only by Agenda's
   * check-then-insert; and an index for the data filters that find a job's row and a run's row.
   */
  private async createIndexes() {
    await this.sql.exec(`
      CREATE UNIQUE INDEX IF NOT EXISTS agenda_jobs_service_job_idx ON agenda_jobs ((data->>'job_id')) WHERE data ? 'job_id';
      CREATE INDEX IF NOT EXISTS agenda_jobs_run_idx ON agenda_jobs ((data->>'execution_id')) WHERE data ? 'execution_id';
      -- Earlier versions found rows by containment through a GIN index on all of data, which
      -- every insert paid for; the two expression indexes above serve every lookup.
      DROP INDEX IF EXISTS agenda_jobs_data_idx;
    `);
  }

  /** The dispatcher claims rows of these handlers once processing starts. */
  define(handlers: string[], run: RunFn) {
    this.run = run;
    for (const h of handlers) this.handlers.add(h);
  }

  protected async startDispatch() {
    await this.initialised().start();
  }

  protected async stopDispatch() {
    await this.initialised().stop();
  }

  protected override async closeDispatch() {
    await this.dispatcher?.close();
  }

  /** One statement removes the rows of `gone`, one upserts those of `kept`. */
  protected async writeSchedules(gone: ScheduleRow[], kept: KeptScheduleRow[]) {
    if (gone.length) {
      await this.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'job_id' AND data->>'job_id' = ANY($1::text[])`, [gone.map((r) => r.jobId)]);
    }
    if (kept.length === 0) return;
    // Agenda's unique save looks the row up by a parameterised JSON path, which no index
    // serves; this upsert goes straight to agenda_jobs_service_job_idx. A row locked by a
    // fire under way keeps its lock.
    await this.sql.query(
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
  }

  /** One statement inserts every run row. */
  protected async writeRuns(runs: RunRow[]) {
    await this.sql.query(
      `WITH ins AS (
         INSERT INTO agenda_jobs (name, next_run_at, data, disabled, type, priority)
         SELECT v.name, v.at, jsonb_build_object('execution_id', v.id), FALSE, 'normal', 0
           FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(id, name, at)
         RETURNING next_run_at, disabled
       )
       ${this.notifyWhenDue('ins', '$4')}`,
      [runs.map((r) => r.executionId), runs.map((r) => r.handler), runs.map((r) => r.at), this.soon()],
    );
  }

  /** Rows due before this are announced at once; later ones are found by the poll. */
  private soon() {
    return new Date(Date.now() + this.options.pollIntervalMs);
  }

  /** A SELECT after a CTE `name` of written rows that sends one NOTIFY when any is due soon ($5). */
  private notifyWhenDue(name: string, soonParam = '$5') {
    return `SELECT pg_notify('${this.channel}', '') FROM (SELECT 1 FROM ${name} WHERE NOT ${name}.disabled AND ${name}.next_run_at <= ${soonParam} LIMIT 1) due`;
  }

  /** Removes a job's schedule row: agenda_jobs_service_job_idx. */
  async removeJob(jobId: string) {
    await this.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'job_id' AND data->>'job_id' = $1`, [jobId]);
  }

  /** Removes the row of a queued run: agenda_jobs_run_idx. */
  async removeRun(executionId: string) {
    await this.sql.query(`DELETE FROM agenda_jobs WHERE data ? 'execution_id' AND data->>'execution_id' = $1`, [executionId]);
  }
}
