import type { AuditRecord, ExecutionPatch, ExecutionRecord, ExecutionStatus, FailureRecord, JobPatch, JobRecord, WorkerRecord, WorkerState } from '../records.js';
import { parseTimestamptz } from '../../db/timestamps.js';

/** Rows as the SQL stores read and write them, and their records. */
export type Row = Record<string, unknown>;

// JSON columns are sent as text: pg and PGlite both cast text parameters to jsonb.
export const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

const chainColumns = new Set(['on_success', 'on_failure', 'on_finish', 'after_all']);

/**
 * A job's columns. JSON columns as JSON text, as a statement's own parameters take them; with
 * `jsonText` false they stay values, for rows that go into one JSON parameter whole
 * (insertRowsSql), which would otherwise parse that text back. No JSON column of a job holds a
 * bare string, so the two cannot be confused there.
 */
export function jobToRow(job: JobPatch & { job_id?: string; created_at?: Date }, jsonText = true): Row {
  const row: Row = {};
  // for-in rather than Object.entries: a bulk create turns thousands of jobs of some 40 fields into rows.
  for (const k in job) {
    const v = (job as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (k === 'when') row.when_at = v;
    else if (k === 'kwargs' || k === 'notify' || k === 'deadline' || chainColumns.has(k)) row[k] = jsonText ? json(v) : v;
    else row[k] = v;
  }
  return row;
}

/** Every column of `job`, in its order (a test holds this to the table). */
export const jobColumns = [
  'job_id',
  'handler',
  'kwargs',
  'state',
  'periodically',
  'interval_seconds',
  'cron',
  'timezone',
  'when_at',
  'misfire_grace_time',
  'timeout',
  'concurrency_policy',
  'retries',
  'retry_backoff',
  'next_run_at',
  'last_run_at',
  'last_status',
  'source',
  'source_file',
  'created_at',
  'updated_at',
  'version',
  'notify',
  'pause_after_failures',
  'deadline',
  'failure_streak',
  'on_success',
  'on_failure',
  'on_finish',
  'after_all',
  'catch_up',
  'start_at',
  'end_at',
  'max_runs',
  'jitter',
  'image_status',
  'image_error',
] as const;

/** JSON columns whose usual value, empty, rowToJob gives for NULL as well. */
const emptyJson: Partial<Record<(typeof jobColumns)[number], string>> = {
  kwargs: "'{}'",
  notify: "'[]'",
  on_success: "'[]'",
  on_failure: "'[]'",
  on_finish: "'[]'",
  after_all: "'[]'",
};

/**
 * The select list of a job row for rowToJob, for reads of many jobs: a JSON column that holds
 * its empty value comes as NULL, which rowToJob reads as that value, so the client neither
 * decodes nor parses it (a list of 50 jobs had some 300 such columns, most of them `[]`).
 */
export const jobSelectList = jobColumns.map((c) => (emptyJson[c] ? `NULLIF(${c}, ${emptyJson[c]}::jsonb) AS ${c}` : c)).join(', ');

export function rowToJob(r: Row): JobRecord {
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
    catch_up: (r.catch_up as JobRecord['catch_up'] | undefined) ?? 'none',
    start_at: (r.start_at as Date | null | undefined) ?? null,
    end_at: (r.end_at as Date | null | undefined) ?? null,
    max_runs: r.max_runs === null || r.max_runs === undefined ? null : Number(r.max_runs),
    jitter: r.jitter === null || r.jitter === undefined ? null : Number(r.jitter),
    next_run_at: (r.next_run_at as Date | null) ?? null,
    last_run_at: (r.last_run_at as Date | null) ?? null,
    last_status: (r.last_status as JobRecord['last_status']) ?? null,
    source: r.source as JobRecord['source'],
    source_file: (r.source_file as string | null) ?? null,
    on_success: (r.on_success as JobRecord['on_success'] | null) ?? [],
    on_failure: (r.on_failure as JobRecord['on_failure'] | null) ?? [],
    on_finish: (r.on_finish as JobRecord['on_finish'] | null) ?? [],
    after_all: (r.after_all as string[] | null) ?? [],
    image_status: (r.image_status as JobRecord['image_status']) ?? null,
    image_error: (r.image_error as string | null) ?? null,
    created_at: r.created_at as Date,
    updated_at: r.updated_at as Date,
    // A job stored before migration 000013 is at its first version.
    version: r.version === null || r.version === undefined ? 1 : Number(r.version),
    notify: (r.notify as JobRecord['notify'] | null | undefined) ?? [],
    pause_after_failures: r.pause_after_failures === null || r.pause_after_failures === undefined ? null : Number(r.pause_after_failures),
    deadline: (r.deadline as JobRecord['deadline'] | undefined) ?? null,
    failure_streak: Number(r.failure_streak ?? 0),
  };
}

