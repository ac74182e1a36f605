/**
 * The records the store keeps (jobs, execution records, failure records, workers, audit
 * records, the service state) and the values they take. The record stores (jobs.ts,
 * executions.ts, ...) read and write them; types.ts gathers everything.
 */

export type JobState = 'running' | 'paused';
export type JobSource = 'api' | 'file';
export type ServiceState = 'running' | 'paused';
/** Since when and by whom a paused service is paused (null: paused before this was recorded). */
export interface ServicePause {
  paused_at: Date | null;
  paused_by: string | null;
}

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'missed' | 'lost';
export const executionStatuses: readonly ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'lost'];
export const finalStatuses: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'lost'];
/** Statuses that count as the job failing: they leave a failure record and may be retried. */
export const failedStatuses: readonly ExecutionStatus[] = ['failed', 'timed_out', 'lost'];
/** Statuses of a run that is not over (queued or running): every status that is not final. */
export const activeStatuses: readonly ExecutionStatus[] = executionStatuses.filter((s) => !finalStatuses.includes(s));

/** What a fire or a manual run does when another run of the same job is still active. */
export type ConcurrencyPolicy = 'allow' | 'forbid' | 'replace';
export type WorkerState = 'active' | 'blocked' | 'gone';
export const workerStates: readonly WorkerState[] = ['active', 'blocked', 'gone'];

/** What caused a run: its job's schedule, a flow handler starting a child, or a request. */
export type ExecutionTrigger = 'schedule' | 'flow' | 'manual';

export type Kwargs = Record<string, unknown>;

/** The steps of a selective run: run only `task_names`, and every later step when `run_subsequent`. */
export interface StepSelection {
  task_names: string[];
  run_subsequent: boolean;
}

export interface JobRecord {
  job_id: string;
  handler: string;
  kwargs: Kwargs;
  state: JobState;
  /** The interval as the user wrote it ("2 days", "5:00:00"); null when not periodic by interval. */
  periodically: string | null;
  interval_seconds: number | null;
  cron: string | null;
  timezone: string | null;
  /** First run time as asked for (UTC); null when it was "now" or one period later. */
  when: Date | null;
  misfire_grace_time: number | null;
  /** Seconds a run may take; null = the handler's or the global default. */
  timeout: number | null;
  /** null = the default: forbid for periodic jobs, allow for one-shot jobs. */
  concurrency_policy: ConcurrencyPolicy | null;
  /** Further attempts after a failed, timed-out or lost run. */
  retries: number;
  /** Seconds before the first retry; doubled for each further attempt. */
  retry_backoff: number;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_status: ExecutionStatus | null;
  source: JobSource;
  /** The default-jobs file a job came from: source 'file', or source 'api' once a change detached it (its file then no longer applies). */
  source_file: string | null;
  created_at: Date;
  updated_at: Date;
  /** 1 at create, one more for each change of the definition (PATCH, rollback, its file changed). */
  version: number;
}

export type JobPatch = Partial<Omit<JobRecord, 'job_id' | 'created_at'>>;

export interface ExecutionRecord {
  id: string;
  job_id: string | null;
  handler: string;
  kwargs: Kwargs;
  status: ExecutionStatus;
  trigger: ExecutionTrigger;
  parent_id: string | null;
  /** Runs queued together by one request with `times` > 1: a batch. */
  batch_id: string | null;
  selection: StepSelection | null;
  /** 1 for the first try, then one more per retry. */
  attempt: number;
  /** Seconds this run may take. */
  timeout: number | null;
  worker_id: string | null;
  /** Set when a cancel was asked for while the run was running; its worker acts on it. */
  cancel_requested_at: Date | null;
  scheduled_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  progress: number | null;
  error: string | null;
  stack: string | null;
  output: string[];
  output_truncated: boolean;
  created_at: Date;
  /** The same for every attempt of one fire or request (the first attempt's id): targets refuse duplicates by it. */
  idempotency_key: string;
  /** Drawn when the run starts, larger than any drawn before (a later attempt's is larger); null until then. */
  fencing_token: number | null;
  /** The version of its job's definition the run was made from; null for runs without a job. */
  job_version: number | null;
  /** A fire missed under `forbid`: the run that was active then. */
  active_execution_id: string | null;
}

export type ExecutionPatch = Partial<Omit<ExecutionRecord, 'id' | 'created_at'>>;

