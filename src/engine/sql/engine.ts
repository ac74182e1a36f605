import type { SqlClient } from '../../db/sql-client.js';
import { executionToRow } from '../../store/sql/rows.js';
import { insertJobsSql } from '../../store/sql/jobs.js';
import { firstOfEachId } from '../../store/types.js';
import { afterLocks, insertRowsSql } from '../../store/sql/statements.js';
import { wroteRows } from '../../store/sql/analyze.js';
import { refusedByServer } from '../../db/errors.js';
import { announceWhen, eventChannelOf, eventColumns, eventsCte, notifyEvents } from '../../store/sql/events.js';
import { SqlExecutionStore } from '../../store/sql/executions.js';
import { auditToRow } from '../../store/sql/audit.js';
import type { ExecutionEnd } from '../../store/types.js';
import { RowEngine, type KeptScheduleRow } from '../row-engine.js';
import {
  JobsChangedError,
  NotHeldError,
  type DispatchMode,
  type JobsCreate,
  type EngineOptions,
  type RecordedRuns,
  type RunFn,
  type RunRow,
  type RunWrite,
  type ScheduleRow,
} from '../types.js';
import { SqlDispatcher } from './dispatcher.js';

/**
 * Inserts run rows, given as three array parameters (run ids, handlers, due times), and returns
 * what notifyWhenDue reads. A run has one row (dispatch_run_idx): one written meanwhile (two
 * workers' sweeps giving the same queued run its row) stays as it is.
 */
const insertRunRows = (ids: string, handlers: string, ats: string) => `INSERT INTO dispatch (handler, execution_id, next_run_at)
    SELECT v.name, v.id, v.at FROM unnest(${ids}::text[], ${handlers}::text[], ${ats}::timestamptz[]) AS v(id, name, at)
    ON CONFLICT (execution_id) WHERE execution_id IS NOT NULL DO NOTHING
    RETURNING next_run_at, disabled`;

/**
 * The worker's registration, while live, locked FOR SHARE until the statement's transaction
 * ends: a declaration that it is gone committed meanwhile is seen (the row is read again at
 * its newest version), and one still to come waits until the runs written here are visible
 * to the settlement of its runs. A plain read would see only the statement's snapshot.
 */
const liveRegistration = (workerId: string, token: string) => `SELECT 1 FROM worker w WHERE w.id = ${workerId} AND w.token = ${token} AND w.state <> 'gone' FOR SHARE`;

/** The answer of a fire: the fencing tokens drawn, whether events were written, the run rows due soon. */
interface FireAnswer {
  tokens: Array<[string, number | string]> | null;
  announced?: number | string;
  n: number | string;
}

/**
 * The engine on PostgreSQL and PGlite: the service's own `dispatch` table (migration 000026),
 * written by the engine's statements and claimed by SqlDispatcher, which wakes on the
 * engine's own NOTIFY. Agenda is not used on these stores. PGlite delivers NOTIFY within its
 * process.
 */
export class SqlEngine extends RowEngine {
  private readonly handlers = new Set<string>();
  private run?: RunFn;
  private holder: () => string | null = () => null;
  /** Set by init. */
  private dispatcher?: SqlDispatcher;
  /** The NOTIFY channel of this deployment's rows: one per schema, so deployments sharing a database do not wake each other. */
  private channel = 'jobs_service_due';
  /** The NOTIFY channel of this schema's event log (store/sql/events.ts). */
  private eventChannel = eventChannelOf('public');
  /** Fires and creates write their events in their own statement. */
  readonly writesEvents = true;
  /** Creates write their calls' audit records in their own statement. */
  readonly writesAudits = true;

  /** The run records' statements, for finishRuns. */
  private readonly executions: SqlExecutionStore;

  constructor(
    private readonly sql: SqlClient,
    options: EngineOptions,
  ) {
    super(options);
    this.executions = new SqlExecutionStore(sql);
  }

  private initialised(): SqlDispatcher {
    if (!this.dispatcher) throw new Error('the engine is not initialised');
    return this.dispatcher;
  }

