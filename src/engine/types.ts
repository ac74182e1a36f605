import type { AuditRecord, EventInput, ExecutionEnd, ExecutionRecord, ExecutionStatus, JobRecord, Store } from '../store/types.js';
import type { Lease } from './lease.js';

export type { EngineData, Lease } from './lease.js';

/** Runs a claim (rows locked together); one promise per lease, settled when its run is recorded. */
export type RunFn = (leases: Lease[]) => Array<Promise<void>>;

/** How a worker hears of a run that is due now, besides polling every pollIntervalMs. */
export type DispatchMode = 'LISTEN/NOTIFY' | 'change streams' | 'polling';

export interface EngineOptions {
  pollIntervalMs: number;
  lockLifetimeMs: number;
  /** Runs at once per process, across handlers. */
  maxConcurrency: number;
  /** PostgreSQL: due rows claimed beyond the free concurrency, started as runs end (JOBS_CLAIM_AHEAD; 0 when unset; PGlite, one connection, claims none ahead). */
  claimAhead?: number;
  /** SQL: how long before a row is due a claim may take it, holding it until its time (JOBS_CLAIM_EARLY_MS; 0 when unset). */
  claimEarlyMs?: number;
  /** SQL: how long before a row claimed early is due its fire may be written, the handler waiting for its time (JOBS_FIRE_LEAD_MS; 0 when unset). */
  fireLeadMs?: number;
  /** SQL: the claim reads the jobs of the schedule rows it claims from the service's job table (which must exist). */
  claimReadsJobs?: boolean;
  name: string;
  /** Errors of the engine that no caller awaits (lost connections, failed lock queries). */
  onError: (err: Error, where: string) => void;
  /** MongoDB: how long init may wait for Agenda's backend to reach the database before it fails, in ms (30 s when unset). */
  readyTimeoutMs?: number;
}

/** The schedule row of one service job: due at `nextRunAt`, disabled while the job is paused; none when `nextRunAt` is null. */
export interface ScheduleRow {
  jobId: string;
  handler: string;
  nextRunAt: Date | null;
  disabled: boolean;
}

/** The run row of one queued run, due at `at`. */
export interface RunRow {
  handler: string;
  executionId: string;
  at: Date;
}

/** What a fire writes to its job row: the next fire, and the last run and status when they change. */
export interface FireJobPatch {
  job_id: string;
  next_run_at: Date | null;
  last_run_at?: Date;
  last_status?: ExecutionStatus;
  /** The job's version the fire read: a job changed since keeps its own next_run_at, unless it still holds `fired`. */
  version?: number;
  /** The next fire this fire was planned from (the job's next_run_at as read). */
  fired?: Date | null;
}

/**
 * The records of fires (a claim's schedule rows) or of runs queued on demand, written as one:
 * the run records, the run rows of the queued ones among them, the jobs' next fires and the
 * schedule rows' next fires (each lease's `nextRunAt`, kept with its lock).
 */
export interface RunWrite {
  executions: ExecutionRecord[];
  /** Run rows of queued runs among `executions`. */
  runs: RunRow[];
  jobs: FireJobPatch[];
  /** Schedule rows this process holds, stored with their `nextRunAt` and a fresh lock. */
  schedules: Lease[];
  /**
   * The schedule rows the fires come from: nothing is written (NotHeldError) unless this
   * process still holds every one, so a worker declared gone mid-fire, whose rows were released
   * and claimed elsewhere, cannot record the same fire a second time.
   */
  held?: Lease[];
  /**
   * The worker that runs the fires' `running` runs and its registration's token. An engine that
   * can (SQL) draws their fencing tokens in the same write, refused (NotHeldError) unless the
   * registration is still live, and answers with them; the runs then start with no write of
   * their own.
   */
  fence?: { workerId: string; token: number };
  /** Events of the written runs, written with them by an engine that `writesEvents`. */
  events?: EventInput[];
  /**
   * Jobs the fires were decided on from a read made earlier (Lease.waited), with the version
   * that read saw (JobWithActiveRuns.seen): nothing is written (JobsChangedError) unless each
   * job row is still that version and has no run queued or running, as the read found it.
   */
  unchanged?: Array<{ job_id: string; seen: string }>;
}

/** What a RunWrite stored that the writer did not know: the fencing tokens drawn, by run id. */
export interface RecordedRuns {
  tokens: Map<string, number>;
}

/** A fire's write refused: its schedule rows are no longer held by the process that claimed them. */
export class NotHeldError extends Error {
  constructor(rows: number) {
    super(`the fires were not recorded: of their ${rows} schedule rows, this worker no longer holds them all (declared gone meanwhile; they are claimed again elsewhere)`);
    this.name = 'NotHeldError';
  }
}

/** A fire's write refused: a job it was decided on changed since it was read (RunWrite.unchanged). */
export class JobsChangedError extends Error {
  constructor(jobs: number) {
    super(`the fires were not recorded: of the ${jobs} jobs read before their rows waited, one or more changed since`);
    this.name = 'JobsChangedError';
  }
}

/** The store's part of a RunWrite, for an engine that cannot write it in one transaction. */
export type RunWriteStore = Pick<Store, 'insertExecutions' | 'updateJobs'>;

/** New jobs and their schedule rows, stored by Engine.createJobs. */
export interface JobsCreate {
  jobs: JobRecord[];
  /** All or nothing: when one job's id is taken, none is stored (and the answer is empty). */
  all?: boolean;
  /** `job.created` events, one per job, written with the jobs stored by an engine that `writesEvents`. */
  events?: EventInput[];
  /**
   * Audit records of the calls that create these jobs, by the index of the job each goes with
   * (a call creating many jobs: its first), written with the jobs by an engine that
   * `writesAudits`, each only if its job is stored. Should the database refuse the write with
   * them, the jobs are written again without them: a record that cannot be written never
   * fails a create, and the records are then the caller's.
   */
  audits?: Array<AuditRecord | undefined>;
  /** Told once the audit records were written with the jobs. */
  onAudited?: () => void;
}

