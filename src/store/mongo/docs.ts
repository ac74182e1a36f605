import type { AuditRecord, ExecutionRecord, FailureRecord, JobRecord, JobVersionRecord, PauseRecord, ServiceState, WorkerRecord } from '../records.js';

/** The record types as stored: the id is the document's `_id`, every other field keeps its name. */
export type JobDoc = Omit<JobRecord, 'job_id'> & { _id: string };
/** `output_lines`: the lines the run has written in all (absent on a run stored before it was counted). */
export type ExecutionDoc = Omit<ExecutionRecord, 'id'> & { _id: string; output_lines?: number };
export type FailureDoc = Omit<FailureRecord, 'id'> & { _id: string };
/** `token`: the registration's fencing token (absent on a worker stored before it was kept). */
export type WorkerDoc = Omit<WorkerRecord, 'id'> & { _id: string; token?: number };
export type AuditDoc = Omit<AuditRecord, 'id'> & { _id: string };
export interface ServiceStateDoc {
  _id: string;
  state: ServiceState;
  updated_at: Date;
  paused_at?: Date | null;
  paused_by?: string | null;
}

/** A job version as stored: `_id` is `job_id#version` (no job_id holds a `#`), so one version is stored once. */
export type JobVersionDoc = JobVersionRecord & { _id: string };
/** A pause as stored; `job_id` null for the service's. */
export type PauseDoc = PauseRecord & { _id: string };

export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The fields of a patch that are set: undefined means "leave as is", as in the SQL store. */
export function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function jobToDoc(job: JobRecord): JobDoc {
  return {
    _id: job.job_id,
    handler: job.handler,
    kwargs: job.kwargs ?? {},
    state: job.state,
    periodically: job.periodically ?? null,
    interval_seconds: job.interval_seconds ?? null,
    cron: job.cron ?? null,
    timezone: job.timezone ?? null,
    when: job.when ?? null,
    misfire_grace_time: job.misfire_grace_time ?? null,
    timeout: job.timeout ?? null,
    concurrency_policy: job.concurrency_policy ?? null,
    retries: job.retries ?? 0,
    retry_backoff: job.retry_backoff ?? 0,
    next_run_at: job.next_run_at ?? null,
    last_run_at: job.last_run_at ?? null,
    last_status: job.last_status ?? null,
    source: job.source ?? 'api',
    source_file: job.source_file ?? null,
    created_at: job.created_at,
    updated_at: job.updated_at,
    version: job.version ?? 1,
  };
}

export function docToJob(d: JobDoc): JobRecord {
  return {
    job_id: d._id,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    state: d.state,
    periodically: d.periodically ?? null,
    interval_seconds: num(d.interval_seconds),
    cron: d.cron ?? null,
    timezone: d.timezone ?? null,
    when: d.when ?? null,
    misfire_grace_time: num(d.misfire_grace_time),
    timeout: num(d.timeout),
    concurrency_policy: d.concurrency_policy ?? null,
    retries: Number(d.retries ?? 0),
    retry_backoff: Number(d.retry_backoff ?? 0),
    next_run_at: d.next_run_at ?? null,
    last_run_at: d.last_run_at ?? null,
    last_status: d.last_status ?? null,
    source: d.source,
    source_file: d.source_file ?? null,
    created_at: d.created_at,
    updated_at: d.updated_at,
    // A job stored before versions were kept is at its first.
    version: Number(d.version ?? 1),
  };
}

export function executionToDoc(e: ExecutionRecord): ExecutionDoc {
  return {
    _id: e.id,
    job_id: e.job_id ?? null,
    handler: e.handler,
    kwargs: e.kwargs ?? {},
    status: e.status,
    trigger: e.trigger,
    parent_id: e.parent_id ?? null,
    batch_id: e.batch_id ?? null,
    selection: e.selection ?? null,
    attempt: e.attempt ?? 1,
    timeout: e.timeout ?? null,
    worker_id: e.worker_id ?? null,
    cancel_requested_at: e.cancel_requested_at ?? null,
    scheduled_at: e.scheduled_at,
    started_at: e.started_at ?? null,
    finished_at: e.finished_at ?? null,
    duration_ms: e.duration_ms ?? null,
    progress: e.progress ?? null,
    error: e.error ?? null,
    stack: e.stack ?? null,
    output: e.output ?? [],
    output_truncated: e.output_truncated ?? false,
    created_at: e.created_at,
    idempotency_key: e.idempotency_key ?? e.id,
    fencing_token: e.fencing_token ?? null,
    job_version: e.job_version ?? null,
    active_execution_id: e.active_execution_id ?? null,
  };
}