  async init(): Promise<DispatchMode> {
    const options = this.options;
    const schema = (await this.sql.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    this.channel = `jobs_service_due_${schema}`.slice(0, 63);
    this.eventChannel = eventChannelOf(schema);
    this.dispatcher = new SqlDispatcher(this.sql, (leases) => this.run!(leases), {
      names: () => [...this.handlers],
      maxConcurrency: options.maxConcurrency,
      pollIntervalMs: options.pollIntervalMs,
      lockLifetimeMs: options.lockLifetimeMs,
      holder: () => this.holder() ?? options.name,
      channel: this.channel,
      onError: options.onError,
      retryMaxMs: Math.max(1000, options.pollIntervalMs),
      claimAhead: options.claimAhead ?? 0,
      claimEarlyMs: options.claimEarlyMs ?? 0,
      fireLeadMs: options.fireLeadMs ?? 0,
      readJobs: options.claimReadsJobs ?? false,
    });
    return 'LISTEN/NOTIFY';
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

  protected override async closeDispatch() {
    await this.dispatcher?.close();
  }

  /** One statement removes the rows of `gone`, one upserts those of `kept`. */
  protected async writeSchedules(gone: ScheduleRow[], kept: KeptScheduleRow[]) {
    if (gone.length) {
      await this.sql.query('DELETE FROM dispatch WHERE job_id = ANY($1::text[])', [gone.map((r) => r.jobId)]);
    }
    if (kept.length === 0) return;
    // One row per job (dispatch_job_idx). A row locked by a fire under way keeps its lock.
    const r = await this.sql.query(
      `WITH up AS (
         INSERT INTO dispatch (handler, job_id, next_run_at, disabled)
         SELECT v.name, v.job_id, v.at, v.disabled
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[]) AS v(job_id, name, at, disabled)
         ON CONFLICT (job_id) WHERE job_id IS NOT NULL
         DO UPDATE SET handler = EXCLUDED.handler, next_run_at = EXCLUDED.next_run_at, disabled = EXCLUDED.disabled
         RETURNING next_run_at, disabled
       )
       ${this.notifyWhenDue('up')}`,
      [kept.map((r) => r.jobId), kept.map((r) => r.handler), kept.map((r) => r.nextRunAt), kept.map((r) => r.disabled), this.soon()],
    );
    this.announceDue(r.rows.length);
    wroteRows(this.sql, 'dispatch', kept.length);
  }

  /**
   * One statement stores the jobs, the schedule rows of those stored (upserted as
   * writeSchedules does), and their events: a create is whole or absent, and answers after one
   * round trip. With `all`, a job whose id is taken fails the statement (division by zero,
   * 22012), so none is stored.
   */
  override async createJobs(write: JobsCreate): Promise<string[]> {
    const { jobs, all, events, audits } = write;
    const unique = firstOfEachId(jobs);
    if (unique.length === 0) return [];
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v)}`;
    const ins = insertJobsSql(unique, 'job_id, handler, next_run_at, state', 1);
    params.push(...ins.params);
    const parts = [
      `j AS (${ins.text})`,
      `d AS (INSERT INTO dispatch (handler, job_id, next_run_at, disabled)
             SELECT j.handler, j.job_id, j.next_run_at, j.state = 'paused' FROM j WHERE j.next_run_at IS NOT NULL
             ON CONFLICT (job_id) WHERE job_id IS NOT NULL
             DO UPDATE SET handler = EXCLUDED.handler, next_run_at = EXCLUDED.next_run_at, disabled = EXCLUDED.disabled
             RETURNING next_run_at, disabled)`,
    ];
    const guards = ['(SELECT json_agg(j.job_id) FROM j) AS ids'];
    if (all) guards.push(`(SELECT 1 / (CASE WHEN count(*) = ${param(unique.length)}::int THEN 1 ELSE 0 END) FROM j) AS whole`);
    const seen = new Set<string | null>();
    const once = (events ?? []).filter((e) => !seen.has(e.job_id) && (seen.add(e.job_id), true));
    if (once.length) {
      // Events of the jobs stored only: the insert skips a job whose id is taken.
      parts.push(`ev AS (INSERT INTO event (${eventColumns})
                 SELECT ${eventColumns} FROM json_to_recordset(${param(JSON.stringify(once))}::json)
                     AS v(type text, job_id text, execution_id text, batch_id text, handler text, status text, progress real, state text)
                  WHERE v.job_id IN (SELECT job_id FROM j)
                 RETURNING 1)`);
      guards.push(`${notifyEvents('ev', param(this.eventChannel), this.sql.notifiesInline)} AS announced`);
    }
    // The records of the calls whose jobs are stored: not of a job whose id is taken, nor of a
    // second job of one id in this write (its call is refused, and audited as such).
    const firsts = new Set(unique);
    const kept = (audits ?? []).flatMap((record, i) => (record && firsts.has(jobs[i]) ? [{ record, jobId: jobs[i].job_id }] : []));
    if (kept.length) {
      const ids = param(kept.map((a) => a.record.id));
      const of = param(kept.map((a) => a.jobId));
      const au = insertRowsSql(
        'audit',
        kept.map((a) => auditToRow(a.record)),
        `WHERE v.id IN (SELECT k.id FROM unnest(${ids}::text[], ${of}::text[]) AS k(id, job_id) WHERE k.job_id IN (SELECT job_id FROM j))`,
        params.length + 1,
      );
      params.push(...au.params);
      parts.push(`au AS (${au.text})`);
    }
    const due = this.notifyWhenDue('d', param(this.soon()));
    let answer: { ids: string[] | null; announced?: string | number; n: string | number } | undefined;
    try {
      const r = await this.sql.query<NonNullable<typeof answer>>(`WITH ${parts.join(',\n')}\nSELECT ${guards.join(', ')}, (SELECT count(*) FROM (${due}) t) AS n`, params);
      answer = r.rows[0];
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (all && code === '22012') return [];
      // Refused by the server, so nothing was written: the jobs go again without the records,
      // which are then the caller's (a record that cannot be written never fails a create).
      if (kept.length && refusedByServer(err)) return this.createJobs({ jobs, all, events });
      throw err;
    }
    if (kept.length) write.onAudited?.();
    if (Number(answer?.announced ?? 0) > 0) this.sql.announce(this.eventChannel);
    this.announceDue(Number(answer?.n ?? 0));
    const stored = new Set(answer?.ids ?? []);
    wroteRows(this.sql, 'job', stored.size);
    wroteRows(this.sql, 'dispatch', stored.size);
    return jobs.map((j) => j.job_id).filter((id) => stored.delete(id));
  }

  /** One statement inserts every run row (insertRunRows). */
  protected async writeRuns(runs: RunRow[]) {
    const r = await this.sql.query(
      `WITH ins AS (${insertRunRows('$1', '$2', '$3')})
       ${this.notifyWhenDue('ins', '$4')}`,
      [runs.map((r) => r.executionId), runs.map((r) => r.handler), runs.map((r) => r.at), this.soon()],
    );
    this.announceDue(r.rows.length);
    wroteRows(this.sql, 'dispatch', runs.length);
  }

  /** Rows due before this are announced at once; later ones are found by the poll. */
  private soon() {
    return new Date(Date.now() + this.options.pollIntervalMs);
  }

  /**
   * A SELECT after a CTE `name` of written rows, of one row when any is due soon ($5): with
   * its NOTIFY, or without, and `announceDue` sends it after the commit (SqlClient.notifiesInline).
   */
  private notifyWhenDue(name: string, soonParam = '$5') {
    return announceWhen(`SELECT 1 FROM ${name} WHERE NOT ${name}.disabled AND ${name}.next_run_at <= ${soonParam}`, `'${this.channel}'`, this.sql.notifiesInline);
  }

  /** Announces a statement ending in notifyWhenDue, once it committed, when it found rows due soon. */
  private announceDue(found: number) {
    if (found > 0) this.sql.announce(this.channel);
  }

  /**
   * One statement writes it all, so a crash leaves a fire whole or absent: the run records
   * (with the fencing tokens of those that start now, and their events), the run rows of the
   * queued ones (with the NOTIFY when one is due soon), the jobs' next fires and last statuses
   * (locked in job_id order, as every batch that writes job rows does, so two workers'
   * statements cannot deadlock), and the schedule rows' next fires with a fresh lock.
   */
  async recordRuns(write: RunWrite): Promise<RecordedRuns> {
    const { executions, runs, jobs, schedules } = write;
    const tokens = new Map<string, number>();
    const dispatcher = this.initialised();
    const rows = schedules.map((l) => ({ id: dispatcher.rowOf(l), next: l.nextRunAt })).filter((r): r is { id: string; next: Date | null } => r.id !== undefined);
    if (executions.length + runs.length + jobs.length + rows.length === 0) return { tokens };
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v)}`;
    const parts: string[] = [];
    const guards: string[] = [];
    // The rows the fires come from, still locked by their claimer: locked here first (in id
    // order), counted, and the statement fails as a whole (division by zero, 22012) when one
    // is missing, so nothing of the fires is written.
    const held = (write.held ?? [])
      .map((l) => ({ id: dispatcher.rowOf(l), by: dispatcher.holderOf(l), claim: dispatcher.claimOf(l) }))
      .filter((h): h is { id: string; by: string; claim: Date } => h.id !== undefined && h.by !== undefined && h.claim !== undefined);
    if (held.length) {
      const ids = param(held.map((h) => h.id));
      parts.push(
        // The ids are also given as `= ANY`, so a generic plan (the statement is prepared)
        // reaches the rows by key, not through every locked row. The claim's time names the
        // claim itself: a row claimed again since, even by this holder, is not held by it.
        `hl AS (SELECT a.id FROM dispatch a JOIN unnest(${ids}::uuid[], ${param(held.map((h) => h.by))}::text[], ${param(held.map((h) => h.claim))}::timestamptz[]) AS hv(id, by, claim)
                  ON a.id = hv.id AND a.locked_by = hv.by AND a.claimed_at = hv.claim AND a.locked_at IS NOT NULL
                 WHERE a.id = ANY(${ids}::uuid[]) ORDER BY a.id FOR UPDATE OF a),
         hg AS (SELECT 1 / (CASE WHEN count(*) = cardinality(${ids}::uuid[]) THEN 1 ELSE 0 END) AS ok FROM hl)`,
      );
      guards.push('(SELECT ok FROM hg) AS held');
    }
    // Runs that start now draw their fencing tokens here, as a start does (RunFence), and only
    // while the worker's registration is live: the same refusal as a row no longer held.
    const fence = write.fence;
    const starting = fence ? executions.filter((e) => e.status === 'running' && e.worker_id === fence.workerId) : [];
    const computed: Record<string, string> = {};
    if (fence && starting.length) {
      const w = param(fence.workerId);
      parts.push(`wg AS (SELECT 1 / count(*)::int AS ok FROM (${liveRegistration(w, param(fence.token))}) x)`);
      guards.push('(SELECT ok FROM wg) AS live');
      computed.fencing_token = `CASE WHEN v.status = 'running' AND v.worker_id = ${w} THEN nextval('fencing_token_seq') END`;
    }
    if (executions.length) {
      const ins = insertRowsSql(
        'execution',
        executions.map((e) => executionToRow(e)),
        '',
        params.length + 1,
        computed,
      );
      params.push(...ins.params);
      parts.push(`e AS (${ins.text} RETURNING id, fencing_token)`);
      guards.push(`(SELECT json_agg(json_build_array(e.id, e.fencing_token)) FROM e WHERE e.fencing_token IS NOT NULL) AS tokens`);
    }
    if (write.events?.length) {
      parts.push(eventsCte('ev', param(JSON.stringify(write.events))));
      guards.push(`${notifyEvents('ev', param(this.eventChannel), this.sql.notifiesInline)} AS announced`);
    }
    if (jobs.length) {
      const v = param(JSON.stringify(jobs));
      parts.push(
        `jv AS (SELECT * FROM json_to_recordset(${v}::json) AS v(job_id text, next_run_at timestamptz, last_run_at timestamptz, last_status text, version integer, fired timestamptz) LIMIT ${param(jobs.length)}),
         jl AS (SELECT t.job_id, t.xmin::text AS seen FROM job t WHERE t.job_id IN (SELECT job_id FROM jv) ORDER BY t.job_id FOR UPDATE),
         j AS (UPDATE job t SET next_run_at = CASE WHEN jv.version IS NULL OR jv.version = t.version OR t.next_run_at = jv.fired THEN jv.next_run_at ELSE t.next_run_at END, last_run_at = COALESCE(jv.last_run_at, t.last_run_at),
                                last_status = COALESCE(jv.last_status, t.last_status), updated_at = ${param(new Date())}
                 FROM jv WHERE t.job_id = jv.job_id AND ${afterLocks('jl')} RETURNING 1)`,
      );
    }
    // Jobs fired from a read made before their rows waited: each must still be the version read
    // (xmin, as locked by jl: the latest committed version) with no run under way, else the
    // statement fails as a whole (sqrt of -1, 2201F) and nothing is written. Their fires patch
    // them, so they are all in jl.
    const unchanged = write.unchanged ?? [];
    if (unchanged.length) {
      if (!jobs.length) throw new JobsChangedError(unchanged.length);
      const ids = param(unchanged.map((u) => u.job_id));
      // The runs under way are looked up by key (`= ANY`) for all the jobs at once, so a
      // generic plan cannot scan the whole of execution_active (a backlog of queued runs).
      parts.push(
        `ug AS (SELECT sqrt(CASE WHEN count(*) = cardinality(${ids}::text[])
                                  AND NOT EXISTS (SELECT 1 FROM execution_active x WHERE x.job_id = ANY(${ids}::text[])) THEN 1 ELSE -1 END) AS ok
                  FROM unnest(${ids}::text[], ${param(unchanged.map((u) => u.seen))}::text[]) AS u(job_id, seen)
                  JOIN jl ON jl.job_id = u.job_id AND jl.seen = u.seen)`,
      );
      guards.push('(SELECT ok FROM ug) AS unchanged');
    }
    // A row with a next fire keeps it, under a fresh lock; a row without one is left as the
    // claim wrote it (just now) and goes at the run's end.
    const moved = rows.filter((r) => r.next !== null);
    if (moved.length) {
      parts.push(
        `s AS (UPDATE dispatch a SET locked_at = ${param(new Date())}, next_run_at = v.next
                 FROM unnest(${param(moved.map((r) => r.id))}::uuid[], ${param(moved.map((r) => r.next))}::timestamptz[]) AS v(id, next)
                WHERE a.id = v.id RETURNING 1)`,
      );
    }
    let tail = 'SELECT 1 AS done';
    if (runs.length) {
      parts.push(`r AS (${insertRunRows(param(runs.map((r) => r.executionId)), param(runs.map((r) => r.handler)), param(runs.map((r) => r.at)))})`);
      tail = this.notifyWhenDue('r', param(this.soon()));
    }
    // Data-modifying CTEs run to their end whether the final SELECT reads them or not; the
    // guards are read in a select list without FROM, so they are always evaluated.
    let answer: FireAnswer | undefined;
    try {
      const r = await this.sql.query<FireAnswer>(`WITH ${parts.join(',\n')}\nSELECT ${guards.map((g) => `${g}, `).join('')}(SELECT count(*) FROM (${tail}) t) AS n`, params, {
        prepare: true,
      });
      answer = r.rows[0];
    } catch (err) {
      if ((err as { code?: unknown }).code === '22012' && (held.length || starting.length)) throw new NotHeldError(held.length);
      if ((err as { code?: unknown }).code === '2201F' && unchanged.length) throw new JobsChangedError(unchanged.length);
      throw err;
    }
    if (Number(answer?.announced ?? 0) > 0) this.sql.announce(this.eventChannel);
    if (runs.length) this.announceDue(Number(answer?.n ?? 0));
    for (const [id, token] of answer?.tokens ?? []) tokens.set(id, Number(token));
    // Every run record counts, those of fires too: the statements that end runs are prepared,
    // and a plan made while `execution` was small (a seq scan of it joined to the ends) is kept
    // until an ANALYZE invalidates it. PGlite never analyses; left to autovacuum, the 30,000th
    // end of a fresh database read every stored run, each statement of 20 ends.
    wroteRows(this.sql, 'execution', executions.length);
    wroteRows(this.sql, 'dispatch', runs.length);
    return { tokens };
  }

