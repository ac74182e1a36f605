import type { ExecutionRecord, ExecutionStatus } from '../store/types.js';

/**
 * Told of every run this process starts and settles (the metrics listen here). Called inline
 * by the run wrapper, so an implementation must be quick and must not throw.
 */
export interface RunObserver {
  /** A run moved to running in this process; `execution.started_at` is set. */
  onRunStarted(execution: ExecutionRecord): void;
  /** A run reached a final status here; `durationMs` is null for runs that never ran here (missed, lost). */
  onRunFinished(execution: ExecutionRecord, status: ExecutionStatus, durationMs: number | null): void;
}
