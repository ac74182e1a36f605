import type { SqlClient } from '../../db/sql-client.js';
import type { Row } from './rows.js';

/**
 * Statements built from rows: the columns a record sets decide the text, so these are made
 * per call (the fixed statements are consts beside the code that runs them).
 */

/**
 * A condition that is true once the CTE `locks` (a SELECT ... FOR UPDATE that locks rows in key
 * order, so two statements cannot deadlock) has run to its end: read by an UPDATE or DELETE of
 * the same rows, it takes them after they are all locked. It is evaluated once (an InitPlan).
 * A semi-join on the CTE (`key IN (SELECT key FROM locks)`) did the same, but PostgreSQL, which
 * estimates a CTE of locked rows at one row, planned it as a scan of the CTE for each row
 * written: a statement ending 1,000 runs took 0.8 s, nearly all of it rescanning its CTEs.
 */
export const afterLocks = (locks: string) => `(SELECT count(*) FROM ${locks}) >= 0`;

/** SQL types of the columns updateRows can set (for json_to_recordset). */
export const columnTypes: Record<'job' | 'execution', Record<string, string>> = {
  job: {
    handler: 'text',
    kwargs: 'jsonb',
    state: 'text',
    periodically: 'text',
    interval_seconds: 'bigint',
    cron: 'text',
    timezone: 'text',
    when_at: 'timestamptz',
    misfire_grace_time: 'integer',
    timeout: 'integer',
    concurrency_policy: 'text',
    retries: 'integer',
    retry_backoff: 'integer',
    catch_up: 'text',
    start_at: 'timestamptz',
    end_at: 'timestamptz',
    max_runs: 'integer',
    jitter: 'integer',
    next_run_at: 'timestamptz',
    last_run_at: 'timestamptz',
    last_status: 'text',
    source: 'text',
    source_file: 'text',
    on_success: 'jsonb',
    on_failure: 'jsonb',
    on_finish: 'jsonb',
    after_all: 'jsonb',
    image_status: 'text',
    image_error: 'text',
    updated_at: 'timestamptz',
    version: 'integer',
    notify: 'jsonb',
    pause_after_failures: 'integer',
    deadline: 'jsonb',
    failure_streak: 'integer',
  },
  execution: {
    job_id: 'text',
    handler: 'text',
    kwargs: 'jsonb',
    status: 'text',
    trigger: 'text',
    parent_id: 'text',
    batch_id: 'text',
    selection: 'jsonb',
    attempt: 'integer',
    timeout: 'integer',
    worker_id: 'text',
    cancel_requested_at: 'timestamptz',
    scheduled_at: 'timestamptz',
    started_at: 'timestamptz',
    finished_at: 'timestamptz',
    duration_ms: 'bigint',
    progress: 'real',
    error: 'text',
    stack: 'text',
    output: 'text[]',
    output_truncated: 'boolean',
    idempotency_key: 'text',
    fencing_token: 'bigint',
    job_version: 'integer',
    active_execution_id: 'text',
    jitter_ms: 'integer',
    restarted_from: 'text',
    triggered_by: 'jsonb',
    chains_pending: 'boolean',
    notifies: 'boolean',
  },
};

/**
 * The `cols` of a row as one element of a json_to_recordset parameter. JSON columns arriving
 * as JSON text (jobToRow, executionToRow) are nested as JSON. Null columns are left out:
 * json_to_recordset gives NULL for a missing key as for a JSON null, and most columns of a
 * new row are null, so the parameter is about half as long to write, send and parse.
 */
export function jsonRecord(row: Row, cols: string[], types: Record<string, string>, dates = new DateTexts()): Row {
  const rec: Row = {};
  for (const c of cols) {
    const v = row[c];
    if (v === null || v === undefined) continue;
    rec[c] = v instanceof Date ? dates.of(v) : types[c] === 'jsonb' && typeof v === 'string' ? JSON.parse(v) : v;
  }
  return rec;
}

/**
 * Dates as JSON writes them (toISOString), each instant once: the rows of one batch share most
 * of their times (created_at and updated_at are one instant, and often when and next_run_at),
 * and JSON.stringify would otherwise call Date.prototype.toJSON for every one of them.
 */
export class DateTexts {
  private readonly texts = new Map<number, string>();
  of(d: Date): string | null {
    const t = d.getTime();
    // An invalid date is null in JSON, as toJSON has it.
    if (Number.isNaN(t)) return null;
    let text = this.texts.get(t);
    if (text === undefined) this.texts.set(t, (text = d.toISOString()));
    return text;
  }
}

/**
 * A column of a json_to_recordset definition list: a JSON column is read as `json` and cast
 * to jsonb where the statement takes its value (recordsetValue). Given jsonb in the list,
 * PostgreSQL 15 took five times as long to read the records (1,000 jobs with six JSON
 * columns: 50 ms against 11 ms), the larger part of a bulk create's statement.
 */