  /**
   * Queued runs without a run row: execution_active (the runs under way only), then
   * dispatch_run_idx per run, among the oldest `candidates` queued runs only, so a large
   * backlog costs a bounded look.
   */
  async undispatched(before: Date, limit: number, candidates = 10_000): Promise<string[]> {
    const r = await this.sql.query<{ id: string }>(
      `SELECT e.id FROM (SELECT id, created_at FROM execution_active WHERE status = 'queued' AND created_at < $1 ORDER BY created_at LIMIT $3) e
        WHERE NOT EXISTS (SELECT 1 FROM dispatch a WHERE a.execution_id = e.id)
        ORDER BY e.created_at LIMIT $2`,
      [before, limit, candidates],
    );
    return r.rows.map((x) => x.id);
  }

  /** A slice of job_pkey, each job's row looked up by dispatch_job_idx (its column has the default collation; job ids are never empty). */
  async unscheduled(after: string | null, limit: number, before: Date) {
    const r = await this.sql.query<{ last: string | null; full: boolean; ids: string[] }>(
      `WITH slice AS (SELECT j.job_id, j.handler, j.state, j.next_run_at, j.updated_at FROM job j WHERE j.job_id > COALESCE($1::text, '') ORDER BY j.job_id LIMIT $2)
       SELECT (SELECT s.job_id FROM slice s ORDER BY s.job_id DESC LIMIT 1) AS last, (SELECT count(*) FROM slice) = $2 AS full,
              ARRAY(SELECT s.job_id FROM slice s
                      LEFT JOIN LATERAL (SELECT a.id, a.disabled, a.locked_at, a.next_run_at, a.handler FROM dispatch a WHERE a.job_id = s.job_id COLLATE "default" LIMIT 1) d ON TRUE
                     WHERE s.state = 'running' AND s.next_run_at IS NOT NULL AND s.updated_at < $3
                       AND (d.id IS NULL OR (d.locked_at IS NULL AND (d.disabled OR d.next_run_at <> s.next_run_at::timestamptz(3) OR d.handler <> s.handler)))
                     ORDER BY s.job_id) AS ids`,
      [after, limit, before],
    );
    const row = r.rows[0];
    return { ids: row.ids, last: row.full ? row.last : null };
  }

