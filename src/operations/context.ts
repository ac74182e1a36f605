import type { Catalog } from '../scheduling/catalog.js';
import type { Config } from '../config/config.js';
import type { components } from '../generated/openapi.js';
import type { Metrics } from './metrics.js';
import type { StorageCheck } from '../db/storage.js';
import { Problem } from './problem.js';
import type { OpenApiDocument } from '../contract/openapi.js';
import type { Scheduler } from '../scheduling/core.js';
import type { LiveStreams } from './streams.js';
import type { AuditRecord, ExecutionRecord, FailureRecord, JobRecord, Store } from '../store/types.js';
import { isoTime, isoOrNull } from './iso-time.js';
import { redactKwargs, redactText } from '../observability/redact.js';

/** Error texts as reads show them: credentials redacted (src/observability/redact.ts). */
const textOrNull = (t: string | null) => (t === null ? null : redactText(t));

export type Schemas = components['schemas'];

/** What the operation modules may use: the scheduling core, the store for reads, the catalog. */
export interface Services {
  config: Config;
  store: Store;
  scheduler: Scheduler;
  catalog: Catalog;
  doc: OpenApiDocument;
  yaml: string;
  metrics: Metrics;
  /** The live event streams (GET /events, a followed run's output). */
  live: LiveStreams;
  /** Whether the database's storage takes writes (readiness); absent where the store cannot tell. */
  storage?: StorageCheck;
}

/** A date-time query parameter as a Date; 400 naming the field when it is not one. */
export function queryDate(field: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw Problem.invalid([{ field, reason: `'${v}' is not an ISO-8601 date and time` }]);
  return d;
}

export function jobBody(job: JobRecord): Schemas['Job'] {
  return {
    job_id: job.job_id,
    handler: job.handler,
    kwargs: redactKwargs(job.kwargs),
    state: job.state,
    periodically: job.periodically,
    cron: job.cron,
    timezone: job.timezone,
    when: isoOrNull(job.when),
    misfire_grace_time: job.misfire_grace_time,
    timeout: job.timeout,
    concurrency_policy: job.concurrency_policy,
    retries: job.retries,
    retry_backoff: job.retry_backoff,
    next_run_time: job.state === 'paused' ? null : isoOrNull(job.next_run_at),
    last_run_time: isoOrNull(job.last_run_at),
    last_status: job.last_status,
    source: job.source,
    created_at: isoTime(job.created_at),
    updated_at: isoTime(job.updated_at),
    version: job.version,
  };
}

export function failureBody(f: FailureRecord): Schemas['Failure'] {
  return {
    failed_job_id: f.failed_job_id,
    execution_id: f.execution_id,
    handler: f.handler,
    kwargs: redactKwargs(f.kwargs),
    error: redactText(f.error),
    traceback: textOrNull(f.traceback),
    time: isoTime(f.time),
  };
}

export function executionBody(e: ExecutionRecord): Schemas['Execution'] {
  return {
    id: e.id,
    job_id: e.job_id,
    handler: e.handler,
    kwargs: redactKwargs(e.kwargs),
    status: e.status,
    trigger: e.trigger,
    parent_id: e.parent_id,
    batch_id: e.batch_id,
    selection: e.selection,
    attempt: e.attempt,
    timeout: e.timeout,
    worker_id: e.worker_id,
    cancel_requested_at: isoOrNull(e.cancel_requested_at),
    scheduled_at: isoTime(e.scheduled_at),
    started_at: isoOrNull(e.started_at),
    finished_at: isoOrNull(e.finished_at),
    duration_ms: e.duration_ms,
    progress: e.progress,
    error: textOrNull(e.error),
    stack: textOrNull(e.stack),
    output_truncated: e.output_truncated,
    created_at: isoTime(e.created_at),
    idempotency_key: e.idempotency_key,
    fencing_token: e.fencing_token,
    job_version: e.job_version,
  };
}

export function auditBody(a: AuditRecord): Schemas['AuditRecord'] {
  // Object fields (kwargs a call gave) redacted as kwargs are; names such as token_name are not credentials.
  const fields = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'object' && v !== null && !(v instanceof Date) ? redactKwargs(v) : v]));
  return { ...(fields as AuditRecord), path: redactText(a.path), time: isoTime(a.time), overrides: (fields as AuditRecord).overrides ?? null };
}
