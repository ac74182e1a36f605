import type { SqlClient } from '../../db/sql-client.js';
import type { JobFilter, JobStore, JobUpdate, JobWithActiveRuns } from '../jobs.js';
import { activeStatuses, countedTriggers, firstOfEachId, type JobPatch, type JobRecord, type Page } from '../records.js';
import { keysetPage, type Keyset } from './keyset.js';
import { executionListColumnsOf, executionTimes, jobSelectList, jobToRow, jsonDates, rowToExecution, rowToJob, sqlList, type Row } from './rows.js';
import { DateTexts, updateRows, insertRecordsSql, insertRowsSql, insertSql, setSql } from './statements.js';
import { wroteRows } from './analyze.js';

/** Primary key order (job_pkey). */
const jobsById: Keyset<JobRecord> = {
  table: 'job',
  columns: ['job_id'],
  direction: 'ASC',
  shape: ['string'],
  toItem: rowToJob,
  keyOf: (j) => [j.job_id],
  prepare: true,
  select: jobSelectList,
};

const selectJob = 'SELECT * FROM job WHERE job_id = $1';
const selectJobs = 'SELECT * FROM job WHERE job_id = ANY($1::text[])';
// job_pkey, then execution_active_job_idx and execution_pkey per job; the active runs as one
// JSON array, without their output (a running run's may be megabytes; a fire never reads it).
// job.job_id is COLLATE "C" and execution.job_id is not: compared as they are, the collations
// conflict and no index on execution.job_id applies. The runs counted against max_runs:
// execution_job_idx, stopping at max_runs of them.
/**
 * The select list of a job row `j` with its active runs and, for a job with max_runs, its
 * counted runs: what a fire decides on (jobWithActiveRuns reads it).
 */
export const jobWithActiveRunsColumns = `j.*, j.xmin::text AS job_seen, (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.created_at) FROM (SELECT ${executionListColumnsOf('e')}
                 FROM execution_active a JOIN execution e ON e.id = a.id
                 WHERE a.job_id = j.job_id COLLATE "default" AND e.status IN (${sqlList(activeStatuses)})) r) AS active,
            CASE WHEN j.max_runs IS NULL THEN NULL ELSE (SELECT count(*) FROM (SELECT 1 FROM execution c
                 WHERE c.job_id = j.job_id COLLATE "default" AND c.trigger IN (${sqlList(countedTriggers)}) AND c.attempt = 1 AND c.status <> 'missed'
                 LIMIT j.max_runs) n) END AS counted`;

/** A row of jobWithActiveRunsColumns. */
export function jobWithActiveRuns(row: Row): JobWithActiveRuns {
  return {
    job: rowToJob(row),
    active: ((row.active as Row[] | null) ?? []).map((e) => rowToExecution(jsonDates(e, executionTimes))),
    counted: row.counted === null || row.counted === undefined ? null : Number(row.counted),
    seen: row.job_seen as string,
  };
}

const selectJobsWithActiveRuns = `SELECT ${jobWithActiveRunsColumns} FROM job j WHERE j.job_id = ANY($1::text[])`;
const deleteJobById = `WITH v AS (DELETE FROM job_version WHERE job_id = $1), p AS (DELETE FROM pause WHERE job_id = $1)
  DELETE FROM job WHERE job_id = $1`;
// job_source_idx
const selectJobsFromFiles = "SELECT job_id, source_file FROM job WHERE source = 'file'";
// job_chained_idx, job_fan_in_idx
const selectChainedJobs = `SELECT * FROM job
   WHERE on_success <> '[]'::jsonb OR on_failure <> '[]'::jsonb OR on_finish <> '[]'::jsonb OR after_all <> '[]'::jsonb`;
const selectFanInJobs = "SELECT * FROM job WHERE after_all <> '[]'::jsonb";

/** A redefined job keeps its history: created_at, last run and last status survive an upsert. */
const keptOnUpsert = new Set(['job_id', 'created_at', 'last_run_at', 'last_status', 'failure_streak']);
/**
 * The columns of a job's schedule (core.ts sameSchedule). An upsert that leaves them as they
 * are keeps the next fire the store holds, compared in the write itself: the one the caller
 * read may have fired since, and writing it back would fire it again.
 */
const scheduleColumns = ['interval_seconds', 'cron', 'timezone', 'when_at', 'start_at', 'end_at'].map((c) => `"${c}"`);
const keptNextRun = `CASE WHEN (${scheduleColumns.map((c) => `job.${c}`).join(', ')}) IS NOT DISTINCT FROM (${scheduleColumns.map((c) => `EXCLUDED.${c}`).join(', ')})
  THEN job.next_run_at ELSE EXCLUDED.next_run_at END`;
const upsertUpdates = (row: Row) =>
  Object.keys(row)
    .filter((c) => !keptOnUpsert.has(c))
    .map((c) => (c === 'next_run_at' ? `"next_run_at" = ${keptNextRun}` : `"${c}" = EXCLUDED."${c}"`))
    .join(', ');

/** A job as one element of insertRecordsSql's JSON: jobToRow's columns, null ones left out, JSON ones as values. */
function jobRecord(job: JobRecord, dates: DateTexts): Row {
  const rec: Row = {};
  for (const k in job) {
    const v = (job as unknown as Record<string, unknown>)[k];
    if (v === null || v === undefined) continue;
    rec[k === 'when' ? 'when_at' : k] = v instanceof Date ? dates.of(v) : v;
  }
  return rec;
}

