import type { SqlClient } from '../../db/sql-client.js';
import { batchSummaryOf, type BatchGroup } from '../batch-summary.js';
import { outputTrimmedNote, RunEndsError, type ExecutionStore } from '../executions.js';
import {
  activeStatuses,
  failedStatuses,
  type BatchSummary,
  type ExecutionEnd,
  type ExecutionFilter,
  type ExecutionPatch,
  type ExecutionRecord,
  type ExecutionStatus,
  type JobRecord,
  type JobStats,
  type Page,
} from '../records.js';
import { keysetPage, type Keyset } from './keyset.js';
import { executionListColumns, executionListColumnsOf, executionTimes, executionToRow, jsonDates, rowToExecution, rowToJob, sqlList, type Row } from './rows.js';
import { afterLocks, updateRows, insertRowsSql, insertSql, setSql } from './statements.js';
import { Coalescer } from '../../db/coalescer.js';
import { wroteRows } from './analyze.js';
import { announceWhen, eventChannel, eventColumns } from './events.js';

/**
 * Runs newest first: execution_job_idx, execution_parent_idx, execution_handler_idx,
 * execution_batch_idx or execution_created_idx, each ending in (created_at DESC, id DESC).
 * No index names status (migration 25): a status filter skips the other runs, except for the
 * statuses of runs under way, which execution_active holds.
 */

const executionsNewestFirst: Keyset<ExecutionRecord> = {
  table: 'execution',
  select: executionListColumns,
  columns: ['created_at', 'id'],
  direction: 'DESC',
  shape: ['number', 'string'],
  toItem: rowToExecution,
  keyOf: (e) => [e.created_at.getTime(), e.id],
};

const active = sqlList(activeStatuses);

// execution_active_job_idx, then execution_pkey; without the runs' output, which none of
// their readers (quotas, policies, deadlines, lost runs) shows.
const selectActiveOfJob = `SELECT ${executionListColumnsOf('e')} FROM execution_active a JOIN execution e ON e.id = a.id
   WHERE a.job_id = $1 AND e.status IN (${active}) ORDER BY e.created_at`;
const selectActiveOfJobs = `SELECT ${executionListColumnsOf('e')} FROM execution_active a JOIN execution e ON e.id = a.id
   WHERE a.job_id = ANY($1::text[]) AND e.status IN (${active}) ORDER BY e.created_at`;
const selectExecution = 'SELECT * FROM execution WHERE id = $1';
const selectExecutions = 'SELECT * FROM execution WHERE id = ANY($1::text[])';
/**
 * The (output, output_truncated) of a run after `lines` are appended to `old`: the newest
 * `maxLines` lines, and of those the newest that fit `maxBytes` (UTF-8) after the `note` line,
 * which comes first when older lines went for the bytes. output_truncated records any drop.
 * A correlated subquery, so the old output is read under the row lock of the UPDATE.
 */
export function cappedOutput(old: string, oldTruncated: string, lines: string, maxLines: string, maxBytes: string, note: string): string {
  return `(SELECT CASE WHEN coalesce(sum(x.b), 0) <= ${maxBytes} THEN coalesce(array_agg(x.l ORDER BY x.n), '{}')
                       ELSE ARRAY[${note}] || coalesce(array_agg(x.l ORDER BY x.n) FILTER (WHERE x.fits), '{}') END,
                  ${oldTruncated} OR cardinality(${old}) + cardinality(${lines}) > ${maxLines} OR coalesce(sum(x.b), 0) > ${maxBytes}
             FROM (SELECT u.l, u.n, octet_length(u.l) AS b,
                          sum(octet_length(u.l)) OVER (ORDER BY u.n DESC) <= ${maxBytes} - octet_length(${note}) AS fits
                     FROM unnest((${old} || ${lines})[greatest(1, cardinality(${old}) + cardinality(${lines}) - ${maxLines} + 1):])
                          WITH ORDINALITY AS u(l, n)) x)`;
}
const appendOutputLines = `UPDATE execution t
    SET (output, output_truncated) = ${cappedOutput('t.output', 't.output_truncated', '$2::text[]', '$3::int', '$4::int', '$5::text')},
        output_lines = t.output_lines + cardinality($2::text[])
  WHERE id = $1`;