/** The store's part of a JobsCreate, for an engine that cannot write it in one transaction. */
export type JobsCreateStore = Pick<Store, 'insertJobs' | 'deleteJob'>;

/**
 * Dispatch, as the scheduling core and the service use it: it keeps a row per job and per
 * queued run, locks rows as they fall due and hands them to the run wrapper as leases. It is
 * not the model: the service keeps jobs and runs in its own store, and an engine row holds
 * only a job_id or an execution_id and the next run time. Every schedule row is one-shot in
 * the engine's eyes: the run wrapper computes the next fire itself (anchored intervals, cron
 * with zones, misfire grace).
 */
export interface Engine {
  /**
   * Creates the table or collection of the engine's rows and their indexes, so it runs under
   * the boot lock with the service's own schema creation. Resolves with how runs due now are
   * heard of.
   */
  init(): Promise<DispatchMode>;
  /**
   * Takes rows of these handlers, each claim through `run`. `holder` names who holds a claim's
   * locks (the worker's id), so the rows of a worker known gone can be released at once.
   */
  define(handlers: string[], run: RunFn, holder?: () => string | null): void;
  /** A lease not touched for this long (ms) is taken for its worker's death. */
  readonly lockLifetimeMs: number;
  startProcessing(): Promise<void>;
  /** Stops taking new runs; runs in progress go on to their end. */
  stopProcessing(): Promise<void>;
  readonly isProcessing: boolean;
  /**
   * Stores new jobs with the schedule rows of those that have a next run (SQL: in one
   * statement). A job whose id is taken is not stored, nor the second of two with one id.
   * Resolves with the ids stored, in the order given.
   */
  createJobs(write: JobsCreate, store: JobsCreateStore): Promise<string[]>;
  /** Creates, updates or (with no next run) removes the schedule row of a job. */
  scheduleJob(jobId: string, handler: string, nextRunAt: Date | null, disabled: boolean): Promise<void>;
  /** scheduleJob for many jobs; the last row of a job wins. */
  scheduleJobs(rows: ScheduleRow[]): Promise<void>;
  /** Removes a job's schedule row. */
  removeJob(jobId: string): Promise<void>;
  /** Removes the row of a queued run (it was cancelled before it started). */
  removeRun(executionId: string): Promise<void>;
  /** Queues one run of a handler for an execution record already stored as `queued`. */
  enqueueRun(handler: string, executionId: string, at?: Date): Promise<void>;
  /** enqueueRun for many runs. */
  enqueueRuns(runs: RunRow[]): Promise<void>;
  /**
   * Writes a RunWrite. SQL: one statement, so a crash leaves the fire whole or absent. MongoDB
   * (no multi-document transaction assumed): schedule rows first, then run records, then run
   * rows, then jobs, so a crash leaves at worst queued runs without a run row, which
   * `undispatched` finds.
   */
  recordRuns(write: RunWrite, store: RunWriteStore): Promise<RecordedRuns | void>;
  /**
   * Writes ends of runs as the store's finishExecutions does, and lets go, in the same write,
   * the rows of those runs whose release waits for their end (Lease.release's `endOf`). An
   * engine without it lets rows go on its own.
   */
  finishRuns?(ends: ExecutionEnd[], maxLines: number, maxBytes: number): Promise<string[]>;
  /**
   * Moves queued runs to running on this worker, as of `at`, in one write with what a start
   * writes besides (their fencing tokens, their jobs' last status, their events), refused
   * (NotHeldError) unless the worker's registration is live. Resolves with the token of each
   * run it moved. An engine without it leaves those writes to the store, one by one.
   */
  startRuns?(ids: string[], at: Date, fence: { workerId: string; token: number }): Promise<Map<string, number>>;
  /** True when recordRuns and createJobs write the events given in their own write (SQL), not the caller. */
  readonly writesEvents?: boolean;
  /** True when createJobs writes the audit records given (JobsCreate.audits) in its own write (SQL); else they are the caller's. */
  readonly writesAudits?: boolean;
  /**
   * Ids of queued runs created before `before` that have no run row (a crash between two
   * writes, a row removed by hand), oldest first, at most `limit`.
   */
  undispatched(before: Date, limit: number): Promise<string[]>;
  /**
   * Of the first `limit` jobs after `after` in job_id order (from the first when null), those
   * running with a next fire, last written before `before`, whose schedule row is missing, or
   * unlocked and disabled or at another time or handler than the job's (a crash between a
   * job's write and its row's, a row removed or changed by hand), and the last job_id looked
   * at (null once the end of the jobs was reached).
   */
  unscheduled(after: string | null, limit: number, before: Date): Promise<{ ids: string[]; last: string | null }>;
  /**
   * Gives those of these jobs that `unscheduled` would still name the schedule row their job
   * says (enabled, at the job's next fire, under its handler); resolves with the ids written.
   * On SQL one statement that looks and writes: a job or row written meanwhile (a change, a
   * pause, a claim) is left as that write made it.
   */
  repairSchedules(jobIds: string[], before: Date): Promise<string[]>;
  /** Holders of the rows locked now (see `define`'s holder). */
  lockHolders(): Promise<string[]>;
  /** Unlocks every row locked by these holders (workers known gone): due rows are claimed again at once. Resolves with how many. */
  releaseLocks(holders: string[]): Promise<number>;
  /** Stops dispatching for good (and lets Agenda go, on MongoDB): the service's close, once the worker has drained its runs. */
  close(): Promise<void>;
}