export function docToExecution(d: ExecutionDoc): ExecutionRecord {
  return {
    id: d._id,
    job_id: d.job_id ?? null,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    status: d.status,
    trigger: d.trigger,
    parent_id: d.parent_id ?? null,
    batch_id: d.batch_id ?? null,
    selection: d.selection ?? null,
    attempt: Number(d.attempt ?? 1),
    timeout: num(d.timeout),
    worker_id: d.worker_id ?? null,
    cancel_requested_at: d.cancel_requested_at ?? null,
    scheduled_at: d.scheduled_at,
    started_at: d.started_at ?? null,
    finished_at: d.finished_at ?? null,
    duration_ms: num(d.duration_ms),
    progress: num(d.progress),
    error: d.error ?? null,
    stack: d.stack ?? null,
    output: d.output ?? [],
    output_truncated: Boolean(d.output_truncated),
    created_at: d.created_at,
    idempotency_key: d.idempotency_key ?? d._id,
    fencing_token: num(d.fencing_token),
    job_version: num(d.job_version),
    active_execution_id: d.active_execution_id ?? null,
  };
}

export function failureToDoc(f: FailureRecord): FailureDoc {
  return {
    _id: f.id,
    failed_job_id: f.failed_job_id ?? null,
    execution_id: f.execution_id,
    handler: f.handler,
    kwargs: f.kwargs ?? {},
    error: f.error,
    traceback: f.traceback ?? null,
    time: f.time,
  };
}

export function docToFailure(d: FailureDoc): FailureRecord {
  return {
    id: d._id,
    failed_job_id: d.failed_job_id ?? null,
    execution_id: d.execution_id,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    error: d.error,
    traceback: d.traceback ?? null,
    time: d.time,
  };
}

export function workerToDoc(w: WorkerRecord): WorkerDoc {
  return {
    _id: w.id,
    name: w.name,
    host: w.host,
    pid: w.pid,
    version: w.version,
    started_at: w.started_at,
    heartbeat_at: w.heartbeat_at,
    handlers: w.handlers,
    running: w.running ?? 0,
    cpu_load: w.cpu_load ?? 0,
    memory: w.memory,
    state: w.state,
  };
}

export function docToWorker(d: WorkerDoc): WorkerRecord {
  return {
    id: d._id,
    name: d.name,
    host: d.host,
    pid: Number(d.pid),
    version: d.version,
    started_at: d.started_at,
    heartbeat_at: d.heartbeat_at,
    handlers: d.handlers ?? [],
    running: Number(d.running),
    cpu_load: Number(d.cpu_load),
    memory: d.memory,
    state: d.state,
  };
}

export function auditToDoc(a: AuditRecord): AuditDoc {
  const { id, ...rest } = a;
  return { _id: id, ...rest };
}

export function docToAudit(d: AuditDoc): AuditRecord {
  return {
    id: d._id,
    time: d.time,
    request_id: d.request_id ?? null,
    token_name: d.token_name ?? null,
    operation: d.operation,
    method: d.method,
    path: d.path,
    job_id: d.job_id ?? null,
    execution_id: d.execution_id ?? null,
    worker_id: d.worker_id ?? null,
    batch_id: d.batch_id ?? null,
    status: Number(d.status),
    outcome: d.outcome,
    client_address: d.client_address ?? null,
    // Records written before the count was kept stand for one call each.
    count: d.count === undefined || d.count === null ? 1 : Number(d.count),
    ...(d.overrides !== null && d.overrides !== undefined ? { overrides: d.overrides } : {}),
  };
}

export const countsOf = <K extends string>(rows: Array<{ _id: K; n: number }>): Partial<Record<K, number>> =>
  Object.fromEntries(rows.map((r) => [r._id, Number(r.n)])) as Partial<Record<K, number>>;