// One statement for many ends ($1, JSON): the run rows (execution_pkey), their output kept
// to the newest $2 lines within $5 bytes (note $6), and the jobs' last status (job_pkey). $4 is
// the number of ends, as a LIMIT that tells the planner the size of v (see updateRows). The rows
// are locked first, runs in id order, then jobs in job_id order, so that two workers' batches
// cannot deadlock. An end already written by an earlier try of the same end (same status and
// finish time: the answer was lost, not the write) counts as ended by this call.
/** More CTEs for the statement that writes ends of runs, with their parameters (numbered from `first`). */
export type FinishExtra = (ends: ExecutionEnd[], first: number) => { ctes: string; params: unknown[]; settle(ok: boolean): void; read: string } | null;

/**
 * `extra`: CTEs written with the ends, `read` a query over them that the statement runs before
 * it locks the jobs (rows of the engine, then jobs, as a fire locks them).
 */
export const finishRunningExecutions = (extra = '', read = '', inline = true) => `WITH ${extra ? `${extra},` : ''} v AS (
     SELECT * FROM json_to_recordset($1::json) AS v(id text, status text, finished_at timestamptz, duration_ms bigint,
                                                      error text, stack text, progress real, output text[], job_id text)
      LIMIT $4
   ), l AS (
     -- The runs locked in id order, with their ends: the update below reaches each by key
     -- from here and reads its status as locked. Filtered on its own status instead, the
     -- update was planned (with statistics where no run was running) as a scan of the
     -- running runs, each joined by a scan of the ends: 0.5 to 0.8 s for 1,000 ends.
     SELECT v.*, t.status AS was_status, t.finished_at AS was_finished_at
       FROM v JOIN execution t ON t.id = v.id ORDER BY t.id FOR UPDATE OF t
   ), moved AS (
     UPDATE execution t
        SET status = l.status, finished_at = l.finished_at, duration_ms = l.duration_ms, error = l.error, stack = l.stack,
            progress = COALESCE(l.progress, t.progress),
            -- What follows a failed run's end (failure record, retry) is pending until written.
            chains_pending = t.chains_pending OR l.status IN (${sqlList(failedStatuses)}),
            (output, output_truncated) = ${cappedOutput('t.output', 't.output_truncated', 'l.output', '$2::int', '$5::int', '$6::text')},
            output_lines = t.output_lines + coalesce(cardinality(l.output), 0)
       FROM l WHERE t.id = l.id AND l.was_status = 'running'
     RETURNING t.id, l.job_id, l.status, t.job_id AS run_job_id, t.batch_id, t.handler, t.progress
   ), ev AS (
     INSERT INTO event (${eventColumns})
     SELECT 'execution.ended', m.run_job_id, m.id, m.batch_id, m.handler, m.status, m.progress, NULL FROM moved m
     RETURNING 1
   ), jl AS (
     SELECT j.job_id FROM job j WHERE j.job_id IN (SELECT m.job_id COLLATE "C" FROM moved m) ORDER BY j.job_id FOR UPDATE
   ), jobs AS (
     UPDATE job j SET last_status = m.status, updated_at = $3 FROM moved m
      WHERE j.job_id = m.job_id COLLATE "C" AND ${afterLocks('jl')}
   )
   SELECT id FROM moved
   UNION ALL
   SELECT l.id FROM l WHERE l.was_status = l.status AND l.was_finished_at = l.finished_at
   UNION ALL
   -- The ended events, written with the ends: one NOTIFY ($7) wakes the event log's readers.
   SELECT NULL FROM (${announceWhen('SELECT 1 FROM ev', '$7', inline)}) y
   ${read ? `UNION ALL SELECT NULL FROM (SELECT count(*) AS n FROM (${read}) r) x WHERE x.n < 0` : ''}`;