/** One definition of a job, kept when it is made (a create's is written at its first change). */
export interface JobVersionRecord {
  job_id: string;
  version: number;
  changed_at: Date;
  /** The token name of the call that made it (as its audit record names it); null when unknown or auth is off. */
  changed_by: string | null;
  /** The definition fields that differ from the version before (every field for version 1). */
  changed: string[];
  /** The definition as a create body would give it (kwargs unredacted, `when` as ISO text). */
  definition: Record<string, unknown>;
  /** The first fire of this version's schedule (the job's next run when it took effect); null for none. */
  first_fire: Date | null;
}

/** A time the job (job_id) or the whole service (job_id null) was paused; resumed_at null while it is. */
export interface PauseRecord {
  job_id: string | null;
  paused_at: Date;
  resumed_at: Date | null;
}

export interface FailureRecord {
  id: string;
  failed_job_id: string | null;
  execution_id: string;
  handler: string;
  kwargs: Kwargs;
  error: string;
  traceback: string | null;
  time: Date;
}

export interface ExecutionFilter {
  job_id?: string;
  status?: ExecutionStatus;
  handler?: string;
  parent_id?: string;
  batch_id?: string;
  /** created_at >= since */
  since?: Date;
  /** created_at < until */
  until?: Date;
}

export interface WorkerRecord {
  id: string;
  name: string;
  host: string;
  pid: number;
  version: string;
  started_at: Date;
  heartbeat_at: Date;
  handlers: string[];
  running: number;
  /** One-minute load average divided by the number of cores. */
  cpu_load: number;
  memory: { process_rss: number; system_total: number; system_free: number };
  state: WorkerState;
}

export type WorkerHeartbeat = Pick<WorkerRecord, 'heartbeat_at' | 'running' | 'cpu_load' | 'memory'>;

export interface BatchSummary {
  batch_id: string;
  job_id: string | null;
  total: number;
  counts: Partial<Record<ExecutionStatus, number>>;
  submitted_at: Date;
  started_at: Date | null;
  /** When the last run ended, once every run has. */
  finished_at: Date | null;
}

export interface JobStats {
  total: number;
  succeeded: number;
  failed: number;
  average_duration_ms: number | null;
  latest: ExecutionRecord | null;
}

export interface ServiceStats {
  workers: Partial<Record<WorkerState, number>>;
  jobs: number;
  executions: Partial<Record<ExecutionStatus, number>>;
}

/** How a call ended: success (1xx to 3xx), denied (401, 403), rejected (another 4xx), error (5xx). */
export type AuditOutcome = 'success' | 'denied' | 'rejected' | 'error';

/** One call that changes something (any operation but a GET), whatever its outcome. */
export interface AuditRecord {
  id: string;
  time: Date;
  request_id: string | null;
  /** The name of the token used; null when auth is off or the token was missing or unknown. */
  token_name: string | null;
  /** The operationId. */
  operation: string;
  method: string;
  path: string;
  job_id: string | null;
  execution_id: string | null;
  worker_id: string | null;
  batch_id: string | null;
  status: number;
  outcome: AuditOutcome;
  /** The caller's address; null when unknown (records from before it was kept). */
  client_address: string | null;
  /** Calls the record stands for: 1, or every denied call (401) of one operation and client in one window. */
  count: number;
  /** The kwargs a run request (runJob) gave to merge over the job's; absent when it gave none. */
  overrides?: Record<string, unknown> | null;
}

export interface AuditFilter {
  operation?: string;
  token_name?: string;
  /** time >= since */
  since?: Date;
  /** time < until */
  until?: Date;
}

export interface Page<T> {
  items: T[];
  /** Key of the last item when more may follow; pass it back as `after`. */
  next: string | null;
  /** The cursor after items[index], for a caller that shows fewer items than the page holds. */
  cursorAfter?: (index: number) => string;
}

/** How a running run ended, as the run wrapper writes it. */
export interface ExecutionEnd {
  id: string;
  status: ExecutionStatus;
  finished_at: Date;
  duration_ms: number;
  error: string | null;
  stack: string | null;
  /** 100 on success; null keeps the progress the run reported. */
  progress: number | null;
  /** Output lines not written yet, appended as appendOutput does. */
  output: string[];
  /** The job whose last status becomes this run's status; null for none (a flow's child run). */
  job_id: string | null;
}

/** Of jobs sharing an id, the first (insertJobs inserts that one). */
export function firstOfEachId(jobs: JobRecord[]): JobRecord[] {
  const seen = new Set<string>();
  return jobs.filter((j) => !seen.has(j.job_id) && (seen.add(j.job_id), true));
}