export function executionToRow(e: ExecutionPatch & { id?: string; created_at?: Date }): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    row[k] = k === 'kwargs' || k === 'selection' || k === 'triggered_by' ? json(v) : v;
  }
  return row;
}

export function rowToExecution(r: Row): ExecutionRecord {
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
    // A run stored before migration 000006 is its own first attempt.
    idempotency_key: (r.idempotency_key as string | null) ?? (r.id as string),
    fencing_token: r.fencing_token === null || r.fencing_token === undefined ? null : Number(r.fencing_token),
    job_version: r.job_version === null || r.job_version === undefined ? null : Number(r.job_version),
    active_execution_id: (r.active_execution_id as string | null | undefined) ?? null,
    jitter_ms: r.jitter_ms === null || r.jitter_ms === undefined ? null : Number(r.jitter_ms),
    restarted_from: (r.restarted_from as string | null) ?? null,
    triggered_by: (r.triggered_by as ExecutionRecord['triggered_by']) ?? null,
    chains_pending: Boolean(r.chains_pending),
    notifies: Boolean(r.notifies),
  };
}

export function rowToFailure(r: Row): FailureRecord {
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

export function rowToAudit(r: Row): AuditRecord {
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
    client_address: (r.client_address as string | null) ?? null,
    count: r.count === undefined || r.count === null ? 1 : Number(r.count),
    ...(r.overrides !== null && r.overrides !== undefined ? { overrides: r.overrides as Record<string, unknown> } : {}),
  };
}

export function rowToWorker(r: Row): WorkerRecord {
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

export const countsOf = <K extends string>(rows: Row[], key: string): Partial<Record<K, number>> =>
  Object.fromEntries(rows.map((r) => [r[key] as K, Number(r.n)])) as Partial<Record<K, number>>;

/**
 * Every column of an execution row but its output (up to JOBS_OUTPUT_MAX_BYTES), which reads
 * that do not show it leave out: lists of runs, a job's newest run, the runs a fire decides on.
 */
export const executionListColumnsOf = (table?: string): string =>
  `${[
    ...['id', 'job_id', 'handler', 'kwargs', 'status', 'trigger', 'parent_id', 'batch_id', 'selection', 'attempt', 'timeout', 'worker_id'],
    ...['cancel_requested_at', 'scheduled_at', 'started_at', 'finished_at', 'duration_ms', 'progress', 'error', 'stack', 'output_truncated'],
    ...['created_at', 'idempotency_key', 'fencing_token', 'job_version', 'active_execution_id', 'jitter_ms', 'restarted_from', 'triggered_by'],
    'chains_pending',
  ]
    .map((c) => (table ? `${table}.${c}` : c))
    .join(', ')}, '{}'::text[] AS output`;
export const executionListColumns = executionListColumnsOf();

/** The timestamp columns of an execution row. */
export const executionTimes = ['cancel_requested_at', 'scheduled_at', 'started_at', 'finished_at', 'created_at'];

/**
 * A row read as JSON (to_jsonb) with its timestamps as Dates. JSON holds them as ISO text with
 * a `T` (`2026-11-26T18:05:24.241773+00:00`); otherwise it is PostgreSQL's own text form, whose
 * offsets may carry seconds (historical zones), which Date's parser refuses.
 */
export function jsonDates(row: Row, columns: string[]): Row {
  for (const c of columns) {
    const v = row[c];
    if (typeof v === 'string') row[c] = parseTimestamptz(`${v.slice(0, 10)} ${v.slice(11)}`);
  }
  return row;
}

/**
 * Statuses as a SQL list (`'queued', 'running'`), written into the statement text rather than
 * passed as a parameter: a partial index (execution_active_idx) serves a query only when the
 * query's condition is the index's own, constants and all.
 */
export const sqlList = (values: readonly string[]): string => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