  /**
   * One statement looks and writes. The jobs are locked (in job_id order, as every statement
   * that writes jobs locks them) and their rows too, each skipping a row another statement
   * holds, so this never waits on a change, pause or fire under way: what it skips is left to
   * that write, or to the next sweep. A row locked by a claim is left to its fire. A row is
   * then updated, or inserted where the job has none, only where it still differs from its job
   * (times compared to the millisecond the row keeps: a job's time with microseconds would
   * otherwise never match its row).
   */
  async repairSchedules(jobIds: string[], before: Date) {
    if (jobIds.length === 0) return [];
    const r = await this.sql.query<{ job_id: string; n: string }>(
      `WITH jobs AS (
         SELECT j.job_id, j.handler, j.next_run_at FROM job j
          WHERE j.job_id = ANY($1::text[]) AND j.state = 'running' AND j.next_run_at IS NOT NULL AND j.updated_at < $2
          ORDER BY j.job_id FOR NO KEY UPDATE SKIP LOCKED),
       held AS (
         SELECT a.id, a.job_id FROM dispatch a WHERE a.job_id = ANY($1::text[]) ORDER BY a.id FOR NO KEY UPDATE SKIP LOCKED),
       moved AS (
         UPDATE dispatch a SET handler = j.handler, next_run_at = j.next_run_at, disabled = FALSE
           FROM held h JOIN jobs j ON j.job_id = h.job_id COLLATE "default"
          WHERE a.id = h.id AND a.locked_at IS NULL AND (a.disabled OR a.next_run_at <> j.next_run_at::timestamptz(3) OR a.handler <> j.handler)
          RETURNING a.job_id, a.next_run_at, a.disabled),
       added AS (
         INSERT INTO dispatch (handler, job_id, next_run_at, disabled)
         SELECT j.handler, j.job_id, j.next_run_at, FALSE FROM jobs j
          WHERE NOT EXISTS (SELECT 1 FROM dispatch a WHERE a.job_id = j.job_id COLLATE "default")
         ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING
         RETURNING job_id, next_run_at, disabled),
       up AS (SELECT * FROM moved UNION ALL SELECT * FROM added)
       SELECT up.job_id, (SELECT count(*) FROM (${this.notifyWhenDue('up', '$3')}) t) AS n FROM up`,
      [jobIds, before, this.soon()],
    );
    this.announceDue(Number(r.rows[0]?.n ?? 0));
    wroteRows(this.sql, 'dispatch', r.rows.length);
    return r.rows.map((x) => x.job_id);
  }

