/**
 * The store: the one narrow interface through which the service keeps its own model
 * (job definitions, execution records, failure records, service state). PostgreSQL (and the
 * embedded PGlite) and MongoDB each implement it; the scheduling core knows nothing else.
 */

export type JobState = 'running' | 'paused';
export type JobSource = 'api' | 'file';
export type ServiceState = 'running' | 'paused';

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'missed';
export const finalStatuses: readonly ExecutionStatus[] = ['succeeded', 'failed', 'missed'];

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
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_status: ExecutionStatus | null;
  source: JobSource;
  /** The default-jobs file a job came from, when source = 'file'. */
  source_file: string | null;
  created_at: Date;
  updated_at: Date;
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
  selection: StepSelection | null;
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
}

export type ExecutionPatch = Partial<Omit<ExecutionRecord, 'id' | 'created_at'>>;

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
  parent_id?: string;
}

export interface Page<T> {
  items: T[];
  /** Key of the last item when more may follow; pass it back as `after`. */
  next: string | null;
}

export interface Store {
  readonly kind: 'embedded' | 'postgres' | 'mongodb';
  /** Creates tables or collections and indexes; safe to call on every boot. */
  migrate(): Promise<void>;
  /** Answers quickly or throws: used by readiness. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;

  /** Inserts a job; false when a job with that id exists already. */
  insertJob(job: JobRecord): Promise<boolean>;
  /** Inserts or replaces a job by id, keeping its created_at and run history fields. */
  upsertJob(job: JobRecord): Promise<JobRecord>;
  getJob(jobId: string): Promise<JobRecord | null>;
  /** Jobs in job_id order, after the given job_id. */
  listJobs(after: string | null, limit: number): Promise<Page<JobRecord>>;
  updateJob(jobId: string, patch: JobPatch): Promise<JobRecord | null>;
  deleteJob(jobId: string): Promise<boolean>;
  listJobsFromFiles(): Promise<Array<Pick<JobRecord, 'job_id' | 'source_file'>>>;

  insertExecution(execution: ExecutionRecord): Promise<void>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  updateExecution(id: string, patch: ExecutionPatch): Promise<void>;
  /**
   * Moves a run from one status to another only if it is still in `from`; true when this
   * caller made the move (so two workers can never both start the same queued run).
   */
  transitionExecution(id: string, from: ExecutionStatus, patch: ExecutionPatch): Promise<boolean>;
  appendOutput(id: string, lines: string[], maxLines: number): Promise<void>;
  /** Newest first, keyset paged by (created_at, id). */
  listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>>;
  /** Deletes finished run records created before `before`; returns how many. */
  deleteExecutionsBefore(before: Date): Promise<number>;

  insertFailure(failure: FailureRecord): Promise<void>;
  /** Newest first, keyset paged by (time, id). */
  listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>>;
  deleteFailures(): Promise<string[]>;
  deleteFailuresBefore(before: Date): Promise<number>;

  getServiceState(): Promise<ServiceState>;
  setServiceState(state: ServiceState): Promise<void>;
}