// execution_created_idx, up to $2 runs per statement (deleteExecutionsBefore).
const deleteFinishedBefore = `DELETE FROM execution WHERE id = ANY(ARRAY(
    SELECT id FROM execution WHERE created_at < $1 AND status NOT IN (${active}) ORDER BY created_at LIMIT $2))`;
/**
 * Runs deleted per statement. Each statement's trigger holds the counts (execution_count) of the
 * jobs it deletes runs of until it commits, and a run's end waits for its job's: 600,000 runs
 * in one statement held them about 7 s.
 */
const DELETE_BATCH = 5000;
const requestCancelOfRunning = "UPDATE execution SET cancel_requested_at = $2 WHERE id = $1 AND status = 'running'";
// execution_active_cancel_idx (only runs asked to cancel are in it).
const selectCancelRequested = "SELECT id FROM execution_active WHERE cancel_requested_at IS NOT NULL AND worker_id = $1 AND status = 'running'";
// execution_active whole (the runs under way), the workers' primary key, then execution_pkey.
const selectRunningOnGoneWorkers = `SELECT ${executionListColumnsOf('e')} FROM execution_active a JOIN worker w ON w.id = a.worker_id JOIN execution e ON e.id = a.id
    WHERE a.status = 'running' AND e.status = 'running' AND w.state = 'gone'`;
// execution_batch_idx
const selectBatchGroups = `SELECT status, count(*) AS n, min(job_id) AS job_id, min(created_at) AS submitted, min(started_at) AS started,
         max(finished_at) AS finished
    FROM execution WHERE batch_id = $1 GROUP BY status`;
// job_pkey; the job's counts of ended runs (execution_count's key) and its runs under way
// (execution_active_job_idx); the newest run through execution_job_idx, without its output
// (up to JOBS_OUTPUT_MAX_BYTES), as one JSON value (job and execution share column names).
// Reads a few rows however many runs the job has.
// Per job asked for (`read_at`: its place in $1): job_pkey, execution_count's key,
// execution_active_job_idx and execution_job_idx, each reached by the id, so a generic plan
// probes them per job whatever the number of ids.
export const selectJobsWithStats = `SELECT k.at AS read_at, j.*, a.total, a.succeeded, a.failed, a.timed, a.succeeded_ms, to_jsonb(l) AS latest
    FROM unnest($1::text[]) WITH ORDINALITY AS k(id, at)
    JOIN job j ON j.job_id = k.id COLLATE "C"
   CROSS JOIN LATERAL (
     SELECT COALESCE(sum(executions), 0) + (SELECT count(*) FROM execution_active x WHERE x.job_id = k.id) AS total,
            COALESCE(sum(executions) FILTER (WHERE status = 'succeeded'), 0) AS succeeded,
            COALESCE(sum(executions) FILTER (WHERE status IN (${sqlList(failedStatuses)})), 0) AS failed,
            sum(timed) FILTER (WHERE status = 'succeeded') AS timed,
            sum(duration_ms) FILTER (WHERE status = 'succeeded') AS succeeded_ms
       FROM execution_count WHERE job_id = k.id) a
    LEFT JOIN LATERAL (SELECT ${executionListColumns} FROM execution WHERE job_id = k.id ORDER BY created_at DESC, id DESC LIMIT 1) l ON true`;
const countQueued = "SELECT count(*) AS n FROM execution_active WHERE status = 'queued'";
// execution_chains_pending_idx (the ended runs whose chains, failure record or retry are not written yet), then a sort.
const selectChainsPending = `SELECT * FROM execution WHERE chains_pending AND finished_at < $1 AND status NOT IN (${active})
   ORDER BY finished_at LIMIT $2`;

/** A job with its run statistics, as getJobWithStats answers. */
type JobWithStats = { job: JobRecord; stats: JobStats };

/** Execution records on PostgreSQL and PGlite: the `execution` table. */
export class SqlExecutionStore implements ExecutionStore {
  constructor(private readonly db: SqlClient) {}

