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

/**
 * What caused a run: its job's schedule, a flow handler starting a child, a request, a fire
 * missed while the service was down or the job paused and run late (`catch_up`), a fire of a
 * past range asked for (`backfill`), a restart (or bulk retry) of an ended run, or another
 * run's end (a chain or fan-in).
 */
export type ExecutionTrigger = 'schedule' | 'flow' | 'manual' | 'catch_up' | 'backfill' | 'restart' | 'chain';
/** What a fire found late beyond the misfire grace (or several fires overdue) does: see planFire. */
export type CatchUp = 'none' | 'last' | 'all';
export const catchUpPolicies: readonly CatchUp[] = ['none', 'last', 'all'];

/** How a run's end starts another job: on_success, on_failure, on_finish, or a fan-in (after_all). */
export type ChainOn = 'success' | 'failure' | 'finish' | 'after_all';

/**
 * One job a run's end starts. `kwargs` maps each kwarg of the started run to a value: a string
 * `$.kwargs.<path>` or `$.result.<field>` reads the ending run, anything else is a literal.
 */
export interface ChainLink {
  job_id: string;
  kwargs?: Record<string, unknown>;
}

/** The run whose end started this one, its job, and how. */
export interface TriggeredBy {
  execution_id: string;
  job_id: string;
  on: ChainOn;
}

export type Kwargs = Record<string, unknown>;

/** The steps of a selective run: run only `task_names`, and every later step when `run_subsequent`. */
export interface StepSelection {
  task_names: string[];
  run_subsequent: boolean;
}

/** What a notification is about: a run's final status, a recovery, a late run, an automatic pause. */
export type NotifyEvent = 'failed' | 'timed_out' | 'lost' | 'missed' | 'recovered' | 'late' | 'paused';
export const notifyEvents: readonly NotifyEvent[] = ['failed', 'timed_out', 'lost', 'missed', 'recovered', 'late', 'paused'];

/** A string, or a secret reference standing for one (opened when a notification is sent). */
export type SecretString = string | { $secret: string };

/** One rule of a job's (or the service's) notifications: on which events, to which channel (exactly one). */
export interface NotifyRule {
  on: NotifyEvent[];
  webhook?: { url: SecretString; secret?: SecretString | null };
  slack?: { url: SecretString };
  email?: { to: string[] };
}

/** A job's deadline, in seconds: a run must start within `start_within` of its due time and run at most `run_within`. */
export interface Deadline {
  start_within: number | null;
  run_within: number | null;
}
export type ImageStatus = 'importing' | 'ready' | 'error';

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
  /** What fires missed beyond the grace do: one missed record (none), one run (last), a run each (all). */
  catch_up: CatchUp;
  /** No fire before this time; null: none. */
  start_at: Date | null;
  /** No fire after this time; null: none. */
  end_at: Date | null;
  /** Fires that may start a run (schedule and catch-up runs, first attempts); null: no limit. */
  max_runs: number | null;
  /** Seconds: each scheduled run starts after a random delay up to this; null: none. */
  jitter: number | null;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_status: ExecutionStatus | null;
  source: JobSource;
  /** The default-jobs file a job came from: source 'file', or source 'api' once a change detached it (its file then no longer applies). */
  source_file: string | null;
  /** Jobs started when a run of this job succeeds, fails (no retry left) or ends in any way. */
  on_success: ChainLink[];
  on_failure: ChainLink[];
  on_finish: ChainLink[];
  /** Fan-in: this job runs once every one of these jobs has succeeded since its last run. */
  after_all: string[];
  /** The pull of its image, for handlers that run one (container); null for others. */
  image_status: ImageStatus | null;
  /** The engine's reason when image_status is 'error'. */
  image_error: string | null;
  created_at: Date;
  updated_at: Date;
  /** 1 at create, one more for each change of the definition (PATCH, rollback, its file changed). */
  version: number;
  /** Notification rules of this job ([]: none besides the service's defaults). */
  notify: NotifyRule[];
  /** Pause the job after this many failed, timed-out or lost runs in a row; null: never. */
  pause_after_failures: number | null;
  deadline: Deadline | null;
  /** Failed, timed-out or lost runs in a row, counted for jobs whose runs are watched (ExecutionRecord.notifies). */
  failure_streak: number;
}

/** Whether a run's end of this job starts other jobs (on_success, on_failure, on_finish). */
export function hasChains(job: Pick<JobRecord, 'on_success' | 'on_failure' | 'on_finish'>): boolean {
  return job.on_success.length + job.on_failure.length + job.on_finish.length > 0;
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
  /** The random delay (ms) its job's `jitter` put between the fire and the run's start; null: none. */
  jitter_ms: number | null;
  /** The ended run this one runs again (restart, bulk retry). */
  restarted_from: string | null;
  /** The run whose end started this one (trigger chain). */
  triggered_by: TriggeredBy | null;
  /** The run's job has chains that its end has not started yet: set at creation, cleared once they are written. */
  chains_pending: boolean;
  /**
   * Whether the run's end is looked at for notifications and auto-pause: set when the run is
   * made, from its job's rules and the service's defaults, so other runs' ends cost nothing more.
   */
  notifies: boolean;
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
  /** The newest run, without its output lines (empty, as in a list of runs). */
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
  /** Null: the run ended before its handler was called. */
  duration_ms: number | null;
  error: string | null;
  stack: string | null;
  /** 100 on success; null keeps the progress the run reported. */
  progress: number | null;
  /** Output lines not written yet, appended as appendOutput does. */
  output: string[];
  /** The job whose last status becomes this run's status; null for none (a flow's child run). */
  job_id: string | null;
}

/** The triggers of runs that count against a job's `max_runs` (first attempts only). */
export const countedTriggers: readonly ExecutionTrigger[] = ['schedule', 'catch_up'];

/** Of jobs sharing an id, the first (insertJobs inserts that one). */
export function firstOfEachId(jobs: JobRecord[]): JobRecord[] {
  const seen = new Set<string>();
  return jobs.filter((j) => !seen.has(j.job_id) && (seen.add(j.job_id), true));
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';
export const deliveryStatuses: readonly DeliveryStatus[] = ['pending', 'sending', 'delivered', 'failed'];
export type DeliveryChannel = 'webhook' | 'slack' | 'email';

/** One try of sending a notification. */
export interface DeliveryAttempt {
  at: Date;
  ok: boolean;
  /** The receiver's HTTP status, or the SMTP server's reply code; null when it did not answer. */
  code: number | null;
  error: string | null;
  duration_ms: number;
}

/** A notification to send to one channel: queued in the store, sent and retried by every process. */
export interface DeliveryRecord {
  id: string;
  job_id: string | null;
  execution_id: string | null;
  event: NotifyEvent;
  channel: DeliveryChannel;
  /** The rule's channel settings, secret references kept as references. */
  target: Record<string, unknown>;
  /** What is sent: the webhook body (the Slack text and the e-mail are made from it). */
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  next_attempt_at: Date;
  /** While `sending`: when a process that died sending it is given up on and it is sent again. */
  locked_until: Date | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface DeliveryFilter {
  job_id?: string;
  status?: DeliveryStatus;
}

/** The service-wide notification rules, applied to every job besides its own. */
export interface NotifyDefaults {
  notify: NotifyRule[];
  updated_at: Date | null;
  updated_by: string | null;
}
