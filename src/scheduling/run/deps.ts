import type { Limits } from '../../config/config.js';
import type { SecretsKeyring } from '../../config/secrets-key.js';
import type { Logger } from '../../observability/log.js';
import type { ExecutionEnd, ExecutionRecord, JobRecord, Store } from '../../store/types.js';
import type { RunObserver } from '../observer.js';

export interface RunnerOptions {
  /** Lines of output kept per run; older lines are dropped and the run marked truncated. */
  maxOutputLines: number;
  /** Bytes of output kept per run; older lines are dropped after a note line. */
  maxOutputBytes: number;
  /** How long an aborted handler is waited for before its run is recorded anyway, in ms. */
  cancelGraceMs: number;
  /** Seconds a run may take when neither its job nor its handler says. */
  defaultTimeoutSeconds: number;
  /** Queued runs a fire may add to: per job and in all (JOBS_MAX_QUEUED_RUNS_PER_JOB, JOBS_MAX_QUEUED_RUNS). */
  maxQueuedRunsPerJob?: number;
  maxQueuedRuns?: number;
  /** Runs one catch-up may start (JOBS_CATCH_UP_MAX_FIRES). */
  maxCatchUpFires?: number;
  /** Child runs one run may start (JOBS_MAX_FLOW_RUNS), for handlers that do not declare them. */
  maxFlowRuns?: number;
  /** A queued run without a run row for this long (ms) is given one (or cancelled when its job is gone). */
  undispatchedAgeMs: number;
  /** Longest wait (ms) between two tries of a write of a run's end; the tries go on while the worker lives. */
  endRetryMaxMs: number;
  /** Told of each run started and settled here (metrics). */
  observer?: RunObserver;
  /** How often (ms) ended runs whose chains were not written, and fan-in jobs, are checked (JOBS_CHAIN_SWEEP_MS). */
  chainSweepMs?: number;
  /** The kwargs quotas a chained run's mapped kwargs are held to. */
  limits?: Limits;
  /** Opens the secrets kwargs refer to; without it a run that refers to one fails. */
  secretsKeyring?: SecretsKeyring | null;
  /** Notifications and auto-pause; without it no run is watched. */
  notifications?: RunNotifications;
}

/** What the runs' phases tell of runs whose end is watched (ExecutionRecord.notifies). */
export interface RunNotifications {
  /** Whether runs of this job are watched: it has rules or pause_after_failures, or the service has default rules. */
  watches(job: JobRecord): boolean;
  /** A watched run ended or was recorded missed: counted on its job, and queued to whom its rules say. Never throws. */
  runEnded(execution: ExecutionRecord): Promise<void>;
}

/** A run whose handler this process is running. */
export interface ActiveRun {
  controller: AbortController;
}

/** The engine's run rows as the phases of a run use them; the runner makes the calls. */
export interface RunRows {
  /** Stores queued runs with their run rows (due at their scheduled time), as one write. */
  queue(executions: ExecutionRecord[]): Promise<void>;
  removeRun(executionId: string): Promise<void>;
}

/** What the phases of a run (the handler's call, recording, cancel) share with the runner. */
export interface RunDeps {
  readonly store: Store;
  readonly log: Logger;
  readonly options: RunnerOptions;
  readonly rows: RunRows;
  /** True once this process gives up writing what is left (shutdown past its grace). */
  stopped(): boolean;
  /** The runs whose handlers run in this process, by execution id. */
  readonly active: Map<string, ActiveRun>;
  /** The worker registration this process runs as: its id and fencing token (null: none). */
  worker(): { id: string | null; token: number | null };
  /** A write of a run was refused: this worker's registration was declared gone. */
  fenced(): void;
  /** Writes ends of runs (Store.finishExecutions), with the release of their rows where the engine can (Engine.finishRuns). */
  finishRuns(ends: ExecutionEnd[], maxLines: number, maxBytes: number): Promise<string[]>;
  /** A new execution record of a job, queued, with the job's kwargs and timeout. */
  newExecution(job: JobRecord, fields: Pick<ExecutionRecord, 'trigger' | 'scheduled_at' | 'created_at'> & Partial<ExecutionRecord>): ExecutionRecord;
}