  async insertExecution(e: ExecutionRecord) {
    const { text, params } = insertSql('execution', executionToRow(e));
    await this.db.query(text, params);
    wroteRows(this.db, 'execution', 1);
  }

  async insertExecutions(executions: ExecutionRecord[]) {
    if (executions.length === 0) return;
    const { text, params } = insertRowsSql(
      'execution',
      executions.map((e) => executionToRow(e)),
    );
    await this.db.query(text, params);
    wroteRows(this.db, 'execution', executions.length);
  }

  async activeExecutions(jobId: string) {
    const r = await this.db.query<Row>(selectActiveOfJob, [jobId]);
    return r.rows.map(rowToExecution);
  }

  async activeExecutionsOf(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    const r = await this.db.query<Row>(selectActiveOfJobs, [jobIds]);
    return r.rows.map(rowToExecution);
  }

  async getExecution(id: string) {
    const r = await this.db.query<Row>(selectExecution, [id], { prepare: true });
    return r.rows[0] ? rowToExecution(r.rows[0]) : null;
  }

  async getExecutions(ids: string[]) {
    if (ids.length === 0) return [];
    const r = await this.db.query<Row>(selectExecutions, [ids]);
    return r.rows.map(rowToExecution);
  }

  async updateExecution(id: string, patch: ExecutionPatch) {
    const { text, params } = setSql(executionToRow(patch), 2);
    if (!text) return;
    await this.db.query(`UPDATE execution SET ${text} WHERE id = $1`, [id, ...params]);
  }

  async transitionExecution(id: string, from: ExecutionStatus, patch: ExecutionPatch) {
    const { text, params } = setSql(executionToRow(patch), 3);
    const r = await this.db.query(`UPDATE execution SET ${text} WHERE id = $1 AND status = $2`, [id, from, ...params]);
    return r.rowCount === 1;
  }

  async transitionExecutions(from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>) {
    if (moves.length === 0) return [];
    return updateRows(
      this.db,
      'execution',
      'id',
      moves.map((m) => ({ key: m.id, row: executionToRow(m.patch) })),
      'AND t.status = $2',
      [from],
    );
  }

  async appendOutput(id: string, lines: string[], maxLines: number, maxBytes: number) {
    if (lines.length === 0) return;
    await this.db.query(appendOutputLines, [id, lines, maxLines, maxBytes, outputTrimmedNote(maxBytes)]);
  }

  /** `extra`: what the engine writes with each statement of ends (the release of the runs' rows). */
  async finishExecutions(ends: ExecutionEnd[], maxLines: number, maxBytes: number, extra?: FinishExtra) {
    if (ends.length === 0) return [];
    try {
      return await this.finish(ends, maxLines, maxBytes, extra);
    } catch (err) {
      if (ends.length === 1) throw err;
      // The statement is all or nothing: a run it could not write (or a deadlock) must not
      // leave the others unrecorded. Each run is written alone then.
      const ended: string[] = [];
      const failed = new Map<string, Error>();
      for (const e of ends) {
        try {
          ended.push(...(await this.finish([e], maxLines, maxBytes, extra)));
        } catch (one) {
          failed.set(e.id, one as Error);
        }
      }
      if (failed.size === 0) return ended;
      if (failed.size === ends.length) throw err;
      throw new RunEndsError(ended, failed);
    }
  }

  private async finish(ends: ExecutionEnd[], maxLines: number, maxBytes: number, extra?: FinishExtra) {
    const channel = await eventChannel(this.db);
    const params: unknown[] = [JSON.stringify(ends), maxLines, new Date(), ends.length, maxBytes, outputTrimmedNote(maxBytes), channel];
    const more = extra?.(ends, params.length + 1) ?? null;
    if (more) params.push(...more.params);
    try {
      const r = await this.db.query<{ id: string | null }>(finishRunningExecutions(more?.ctes, more?.read, this.db.notifiesInline), params, { prepare: true });
      more?.settle(true);
      // A row without an id: events were written.
      if (r.rows.some((x) => x.id === null)) this.db.announce(channel);
      return r.rows.flatMap((x) => (x.id === null ? [] : [x.id]));
    } catch (err) {
      more?.settle(false);
      throw err;
    }
  }

  listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>> {
    const conditions: Array<[string, unknown]> = [];
    if (filter.job_id !== undefined) conditions.push(['job_id = ?', filter.job_id]);
    if (filter.status !== undefined) {
      conditions.push(['status = ?', filter.status]);
      // Runs under way are few among all: found through execution_active rather than skipped to.
      if (activeStatuses.includes(filter.status)) conditions.push(['id IN (SELECT id FROM execution_active WHERE status = ?)', filter.status]);
    }
    if (filter.parent_id !== undefined) conditions.push(['parent_id = ?', filter.parent_id]);
    if (filter.handler !== undefined) conditions.push(['handler = ?', filter.handler]);
    if (filter.batch_id !== undefined) conditions.push(['batch_id = ?', filter.batch_id]);
    if (filter.since !== undefined) conditions.push(['created_at >= ?', filter.since]);
    if (filter.until !== undefined) conditions.push(['created_at < ?', filter.until]);
    return keysetPage(this.db, executionsNewestFirst, conditions, after, limit);
  }

  async deleteExecutionsBefore(before: Date) {
    let deleted = 0;
    for (;;) {
      const r = await this.db.query(deleteFinishedBefore, [before, DELETE_BATCH]);
      deleted += r.rowCount;
      if (r.rowCount < DELETE_BATCH) return deleted;
    }
  }

  async requestCancel(id: string, at: Date) {
    const r = await this.db.query(requestCancelOfRunning, [id, at]);
    return r.rowCount === 1;
  }

  async cancelRequested(workerId: string) {
    const r = await this.db.query<Row>(selectCancelRequested, [workerId]);
    return r.rows.map((x) => x.id as string);
  }

  async runningOnGoneWorkers() {
    const r = await this.db.query<Row>(selectRunningOnGoneWorkers, []);
    return r.rows.map(rowToExecution);
  }

  async batchSummary(batchId: string): Promise<BatchSummary | null> {
    const r = await this.db.query<BatchGroup>(selectBatchGroups, [batchId]);
    return batchSummaryOf(batchId, r.rows);
  }

  /**
   * Reads of jobs made while one is under way go together in the next, one statement for all:
   * GET /jobs/{id} under load made one round trip, one statement and one row description of
   * some sixty columns per request. A read joins only a batch not yet sent, so it sees every
   * write answered before it came.
   */
  private readonly reads = new Coalescer<string, JobWithStats | null>((ids) => this.getJobsWithStats(ids));

  getJobWithStats(jobId: string): Promise<JobWithStats | null> {
    return this.reads.add(jobId);
  }

  /** getJobWithStats for many jobs, one answer per id in their order. */
  private async getJobsWithStats(jobIds: string[]): Promise<Array<JobWithStats | null>> {
    const found: Array<JobWithStats | null> = jobIds.map(() => null);
    if (jobIds.length === 0) return found;
    const r = await this.db.query<Row>(selectJobsWithStats, [jobIds], { prepare: true });
    for (const row of r.rows) {
      found[Number(row.read_at) - 1] = {
        job: rowToJob(row),
        stats: {
          total: Number(row.total),
          succeeded: Number(row.succeeded),
          failed: Number(row.failed),
          average_duration_ms: Number(row.timed ?? 0) > 0 ? Math.round(Number(row.succeeded_ms) / Number(row.timed)) : null,
          latest: row.latest ? rowToExecution(jsonDates(row.latest as Row, executionTimes)) : null,
        },
      };
    }
    return found;
  }

  async queuedCount() {
    const r = await this.db.query<Row>(countQueued, []);
    return Number(r.rows[0].n);
  }

  async chainsPending(before: Date, limit: number) {
    const r = await this.db.query<Row>(selectChainsPending, [before, limit], { prepare: true });
    return r.rows.map(rowToExecution);
  }
}
