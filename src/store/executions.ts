import type { BatchSummary, ExecutionEnd, ExecutionFilter, ExecutionPatch, ExecutionRecord, ExecutionStatus, JobRecord, JobStats, Page } from './records.js';

/** Execution records: one per run, queued until a worker starts it, then running until its final status. */
export interface ExecutionStore {
  insertExecution(execution: ExecutionRecord): Promise<void>;
  insertExecutions(executions: ExecutionRecord[]): Promise<void>;
  /** Queued and running runs of a job, without their output lines (empty). */
  activeExecutions(jobId: string): Promise<ExecutionRecord[]>;
  /** Queued and running runs of any of these jobs, without their output lines (empty). */
  activeExecutionsOf(jobIds: string[]): Promise<ExecutionRecord[]>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  /** The runs of these ids that exist, in no particular order. */
  getExecutions(ids: string[]): Promise<ExecutionRecord[]>;
  updateExecution(id: string, patch: ExecutionPatch): Promise<void>;
  /**
   * Moves a run from one status to another only if it is still in `from`; true when this
   * caller made the move (so two workers can never both start the same queued run).
   */
  transitionExecution(id: string, from: ExecutionStatus, patch: ExecutionPatch): Promise<boolean>;
  /** transitionExecution for many runs at once; resolves with the ids this call moved. */
  transitionExecutions(from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>): Promise<string[]>;
  /**
   * Appends lines to a run's output, keeping the newest `maxLines` lines within `maxBytes`
   * (UTF-8): when older lines must go for the bytes, the kept lines follow
   * outputTrimmedNote(maxBytes). output_truncated records that lines were dropped.
   */
  appendOutput(id: string, lines: string[], maxLines: number, maxBytes: number): Promise<void>;
  /**
   * Ends running runs (only those still `running`), each with its last output lines (kept as
   * appendOutput keeps them, and written only with the run's end) and its job's last status;
   * resolves with the ids this call ended, counting a run that has this very end already (same
   * status and finish time: an earlier try whose answer was lost). Each run is recorded on its own: when the writes of
   * some runs fail and others land, rejects with a RunEndsError that says which; when none
   * lands, with the error itself.
   */
  finishExecutions(ends: ExecutionEnd[], maxLines: number, maxBytes: number): Promise<string[]>;
  /** Newest first, keyset paged by (created_at, id). */
  listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>>;
  /** Deletes finished run records created before `before`; returns how many. */
  deleteExecutionsBefore(before: Date): Promise<number>;
  /** Marks a running run for cancelling; false when it is not running. */
  requestCancel(id: string, at: Date): Promise<boolean>;
  /** Running runs of a worker whose cancel was asked for. */
  cancelRequested(workerId: string): Promise<string[]>;
  /** Running runs whose worker is gone, without their output lines (empty). */
  runningOnGoneWorkers(): Promise<ExecutionRecord[]>;
  batchSummary(batchId: string): Promise<BatchSummary | null>;
  /**
   * A job with its run statistics, read together (one statement on SQL, shared by the reads
   * made while one is under way); null when no such job.
   */
  getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats } | null>;
  /** Runs waiting for a worker (status queued). */
  queuedCount(): Promise<number>;
  /** Ended runs whose chains, failure record or retry are not written yet (chains_pending), ended before `before`, oldest first. */
  chainsPending(before: Date, limit: number): Promise<ExecutionRecord[]>;
}

/** The first line of an output whose older lines were dropped to keep it within `maxBytes`. */
export function outputTrimmedNote(maxBytes: number): string {
  return `[earlier output dropped: a run keeps at most ${maxBytes} bytes of output]`;
}

/** finishExecutions wrote the end of some runs and not of others: which, and why not. */
export class RunEndsError extends Error {
  constructor(
    /** The runs this call ended. */
    readonly ended: string[],
    /** The runs whose end could not be written, with the error of each. */
    readonly failed: Map<string, Error>,
  ) {
    const [first] = failed.values();
    super(`the end of ${failed.size} run(s) could not be written (${[...failed.keys()].join(', ')}): ${first?.message}`, { cause: first });
    this.name = 'RunEndsError';
  }
}

/** The methods of ExecutionStore by name: what a store made of record stores delegates (see delegate.ts). */
export const executionStoreMethods: Record<keyof ExecutionStore, true> = {
  insertExecution: true,
  insertExecutions: true,
  activeExecutions: true,
  activeExecutionsOf: true,
  getExecution: true,
  getExecutions: true,
  updateExecution: true,
  transitionExecution: true,
  transitionExecutions: true,
  appendOutput: true,
  finishExecutions: true,
  listExecutions: true,
  deleteExecutionsBefore: true,
  requestCancel: true,
  cancelRequested: true,
  runningOnGoneWorkers: true,
  batchSummary: true,
  getJobWithStats: true,
  queuedCount: true,
  chainsPending: true,
};
