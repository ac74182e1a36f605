import type {
  AuditFilter,
  AuditRecord,
  BatchSummary,
  ExecutionEnd,
  ExecutionFilter,
  JobStats,
  ServiceStats,
  WorkerHeartbeat,
  WorkerRecord,
  WorkerState,
  ExecutionPatch,
  ExecutionRecord,
  ExecutionStatus,
  FailureRecord,
  JobPatch,
  JobRecord,
  Page,
  ServiceState,
  Store,
} from '../types.js';
import { firstOfEachId } from '../types.js';
import { cursorKey, encodeCursor } from '../cursor.js';
import { sessionLockKeys, type SqlClient } from '../../db/sql-client.js';
import { schemaSql } from './schema.js';
import { parseTimestamptz } from './timestamps.js';

type Row = Record<string, unknown>;

// JSON columns are sent as text: pg and PGlite both cast text parameters to jsonb.
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

function jobToRow(job: JobPatch & { job_id?: string; created_at?: Date }): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(job)) {
    if (v === undefined) continue;
    if (k === 'when') row.when_at = v;
    else if (k === 'kwargs') row.kwargs = json(v);
    else row[k] = v;
  }
  return row;
}

function rowToJob(r: Row): JobRecord {
  return {
    job_id: r.job_id as string,
    handler: r.handler as string,
    kwargs: (r.kwargs ?? {}) as JobRecord['kwargs'],
    state: r.state as JobRecord['state'],
    periodically: (r.periodically as string | null) ?? null,
    interval_seconds: r.interval_seconds === null ? null : Number(r.interval_seconds),
    cron: (r.cron as string | null) ?? null,
    timezone: (r.timezone as string | null) ?? null,
    when: (r.when_at as Date | null) ?? null,
    misfire_grace_time: r.misfire_grace_time === null ? null : Number(r.misfire_grace_time),
    timeout: r.timeout === null ? null : Number(r.timeout),
    concurrency_policy: (r.concurrency_policy as JobRecord['concurrency_policy']) ?? null,
    retries: Number(r.retries ?? 0),
    retry_backoff: Number(r.retry_backoff ?? 0),
    next_run_at: (r.next_run_at as Date | null) ?? null,
    last_run_at: (r.last_run_at as Date | null) ?? null,
    last_status: (r.last_status as JobRecord['last_status']) ?? null,
    source: r.source as JobRecord['source'],
    source_file: (r.source_file as string | null) ?? null,
    created_at: r.created_at as Date,
    updated_at: r.updated_at as Date,
  };
}

function executionToRow(e: ExecutionPatch & { id?: string; created_at?: Date }): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    row[k] = k === 'kwargs' || k === 'selection' ? json(v) : v;
  }
  return row;
}

function rowToExecution(r: Row): ExecutionRecord {
  return {
    id: r.id as string,
    job_id: (r.job_id as string | null) ?? null,
    handler: r.handler as string,
    kwargs: (r.kwargs ?? {}) as ExecutionRecord['kwargs'],
    status: r.status as ExecutionStatus,
    trigger: r.trigger as ExecutionRecord['trigger'],
    parent_id: (r.parent_id as string | null) ?? null,
    batch_id: (r.batch_id as string | null) ?? null,
    selection: (r.selection as ExecutionRecord['selection']) ?? null,
    attempt: Number(r.attempt ?? 1),
    timeout: r.timeout === null || r.timeout === undefined ? null : Number(r.timeout),
    worker_id: (r.worker_id as string | null) ?? null,
    cancel_requested_at: (r.cancel_requested_at as Date | null) ?? null,
    scheduled_at: r.scheduled_at as Date,
    started_at: (r.started_at as Date | null) ?? null,
    finished_at: (r.finished_at as Date | null) ?? null,
    duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
    progress: r.progress === null ? null : Number(r.progress),
    error: (r.error as string | null) ?? null,
    stack: (r.stack as string | null) ?? null,
    output: (r.output as string[] | null) ?? [],
    output_truncated: Boolean(r.output_truncated),
    created_at: r.created_at as Date,
  };
}