export const recordsetColumn = (c: string, type: string) => `"${c}" ${type === 'jsonb' ? 'json' : type}`;
/** The value of column `c` of the records `v` (read as recordsetColumn lists it) as its own type. */
export const recordsetValue = (c: string, type: string, v = 'v') => (type === 'jsonb' ? `${v}."${c}"::jsonb` : `${v}."${c}"`);

/** SQL types of every column insertRowsSql writes (for json_to_recordset). */
const insertTypes: Record<'job' | 'execution' | 'audit', Record<string, string>> = {
  job: { job_id: 'text', created_at: 'timestamptz', last_run_at: 'timestamptz', last_status: 'text', ...columnTypes.job },
  execution: { id: 'text', created_at: 'timestamptz', ...columnTypes.execution },
  audit: {
    id: 'text',
    time: 'timestamptz',
    request_id: 'text',
    token_name: 'text',
    operation: 'text',
    method: 'text',
    path: 'text',
    job_id: 'text',
    execution_id: 'text',
    worker_id: 'text',
    batch_id: 'text',
    status: 'integer',
    outcome: 'text',
    client_address: 'text',
    count: 'integer',
    overrides: 'jsonb',
  },
};

/**
 * `INSERT INTO table (columns) SELECT ... FROM json_to_recordset($1)` for rows that all have the
 * columns of the first: one short statement and one parameter however many rows, where a
 * VALUES list of a few hundred rows with thousands of parameters took PostgreSQL tens of ms
 * to parse. `tail` follows (ON CONFLICT ..., RETURNING ...); `param` numbers the parameter, for
 * a statement that has others before it.
 */
export function insertRowsSql(
  table: 'job' | 'execution' | 'audit',
  rows: Row[],
  tail = '',
  param = 1,
  /** SQL computing a column instead of taking it from the rows (`v` is the row). */
  computed: Record<string, string> = {},
): { text: string; params: unknown[] } {
  const cols = Object.keys(rows[0]);
  const types = insertTypes[table];
  const dates = new DateTexts();
  return insertRecordsSql(
    table,
    cols,
    rows.map((row) => jsonRecord(row, cols, types, dates)),
    tail,
    param,
    computed,
  );
}

/** insertRowsSql for rows already in jsonRecord's form: `cols` are the columns written, a record's missing keys NULL. */
export function insertRecordsSql(
  table: 'job' | 'execution' | 'audit',
  cols: string[],
  records: Row[],
  tail = '',
  param = 1,
  /** SQL computing a column instead of taking it from the records (`v` is the record). */
  computed: Record<string, string> = {},
): { text: string; params: unknown[] } {
  const types = insertTypes[table];
  for (const c of cols) if (!types[c]) throw new Error(`${table}.${c} cannot be inserted from JSON rows`);
  const list = cols.map((c) => `"${c}"`).join(', ');
  const values = cols.map((c) => computed[c] ?? recordsetValue(c, types[c])).join(', ');
  return {
    text: `INSERT INTO ${table} (${list})
           SELECT ${values} FROM json_to_recordset($${param}::json) AS v(${cols.map((c) => recordsetColumn(c, types[c])).join(', ')}) ${tail}`,
    params: [JSON.stringify(records)],
  };
}

/**
 * One UPDATE per set of columns for many rows with their own values, the rows passed as one
 * JSON parameter. Rows are grouped by the columns they set, so a column a patch leaves out
 * keeps its value. `extra` adds a condition on `t` (the row) and may use parameter $2.
 */
export async function updateRows(
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
    for (const c of cols) if (!types[c]) throw new Error(`${table}.${c} cannot be set from JSON rows`);
    const dates = new DateTexts();
    const records = group.map((g) => ({ k: g.key, ...jsonRecord(g.row, cols, types, dates) }));
    // The LIMIT tells the planner how many rows the JSON holds: it takes 100 for any
    // json_to_recordset and would hash-join a whole table of a few thousand rows instead of
    // looking each row up by its key.
    // The rows are locked in key order first, so that two such batches cannot deadlock.
    const r = await db.query<{ k: string }>(
      `WITH v AS (SELECT * FROM json_to_recordset($1::json) AS v(k text, ${cols.map((c) => recordsetColumn(c, types[c])).join(', ')}) LIMIT ${records.length}),
            l AS (SELECT t.${key} FROM ${table} t WHERE t.${key} IN (SELECT k FROM v) ORDER BY t.${key} FOR UPDATE)
       UPDATE ${table} t SET ${cols.map((c) => `"${c}" = ${recordsetValue(c, types[c])}`).join(', ')}
         FROM v
        WHERE t.${key} = v.k AND ${afterLocks('l')} ${extra}
        RETURNING t.${key} AS k`,
      [JSON.stringify(records), ...extraParams],
    );
    for (const row of r.rows) moved.push(row.k);
  }
  return moved;
}

export function insertSql(table: string, row: Row): { text: string; params: unknown[] } {
  const cols = Object.keys(row);
  return {
    text: `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
    params: Object.values(row),
  };
}

export function setSql(row: Row, offset: number): { text: string; params: unknown[] } {
  const cols = Object.keys(row);
  return { text: cols.map((c, i) => `"${c}" = $${i + offset}`).join(', '), params: Object.values(row) };
}