/**
 * An INSERT of new jobs (distinct ids) from one JSON parameter (`$param`), skipping an id
 * taken and returning `returning` of each job stored.
 */
export function insertJobsSql(jobs: JobRecord[], returning: string, param = 1) {
  // Each job straight into the JSON parameter: a row object of some 40 columns per job,
  // made and dropped again, was most of what a 1,000-job bulk create allocated here.
  const cols = Object.keys(jobToRow(jobs[0], false));
  const dates = new DateTexts();
  return insertRecordsSql(
    'job',
    cols,
    jobs.map((j) => jobRecord(j, dates)),
    `ON CONFLICT (job_id) DO NOTHING RETURNING ${returning}`,
    param,
  );
}

/** Job definitions on PostgreSQL and PGlite: the `job` table. */
export class SqlJobStore implements JobStore {
  constructor(private readonly db: SqlClient) {}

  async insertJobs(jobs: JobRecord[]) {
    const unique = firstOfEachId(jobs);
    if (unique.length === 0) return [];
    const { text, params } = insertJobsSql(unique, 'job_id');
    const inserted = new Set((await this.db.query<{ job_id: string }>(text, params)).rows.map((x) => x.job_id));
    wroteRows(this.db, 'job', inserted.size);
    return jobs.map((j) => j.job_id).filter((id) => inserted.delete(id));
  }

  async upsertJob(job: JobRecord) {
    const row = jobToRow(job);
    const { text, params } = insertSql('job', row);
    const r = await this.db.query<Row>(`${text} ON CONFLICT (job_id) DO UPDATE SET ${upsertUpdates(row)} RETURNING *`, params);
    wroteRows(this.db, 'job', 1);
    return rowToJob(r.rows[0]);
  }

  async upsertJobs(jobs: JobRecord[]) {
    if (jobs.length === 0) return;
    const rows = jobs.map((j) => jobToRow(j, false));
    const { text, params } = insertRowsSql('job', rows, `ON CONFLICT (job_id) DO UPDATE SET ${upsertUpdates(rows[0])}`);
    await this.db.query(text, params);
    wroteRows(this.db, 'job', rows.length);
  }

  async getJob(jobId: string) {
    const r = await this.db.query<Row>(selectJob, [jobId], { prepare: true });
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  listJobs(after: string | null, limit: number, filter: JobFilter = {}): Promise<Page<JobRecord>> {
    // job_pkey in job_id order; the filters are checked on the rows it walks through.
    const conditions: Array<[string, unknown]> = [];
    if (filter.search) conditions.push(['starts_with(job_id, ?)', filter.search]);
    for (const column of ['handler', 'state', 'source', 'last_status'] as const) if (filter[column]) conditions.push([`${column} = ?`, filter[column]]);
    return keysetPage(this.db, conditions.length ? { ...jobsById, prepare: false } : jobsById, conditions, after, limit);
  }

  async updateJob(jobId: string, patch: JobPatch) {
    const row = jobToRow({ ...patch, updated_at: patch.updated_at ?? new Date() });
    const { text, params } = setSql(row, 2);
    const r = await this.db.query<Row>(`UPDATE job SET ${text} WHERE job_id = $1 RETURNING *`, [jobId, ...params]);
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  async updateJobAtVersion(jobId: string, version: number, patch: JobPatch) {
    const row = jobToRow({ ...patch, updated_at: patch.updated_at ?? new Date() });
    const { text, params } = setSql(row, 3);
    const r = await this.db.query<Row>(`UPDATE job SET ${text} WHERE job_id = $1 AND version = $2 RETURNING *`, [jobId, version, ...params]);
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  async getJobs(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    const r = await this.db.query<Row>(selectJobs, [jobIds]);
    return r.rows.map(rowToJob);
  }

  async getJobsWithActiveRuns(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    const r = await this.db.query<Row>(selectJobsWithActiveRuns, [jobIds], { prepare: true });
    return r.rows.map(jobWithActiveRuns);
  }

  async updateJobs(updates: JobUpdate[]) {
    const now = new Date();
    // A next fire computed from an older version is not written over the job's own, unless the
    // job still holds the fire it follows.
    for (const u of updates.filter((x) => x.version !== undefined && x.patch.next_run_at !== undefined)) {
      await this.db.query('UPDATE job SET next_run_at = $3 WHERE job_id = $1 AND (version = $2 OR next_run_at = $4)', [u.job_id, u.version, u.patch.next_run_at, u.fired ?? null]);
    }
    updates = updates.map((u) => (u.version === undefined ? u : { job_id: u.job_id, patch: { ...u.patch, next_run_at: undefined } }));
    await updateRows(
      this.db,
      'job',
      'job_id',
      updates.map((u) => ({ key: u.job_id, row: jobToRow({ ...u.patch, updated_at: u.patch.updated_at ?? now }) })),
    );
  }

  async deleteJob(jobId: string) {
    const r = await this.db.query(deleteJobById, [jobId]);
    return r.rowCount === 1;
  }

  async listJobsFromFiles() {
    const r = await this.db.query<Row>(selectJobsFromFiles, []);
    return r.rows.map((x) => ({ job_id: x.job_id as string, source_file: (x.source_file as string | null) ?? null }));
  }

  async chainedJobs() {
    return (await this.db.query<Row>(selectChainedJobs, [])).rows.map(rowToJob);
  }

  async fanInJobs() {
    return (await this.db.query<Row>(selectFanInJobs, [], { prepare: true })).rows.map(rowToJob);
  }
}