function rowToFailure(r: Row): FailureRecord {
  return {
    id: r.id as string,
    failed_job_id: (r.failed_job_id as string | null) ?? null,
    execution_id: r.execution_id as string,
    handler: r.handler as string,
    kwargs: (r.kwargs ?? {}) as FailureRecord['kwargs'],
    error: r.error as string,
    traceback: (r.traceback as string | null) ?? null,
    time: r.time as Date,
  };
}

function rowToAudit(r: Row): AuditRecord {
  return {
    id: r.id as string,
    time: r.time as Date,
    request_id: (r.request_id as string | null) ?? null,
    token_name: (r.token_name as string | null) ?? null,
    operation: r.operation as string,
    method: r.method as string,
    path: r.path as string,
    job_id: (r.job_id as string | null) ?? null,
    execution_id: (r.execution_id as string | null) ?? null,
    worker_id: (r.worker_id as string | null) ?? null,
    batch_id: (r.batch_id as string | null) ?? null,
    status: Number(r.status),
    outcome: r.outcome as AuditRecord['outcome'],
  };
}

function rowToWorker(r: Row): WorkerRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    host: r.host as string,
    pid: Number(r.pid),
    version: r.version as string,
    started_at: r.started_at as Date,
    heartbeat_at: r.heartbeat_at as Date,
    handlers: (r.handlers as string[]) ?? [],
    running: Number(r.running),
    cpu_load: Number(r.cpu_load),
    memory: r.memory as WorkerRecord['memory'],
    state: r.state as WorkerState,
  };
}

const countsOf = <K extends string>(rows: Row[], key: string): Partial<Record<K, number>> =>
  Object.fromEntries(rows.map((r) => [r[key] as K, Number(r.n)])) as Partial<Record<K, number>>;

/** SQL types of the columns a batch update can set (for jsonb_to_recordset). */
const columnTypes: Record<'job' | 'execution', Record<string, string>> = {
  job: {
    handler: 'text', kwargs: 'jsonb', state: 'text', periodically: 'text', interval_seconds: 'bigint', cron: 'text',
    timezone: 'text', when_at: 'timestamptz', misfire_grace_time: 'integer', timeout: 'integer', concurrency_policy: 'text',
    retries: 'integer', retry_backoff: 'integer', next_run_at: 'timestamptz', last_run_at: 'timestamptz', last_status: 'text',
    source: 'text', source_file: 'text', updated_at: 'timestamptz',
  },
  execution: {
    job_id: 'text', handler: 'text', kwargs: 'jsonb', status: 'text', trigger: 'text', parent_id: 'text', batch_id: 'text',
    selection: 'jsonb', attempt: 'integer', timeout: 'integer', worker_id: 'text', cancel_requested_at: 'timestamptz',
    scheduled_at: 'timestamptz', started_at: 'timestamptz', finished_at: 'timestamptz', duration_ms: 'bigint', progress: 'real',
    error: 'text', stack: 'text', output: 'text[]', output_truncated: 'boolean',
  },
};

/**
 * The `cols` of a row as one element of a jsonb_to_recordset parameter. JSON columns arrive as
 * JSON text from jobToRow/executionToRow; they are nested as JSON.
 */
function jsonRecord(row: Row, cols: string[], types: Record<string, string>): Row {
  const rec: Row = {};
  for (const c of cols) rec[c] = types[c] === 'jsonb' && typeof row[c] === 'string' ? JSON.parse(row[c] as string) : row[c];
  return rec;
}

/** SQL types of every column a batch insert writes (for jsonb_to_recordset). */
const insertTypes: Record<'job' | 'execution' | 'audit', Record<string, string>> = {
  job: { job_id: 'text', created_at: 'timestamptz', last_run_at: 'timestamptz', last_status: 'text', ...columnTypes.job },
  execution: { id: 'text', created_at: 'timestamptz', ...columnTypes.execution },
  audit: {
    id: 'text', time: 'timestamptz', request_id: 'text', token_name: 'text', operation: 'text', method: 'text', path: 'text',
    job_id: 'text', execution_id: 'text', worker_id: 'text', batch_id: 'text', status: 'integer', outcome: 'text',
  },
};

