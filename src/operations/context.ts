import type { Catalog } from '../catalog.js';
import type { Config } from '../config.js';
import type { components } from '../generated/openapi.js';
import type { Metrics } from '../metrics.js';
import { Problem } from '../problem.js';
import type { OpenApiDocument } from '../openapi.js';
import type { Scheduler } from '../scheduling/core.js';
import type { AuditRecord, ExecutionRecord, FailureRecord, JobRecord, Store } from '../store/types.js';

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
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

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
    kwargs: job.kwargs,
    state: job.state,
    periodically: job.periodically,
    cron: job.cron,
    timezone: job.timezone,
    when: iso(job.when),
    misfire_grace_time: job.misfire_grace_time,
    timeout: job.timeout,
    concurrency_policy: job.concurrency_policy,
    retries: job.retries,
    retry_backoff: job.retry_backoff,
    next_run_time: job.state === 'paused' ? null : iso(job.next_run_at),
    last_run_time: iso(job.last_run_at),
    last_status: job.last_status,
    source: job.source,
    created_at: job.created_at.toISOString(),
    updated_at: job.updated_at.toISOString(),
  };
}

export function failureBody(f: FailureRecord): Schemas['Failure'] {
  return {
    failed_job_id: f.failed_job_id,
    execution_id: f.execution_id,
    handler: f.handler,
    kwargs: f.kwargs,
    error: f.error,
    traceback: f.traceback,
    time: f.time.toISOString(),
  };
}

export function executionBody(e: ExecutionRecord): Schemas['Execution'] {
  return {
    id: e.id,
    job_id: e.job_id,
    handler: e.handler,
    kwargs: e.kwargs,
    status: e.status,
    trigger: e.trigger,
    parent_id: e.parent_id,
    batch_id: e.batch_id,
    selection: e.selection,
    attempt: e.attempt,
    timeout: e.timeout,
    worker_id: e.worker_id,
    cancel_requested_at: iso(e.cancel_requested_at),
    scheduled_at: e.scheduled_at.toISOString(),
    started_at: iso(e.started_at),
    finished_at: iso(e.finished_at),
    duration_ms: e.duration_ms,
    progress: e.progress,
    error: e.error,
    stack: e.stack,
    output_truncated: e.output_truncated,
    created_at: e.created_at.toISOString(),
  };
}

export function auditBody(a: AuditRecord): Schemas['AuditRecord'] {
  return { ...a, time: a.time.toISOString() };
}
