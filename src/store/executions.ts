import type { BatchSummary, ExecutionEnd, ExecutionFilter, ExecutionPatch, ExecutionRecord, ExecutionStatus, JobRecord, JobStats, Page } from './records.js';

/** Execution records: one per run, queued until a worker starts it, then running until its final status. */
export interface ExecutionStore {
  insertExecution(execution: ExecutionRecord): Promise<void>;
  insertExecutions(executions: ExecutionRecord[]): Promise<void>;
  /** Queued and running runs of a job. */
  activeExecutions(jobId: string): Promise<ExecutionRecord[]>;
  /** Queued and running runs of any of these jobs. */
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
  appendOutput(id: string, lines: string[], maxLines: number): Promise<void>;
  /**
   * Ends running runs (only those still `running`), with their last output lines and their
   * jobs' last status; resolves with the ids this call ended, counting a run that has this
   * very end already (same status and finish time: an earlier try whose answer was lost).
   */
  finishExecutions(ends: ExecutionEnd[], maxLines: number): Promise<string[]>;
  /** Newest first, keyset paged by (created_at, id). */
  listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>>;
  /** Deletes finished run records created before `before`; returns how many. */
  deleteExecutionsBefore(before: Date): Promise<number>;
  /** Marks a running run for cancelling; false when it is not running. */
  requestCancel(id: string, at: Date): Promise<boolean>;
  /** Running runs of a worker whose cancel was asked for. */
  cancelRequested(workerId: string): Promise<string[]>;
  /** Running runs whose worker is gone. */
  runningOnGoneWorkers(): Promise<ExecutionRecord[]>;
  batchSummary(batchId: string): Promise<BatchSummary | null>;
  /** A job with its run statistics, read together (one statement on SQL); null when no such job. */
  getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats } | null>;
  /** Runs waiting for a worker (status queued). */
  queuedCount(): Promise<number>;
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
};