/**
 * `INSERT INTO table (columns) SELECT ... FROM jsonb_to_recordset($1)` for rows that all have the
 * columns of the first: one short statement and one parameter however many rows, where a
 * VALUES list of a few hundred rows with thousands of parameters took PostgreSQL tens of ms
 * to parse. `tail` follows (ON CONFLICT ..., RETURNING ...).
 */
function insertRowsSql(table: 'job' | 'execution' | 'audit', rows: Row[], tail = ''): { text: string; params: unknown[] } {
  const cols = Object.keys(rows[0]);
  const types = insertTypes[table];
  for (const c of cols) if (!types[c]) throw new Error(`${table}.${c} cannot be inserted in a batch`);
  const records = rows.map((row) => jsonRecord(row, cols, types));
  const list = cols.map((c) => `"${c}"`).join(', ');
  return {
    text: `INSERT INTO ${table} (${list})
           SELECT ${list} FROM jsonb_to_recordset($1::jsonb) AS v(${cols.map((c) => `"${c}" ${types[c]}`).join(', ')}) ${tail}`,
    params: [JSON.stringify(records)],
  };
}

/** The timestamp columns of an execution row. */
const executionTimes = ['cancel_requested_at', 'scheduled_at', 'started_at', 'finished_at', 'created_at'];

/**
 * A row read as JSON (to_jsonb) with its timestamps as Dates. JSON holds them as ISO text with
 * a `T` (`2026-11-26T18:05:24.241773+00:00`); otherwise it is PostgreSQL's own text form, whose
 * offsets may carry seconds (historical zones), which Date's parser refuses.
 */
function jsonDates(row: Row, columns: string[]): Row {
  for (const c of columns) {
    const v = row[c];
    if (typeof v === 'string') row[c] = parseTimestamptz(`${v.slice(0, 10)} ${v.slice(11)}`);
  }
  return row;
}

/**
 * One UPDATE per set of columns for many rows with their own values, the rows passed as one
 * JSON parameter. Rows are grouped by the columns they set, so a column a patch leaves out
 * keeps its value. `extra` adds a condition on `t` (the row) and may use parameter $2.
 */
async function batchUpdate(
  db: SqlClient,
  table: 'job' | 'execution',
  key: string,
  items: Array<{ key: string; row: Row }>,
  extra = '',
  extraParams: unknown[] = [],
): Promise<string[]> {
  const groups = new Map<string, Array<{ key: string; row: Row }>>();
  for (const item of items) {
    const cols = Object.keys(item.row).sort().join(',');
    if (!cols) continue;
    (groups.get(cols) ?? groups.set(cols, []).get(cols)!).push(item);
  }
  const moved: string[] = [];
  for (const [colList, group] of groups) {
    const cols = colList.split(',');
    const types = columnTypes[table];
    for (const c of cols) if (!types[c]) throw new Error(`${table}.${c} cannot be set in a batch`);
    const records = group.map((g) => ({ k: g.key, ...jsonRecord(g.row, cols, types) }));
    // The LIMIT tells the planner how many rows the JSON holds: it takes 100 for any
    // jsonb_to_recordset and would hash-join a whole table of a few thousand rows instead of
    // looking each row up by its key.
    const r = await db.query<{ k: string }>(
      `UPDATE ${table} t SET ${cols.map((c) => `"${c}" = v."${c}"`).join(', ')}
         FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(k text, ${cols.map((c) => `"${c}" ${types[c]}`).join(', ')}) LIMIT ${records.length}) v
        WHERE t.${key} = v.k ${extra}
        RETURNING t.${key} AS k`,
      [JSON.stringify(records), ...extraParams],
    );
    for (const row of r.rows) moved.push(row.k);
  }
  return moved;
}

