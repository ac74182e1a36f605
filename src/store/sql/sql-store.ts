import type {
  ExecutionFilter,
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
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { SqlClient } from './client.js';
import { schemaSql } from './schema.js';

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
    selection: (r.selection as ExecutionRecord['selection']) ?? null,
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

  async migrate() {
    await this.db.exec(schemaSql);
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

  async insertJob(job: JobRecord) {
    const { text, params } = insertSql('job', jobToRow(job));
    const r = await this.db.query(`${text} ON CONFLICT (job_id) DO NOTHING`, params);
    return r.rowCount === 1;
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

  async getJob(jobId: string) {
    const r = await this.db.query<Row>('SELECT * FROM job WHERE job_id = $1', [jobId]);
    return r.rows[0] ? rowToJob(r.rows[0]) : null;
  }

  async listJobs(after: string | null, limit: number): Promise<Page<JobRecord>> {
    // Primary key order (job_pkey).
    const key = after === null ? null : (decodeCursor(after, ['string'])[0] as string);
    const r = key === null
      ? await this.db.query<Row>('SELECT * FROM job ORDER BY job_id LIMIT $1', [limit + 1])
      : await this.db.query<Row>('SELECT * FROM job WHERE job_id > $1 ORDER BY job_id LIMIT $2', [key, limit + 1]);
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

  async getExecution(id: string) {
    const r = await this.db.query<Row>('SELECT * FROM execution WHERE id = $1', [id]);
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

  async listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>> {
    // execution_job_idx, execution_status_idx, execution_parent_idx or execution_created_idx,
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
    if (after !== null) {
      const [ms, id] = decodeCursor(after, ['number', 'string']);
      params.push(new Date(ms as number), id);
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
      "DELETE FROM execution WHERE created_at < $1 AND status IN ('succeeded', 'failed', 'missed')",
      [before],
    );
    return r.rowCount;
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
      const [ms, id] = decodeCursor(after, ['number', 'string']);
      params.push(new Date(ms as number), id);
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