  /**
   * Reads the table: no index names the lock columns (a claim is then a HOT update), and the
   * table holds only the jobs' next fires and the queued runs.
   */
  async lockHolders(): Promise<string[]> {
    const r = await this.sql.query<{ by: string }>('SELECT DISTINCT locked_by AS by FROM dispatch WHERE locked_at IS NOT NULL AND locked_by IS NOT NULL');
    return r.rows.map((x) => x.by);
  }

  async releaseLocks(holders: string[]): Promise<number> {
    if (holders.length === 0) return 0;
    const r = await this.sql.query<{ n: string; due: boolean | null }>(
      `WITH freed AS (
         UPDATE dispatch SET locked_at = NULL WHERE locked_at IS NOT NULL AND locked_by = ANY($1::text[]) RETURNING next_run_at
       )
       SELECT count(*) AS n, bool_or(next_run_at <= $2) AS due FROM freed`,
      [holders, this.soon()],
    );
    // Rows due now are announced, as a new row is: every worker looks at once.
    if (r.rows[0]?.due) await this.sql.query(`SELECT pg_notify('${this.channel}', '')`, []);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * See Engine.startRuns. The runs are locked in id order, as every batch that writes run rows
   * is, then their jobs in job_id order; a registration no longer live fails the statement as a
   * whole (division by zero, 22012, when a queued run is found), so nothing moves.
   */
  async startRuns(ids: string[], at: Date, fence: { workerId: string; token: number }): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    let r;
    try {
      r = await this.sql.query<{ id: string | null; token: string | null }>(
        `WITH wg AS (
           SELECT 1 / count(*)::int AS ok FROM (${liveRegistration('$2', '$3')}) x
         ), l AS (
           SELECT t.id FROM execution t WHERE t.id = ANY($1::text[]) ORDER BY t.id FOR UPDATE
         ), moved AS (
           UPDATE execution t SET status = 'running', started_at = $4, worker_id = $2, fencing_token = nextval('fencing_token_seq')
            WHERE t.id = ANY($1::text[]) AND t.status = 'queued' AND (SELECT ok FROM wg) = 1 AND ${afterLocks('l')}
           RETURNING t.id, t.job_id, t.trigger, t.batch_id, t.handler, t.progress, t.fencing_token
         ), ev AS (
           INSERT INTO event (${eventColumns})
           SELECT 'execution.started', m.job_id, m.id, m.batch_id, m.handler, 'running', m.progress, NULL FROM moved m
           RETURNING 1
         ), jl AS (
           SELECT j.job_id FROM job j WHERE j.job_id IN (SELECT m.job_id COLLATE "C" FROM moved m WHERE m.trigger <> 'flow') ORDER BY j.job_id FOR UPDATE
         ), jobs AS (
           UPDATE job j SET last_run_at = $4, last_status = 'running', updated_at = $4 WHERE j.job_id = ANY(ARRAY(SELECT job_id FROM jl))
         )
         SELECT m.id, m.fencing_token AS token FROM moved m
         UNION ALL
         SELECT NULL, NULL FROM (${announceWhen('SELECT 1 FROM ev', '$5', this.sql.notifiesInline)}) y`,
        [ids, fence.workerId, fence.token, at, this.eventChannel],
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === '22012') throw new NotHeldError(ids.length);
      throw err;
    }
    // A row without an id: events were written.
    if (r.rows.some((x) => x.id === null)) this.sql.announce(this.eventChannel);
    return new Map(r.rows.flatMap((x) => (x.id === null ? [] : [[x.id, Number(x.token)] as [string, number]])));
  }

  /** See Engine.finishRuns: the ends and the release of their rows, one statement. */
  finishRuns(ends: ExecutionEnd[], maxLines: number, maxBytes: number): Promise<string[]> {
    const dispatcher = this.initialised();
    return this.executions.finishExecutions(ends, maxLines, maxBytes, (batch, first) =>
      dispatcher.releaseCtes(
        batch.map((e) => e.id),
        first,
      ),
    );
  }

  /** Removes a job's schedule row: dispatch_job_idx. */
  async removeJob(jobId: string) {
    await this.sql.query('DELETE FROM dispatch WHERE job_id = $1', [jobId]);
  }

  /** Removes the row of a queued run: dispatch_run_idx. */
  async removeRun(executionId: string) {
    await this.sql.query('DELETE FROM dispatch WHERE execution_id = $1', [executionId]);
  }
}