function insertSql(table: string, row: Row): { text: string; params: unknown[] } {
  const cols = Object.keys(row);
  return {
    text: `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
    params: Object.values(row),
  };
}

function setSql(row: Row, offset: number): { text: string; params: unknown[] } {
  const cols = Object.keys(row);
  return { text: cols.map((c, i) => `"${c}" = $${i + offset}`).join(', '), params: Object.values(row) };
}

/**
 * The store on PostgreSQL, also used for the embedded PGlite. Every list is a keyset page
 * over an index named in schema.ts; nothing reads a whole table.
 */
export class SqlStore implements Store {
  constructor(
    readonly kind: 'embedded' | 'postgres',
    readonly db: SqlClient,
  ) {}

  /** The end of the last bootLock call of this process: calls take turns here too. */
  private bootTurn: Promise<unknown> = Promise.resolve();

  async migrate() {
    await this.db.exec(schemaSql);
  }

  bootLock<T>(fn: () => Promise<T>): Promise<T> {
    // An arbitrary constant naming this service's boot among the database's advisory locks.
    // The embedded client's lock is no lock (one process owns the database), so calls of
    // this process also wait for each other.
    const turn = this.bootTurn.then(() => this.db.withLock(0x6a6f6273, fn));
    this.bootTurn = turn.catch(() => undefined);
    return turn;
  }

  async ping(timeoutMs: number) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.db.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    await this.db.close();
  }

  async insertJobs(jobs: JobRecord[]) {
    const rows = firstOfEachId(jobs).map((j) => jobToRow(j));
    if (rows.length === 0) return [];
    const { text, params } = insertRowsSql('job', rows, 'ON CONFLICT (job_id) DO NOTHING RETURNING job_id');
    const inserted = new Set((await this.db.query<{ job_id: string }>(text, params)).rows.map((x) => x.job_id));
    return jobs.map((j) => j.job_id).filter((id) => inserted.delete(id));
  }

  async upsertJob(job: JobRecord) {
    const row = jobToRow(job);
    const { text, params } = insertSql('job', row);
    // A redefined job keeps its history: created_at, last run and last status survive.
    const keep = new Set(['job_id', 'created_at', 'last_run_at', 'last_status']);
    const updates = Object.keys(row)
      .filter((c) => !keep.has(c))
      .map((c) => `"${c}" = EXCLUDED."${c}"`)
      .join(', ');
    const r = await this.db.query<Row>(`${text} ON CONFLICT (job_id) DO UPDATE SET ${updates} RETURNING *`, params);
    return rowToJob(r.rows[0]);
  }

  async upsertJobs(jobs: JobRecord[]) {
    if (jobs.length === 0) return;
    const rows = jobs.map((j) => jobToRow(j));
    const keep = new Set(['job_id', 'created_at', 'last_run_at', 'last_status']);
    const updates = Object.keys(rows[0]).filter((c) => !keep.has(c)).map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ');
    const { text, params } = insertRowsSql('job', rows, `ON CONFLICT (job_id) DO UPDATE SET ${updates}`);
    await this.db.query(text, params);
  }

  async getJob(jobId: string) {
    const r = await this.db.query<Row>('SELECT * FROM job WHERE job_id = $1', [jobId], { prepare: true });
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  async listJobs(after: string | null, limit: number): Promise<Page<JobRecord>> {
    // Primary key order (job_pkey).
    const key = after === null ? null : (cursorKey(after, ['string'])[0] as string);
    const r = key === null
      ? await this.db.query<Row>('SELECT * FROM job ORDER BY job_id LIMIT $1', [limit + 1], { prepare: true })
      : await this.db.query<Row>('SELECT * FROM job WHERE job_id > $1 ORDER BY job_id LIMIT $2', [key, limit + 1], { prepare: true });
    const items = r.rows.slice(0, limit).map(rowToJob);
    const more = r.rows.length > limit;
    return { items, next: more ? encodeCursor([items[items.length - 1].job_id]) : null };
  }

  async updateJob(jobId: string, patch: JobPatch) {
    const row = jobToRow({ ...patch, updated_at: patch.updated_at ?? new Date() });
    const { text, params } = setSql(row, 2);
    const r = await this.db.query<Row>(`UPDATE job SET ${text} WHERE job_id = $1 RETURNING *`, [jobId, ...params]);
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  async getJobs(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    const r = await this.db.query<Row>('SELECT * FROM job WHERE job_id = ANY($1::text[])', [jobIds]);
    return r.rows.map(rowToJob);
  }

  async getJobsWithActiveRuns(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // job_pkey, then execution_active_idx per job; the active runs as one JSON array (job and
    // execution share column names). job.job_id is COLLATE "C" and execution.job_id is not:
    // compared as they are, the collations conflict and no index on execution.job_id applies.
    const r = await this.db.query<Row>(
      `SELECT j.*, (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.created_at) FROM execution e
                     WHERE e.job_id = j.job_id COLLATE "default" AND e.status IN ('queued', 'running')) AS active
         FROM job j WHERE j.job_id = ANY($1::text[])`,
      [jobIds],
    );
    return r.rows.map((row) => ({
      job: rowToJob(row),
      active: ((row.active as Row[] | null) ?? []).map((e) => rowToExecution(jsonDates(e, executionTimes))),
    }));
  }

  async updateJobs(updates: Array<{ job_id: string; patch: JobPatch }>) {
    const now = new Date();
    await batchUpdate(
      this.db,
      'job',
      'job_id',
      updates.map((u) => ({ key: u.job_id, row: jobToRow({ ...u.patch, updated_at: u.patch.updated_at ?? now }) })),
    );
  }

  async deleteJob(jobId: string) {
    const r = await this.db.query('DELETE FROM job WHERE job_id = $1', [jobId]);
    return r.rowCount === 1;
  }

  async listJobsFromFiles() {
    // job_source_idx
    const r = await this.db.query<Row>("SELECT job_id, source_file FROM job WHERE source = 'file'", []);
    return r.rows.map((x) => ({ job_id: x.job_id as string, source_file: (x.source_file as string | null) ?? null }));
  }

  async insertExecution(e: ExecutionRecord) {
    const { text, params } = insertSql('execution', executionToRow(e));
    await this.db.query(text, params);
  }

  async insertExecutions(executions: ExecutionRecord[]) {
    if (executions.length === 0) return;
    const { text, params } = insertRowsSql('execution', executions.map((e) => executionToRow(e)));
    await this.db.query(text, params);
  }

  async activeExecutions(jobId: string) {
    // execution_active_idx
    const r = await this.db.query<Row>("SELECT * FROM execution WHERE job_id = $1 AND status IN ('queued', 'running') ORDER BY created_at", [jobId]);
    return r.rows.map(rowToExecution);
  }

  async activeExecutionsOf(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // execution_active_idx
    const r = await this.db.query<Row>(
      "SELECT * FROM execution WHERE job_id = ANY($1::text[]) AND status IN ('queued', 'running') ORDER BY created_at",
      [jobIds],
    );
    return r.rows.map(rowToExecution);
  }

  async getExecutions(ids: string[]) {
    if (ids.length === 0) return [];
    const r = await this.db.query<Row>('SELECT * FROM execution WHERE id = ANY($1::text[])', [ids]);
    return r.rows.map(rowToExecution);
  }

  async transitionExecutions(from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>) {
    if (moves.length === 0) return [];
    return batchUpdate(
      this.db,
      'execution',
      'id',
      moves.map((m) => ({ key: m.id, row: executionToRow(m.patch) })),
      'AND t.status = $2',
      [from],
    );
  }

  async getExecution(id: string) {
    const r = await this.db.query<Row>('SELECT * FROM execution WHERE id = $1', [id], { prepare: true });
    return r.rows[0] ? rowToExecution(r.rows[0]) : null;
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

  async appendOutput(id: string, lines: string[], maxLines: number) {
    if (lines.length === 0) return;
    // Keeps the newest maxLines lines; output_truncated records that older ones were dropped.
    await this.db.query(
      `UPDATE execution
          SET output_truncated = output_truncated OR cardinality(output) + cardinality($2::text[]) > $3,
              output = (output || $2::text[])[greatest(1, cardinality(output) + cardinality($2::text[]) - $3 + 1):]
        WHERE id = $1`,
      [id, lines, maxLines],
    );
  }

  async finishExecutions(ends: ExecutionEnd[], maxLines: number) {
    if (ends.length === 0) return [];
    // One statement for the batch: the run rows (execution_pkey), their output kept to the
    // newest maxLines lines, and the jobs' last status (job_pkey).
    const r = await this.db.query<{ id: string }>(
      `WITH v AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(id text, status text, finished_at timestamptz, duration_ms bigint,
                                                          error text, stack text, progress real, output text[], job_id text)
          LIMIT $4
       ), moved AS (
         UPDATE execution t
            SET status = v.status, finished_at = v.finished_at, duration_ms = v.duration_ms, error = v.error, stack = v.stack,
                progress = COALESCE(v.progress, t.progress),
                output_truncated = t.output_truncated OR cardinality(t.output) + cardinality(v.output) > $2,
                output = (t.output || v.output)[greatest(1, cardinality(t.output) + cardinality(v.output) - $2 + 1):]
           FROM v WHERE t.id = v.id AND t.status = 'running'
         RETURNING t.id, v.job_id, v.status
       ), jobs AS (
         UPDATE job j SET last_status = m.status, updated_at = $3 FROM moved m WHERE j.job_id = m.job_id COLLATE "C"
       )
       SELECT id FROM moved`,
      // $4: the number of ends, as a LIMIT that tells the planner the size of v (see batchUpdate).
      [JSON.stringify(ends), maxLines, new Date(), ends.length],
    );
    return r.rows.map((x) => x.id);
  }

  async listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>> {
    // execution_job_idx, execution_status_idx, execution_parent_idx, execution_handler_idx,
    // execution_batch_idx or execution_created_idx,
    // each ending in (created_at DESC, id DESC) so the keyset condition is an index range.
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      params.push(v);
      where.push(cond.replace('?', `$${params.length}`));
    };
    if (filter.job_id !== undefined) add('job_id = ?', filter.job_id);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.parent_id !== undefined) add('parent_id = ?', filter.parent_id);
    if (filter.handler !== undefined) add('handler = ?', filter.handler);
    if (filter.batch_id !== undefined) add('batch_id = ?', filter.batch_id);
    if (filter.since !== undefined) add('created_at >= ?', filter.since);
    if (filter.until !== undefined) add('created_at < ?', filter.until);
    if (after !== null) {
      params.push(...cursorKey(after, ['number', 'string']));
      where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(limit + 1);
    const r = await this.db.query<Row>(
      `SELECT * FROM execution ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = r.rows.slice(0, limit).map(rowToExecution);
    const last = items[items.length - 1];
    return { items, next: r.rows.length > limit ? encodeCursor([last.created_at.getTime(), last.id]) : null };
  }

  async deleteExecutionsBefore(before: Date) {
    // execution_created_idx
    const r = await this.db.query(
      "DELETE FROM execution WHERE created_at < $1 AND status NOT IN ('queued', 'running')",
      [before],
    );
    return r.rowCount;
  }

  async requestCancel(id: string, at: Date) {
    const r = await this.db.query("UPDATE execution SET cancel_requested_at = $2 WHERE id = $1 AND status = 'running'", [id, at]);
    return r.rowCount === 1;
  }

  async cancelRequested(workerId: string) {
    // execution_worker_idx
    const r = await this.db.query<Row>(
      "SELECT id FROM execution WHERE worker_id = $1 AND status = 'running' AND cancel_requested_at IS NOT NULL",
      [workerId],
    );
    return r.rows.map((x) => x.id as string);
  }

  async runningOnGoneWorkers() {
    // execution_worker_idx (only running runs are in it), then the worker's primary key.
    const r = await this.db.query<Row>(
      `SELECT e.* FROM execution e JOIN worker w ON w.id = e.worker_id
        WHERE e.status = 'running' AND w.state = 'gone'`,
      [],
    );
    return r.rows.map(rowToExecution);
  }

  async batchSummary(batchId: string): Promise<BatchSummary | null> {
    // execution_batch_idx
    const r = await this.db.query<Row>(
      `SELECT status, count(*) AS n, min(job_id) AS job_id, min(created_at) AS submitted, min(started_at) AS started,
              max(finished_at) AS finished
         FROM execution WHERE batch_id = $1 GROUP BY status`,
      [batchId],
    );
    if (r.rows.length === 0) return null;
    const counts = countsOf<ExecutionStatus>(r.rows, 'status');
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    const done = r.rows.every((x) => x.status !== 'queued' && x.status !== 'running');
    const min = (k: string) => r.rows.map((x) => x[k] as Date | null).filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
    const finished = r.rows.map((x) => x.finished as Date | null).filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    return {
      batch_id: batchId,
      job_id: (r.rows[0].job_id as string | null) ?? null,
      total,
      counts,
      submitted_at: min('submitted')!,
      started_at: min('started'),
      finished_at: done ? finished : null,
    };
  }

  async getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats } | null> {
    // job_pkey, then execution_job_idx twice: the counts, and the newest run beside them as
    // one JSON value (job and execution share column names).
    const r = await this.db.query<Row>(
      `SELECT j.*, a.total, a.succeeded, a.failed, a.avg_ms, to_jsonb(l) AS latest
         FROM job j
        CROSS JOIN LATERAL (
          SELECT count(*) AS total,
                 count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                 count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'lost')) AS failed,
                 avg(duration_ms) FILTER (WHERE status = 'succeeded') AS avg_ms
            FROM execution WHERE job_id = $1) a
         LEFT JOIN LATERAL (SELECT * FROM execution WHERE job_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1) l ON true
        WHERE j.job_id = $1`,
      [jobId],
      { prepare: true },
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      job: rowToJob(row),
      stats: {
        total: Number(row.total),
        succeeded: Number(row.succeeded),
        failed: Number(row.failed),
        average_duration_ms: row.avg_ms === null ? null : Math.round(Number(row.avg_ms)),
        latest: row.latest ? rowToExecution(jsonDates(row.latest as Row, executionTimes)) : null,
      },
    };
  }

  async insertFailure(f: FailureRecord) {
    const { text, params } = insertSql('failure', { ...f, kwargs: json(f.kwargs) });
    await this.db.query(text, params);
  }

  async listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>> {
    // failure_time_idx
    const params: unknown[] = [];
    let where = '';
    if (after !== null) {
      params.push(...cursorKey(after, ['number', 'string']));
      where = 'WHERE (time, id) < ($1, $2)';
    }
    params.push(limit + 1);
    const r = await this.db.query<Row>(
      `SELECT * FROM failure ${where} ORDER BY time DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = r.rows.slice(0, limit).map(rowToFailure);
    const last = items[items.length - 1];
    return { items, next: r.rows.length > limit ? encodeCursor([last.time.getTime(), last.id]) : null };
  }

  async deleteFailures() {
    const r = await this.db.query<Row>('DELETE FROM failure RETURNING id', []);
    return r.rows.map((x) => x.id as string);
  }

  async deleteFailuresBefore(before: Date) {
    const r = await this.db.query('DELETE FROM failure WHERE time < $1', [before]);
    return r.rowCount;
  }

  async registerWorker(w: WorkerRecord) {
    const { text, params } = insertSql('worker', { ...w, memory: json(w.memory) });
    await this.db.query(text, params);
  }

  async heartbeatWorker(id: string, beat: WorkerHeartbeat) {
    // A gone worker stays gone: its runs were settled as lost and may run elsewhere.
    const r = await this.db.query<Row>(
      `UPDATE worker SET heartbeat_at = $2, running = $3, cpu_load = $4, memory = $5
        WHERE id = $1 AND state <> 'gone' RETURNING *`,
      [id, beat.heartbeat_at, beat.running, beat.cpu_load, json(beat.memory)],
    );
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  async getWorker(id: string) {
    const r = await this.db.query<Row>('SELECT * FROM worker WHERE id = $1', [id]);
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  async listWorkers(after: string | null, limit: number): Promise<Page<WorkerRecord>> {
    // worker_started_idx
    const params: unknown[] = [];
    let where = '';
    if (after !== null) {
      params.push(...cursorKey(after, ['number', 'string']));
      where = 'WHERE (started_at, id) < ($1, $2)';
    }
    params.push(limit + 1);
    const r = await this.db.query<Row>(`SELECT * FROM worker ${where} ORDER BY started_at DESC, id DESC LIMIT $${params.length}`, params);
    const items = r.rows.slice(0, limit).map(rowToWorker);
    const last = items[items.length - 1];
    return { items, next: r.rows.length > limit ? encodeCursor([last.started_at.getTime(), last.id]) : null };
  }

  async setWorkerState(id: string, state: WorkerState) {
    const r = await this.db.query<Row>("UPDATE worker SET state = $2 WHERE id = $1 AND state <> 'gone' RETURNING *", [id, state]);
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  async holdWorkerSession(id: string, onError: (err: Error) => void) {
    const lock = await this.db.holdSessionLock(id, onError);
    if (lock) await this.db.query('UPDATE worker SET session_lock = true WHERE id = $1', [id]);
    return lock;
  }

  async markWorkersGone(deadline: Date, sessionDeadline: Date) {
    // worker_alive_idx; a worker tied to a session (never one on the embedded store) is alive
    // while its lock shows in pg_locks.
    const r = await this.db.query<Row>(
      `UPDATE worker w SET state = 'gone'
        WHERE state <> 'gone'
          AND (heartbeat_at < $1
               OR (session_lock AND heartbeat_at < $2 AND NOT EXISTS (
                     SELECT 1 FROM pg_locks l
                      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        AND (l.classid, l.objid) = (SELECT k1::oid, k2::oid FROM (SELECT ${sessionLockKeys('w.id')}) AS k(k1, k2)))))
        RETURNING id`,
      [deadline, sessionDeadline],
    );
    return r.rows.map((x) => x.id as string);
  }

  async stats(): Promise<ServiceStats> {
    const [workers, jobs, executions] = await Promise.all([
      this.db.query<Row>('SELECT state, count(*) AS n FROM worker GROUP BY state', []),
      this.db.query<Row>('SELECT count(*) AS n FROM job', []),
      this.db.query<Row>('SELECT status, count(*) AS n FROM execution GROUP BY status', []),
    ]);
    return {
      workers: countsOf<WorkerState>(workers.rows, 'state'),
      jobs: Number(jobs.rows[0].n),
      executions: countsOf<ExecutionStatus>(executions.rows, 'status'),
    };
  }

  async queuedCount() {
    // execution_status_idx
    const r = await this.db.query<Row>("SELECT count(*) AS n FROM execution WHERE status = 'queued'", []);
    return Number(r.rows[0].n);
  }

  async workerCounts() {
    const r = await this.db.query<Row>('SELECT state, count(*) AS n FROM worker GROUP BY state', []);
    return countsOf<WorkerState>(r.rows, 'state');
  }

  async insertAudits(records: AuditRecord[]) {
    if (records.length === 0) return;
    const { text, params } = insertRowsSql('audit', records.map((a) => ({ ...a })));
    await this.db.query(text, params);
  }

  async listAudit(filter: AuditFilter, after: string | null, limit: number): Promise<Page<AuditRecord>> {
    // audit_operation_idx, audit_token_idx or audit_time_idx, each ending in (time DESC, id DESC).
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      params.push(v);
      where.push(cond.replace('?', `$${params.length}`));
    };
    if (filter.operation !== undefined) add('operation = ?', filter.operation);
    if (filter.token_name !== undefined) add('token_name = ?', filter.token_name);
    if (filter.since !== undefined) add('time >= ?', filter.since);
    if (filter.until !== undefined) add('time < ?', filter.until);
    if (after !== null) {
      params.push(...cursorKey(after, ['number', 'string']));
      where.push(`(time, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(limit + 1);
    const r = await this.db.query<Row>(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = r.rows.slice(0, limit).map(rowToAudit);
    const last = items[items.length - 1];
    return { items, next: r.rows.length > limit ? encodeCursor([last.time.getTime(), last.id]) : null };
  }

  async getServiceState(): Promise<ServiceState> {
    const r = await this.db.query<Row>("SELECT state FROM service_state WHERE id = 'service'", []);
    return (r.rows[0]?.state as ServiceState | undefined) ?? 'running';
  }

  async setServiceState(state: ServiceState) {
    await this.db.query(
      `INSERT INTO service_state (id, state, updated_at) VALUES ('service', $1, now())
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
      [state],
    );
  }
}
