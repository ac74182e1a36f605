import type { FailureRecord, Page } from './records.js';

/** Failure records: one per failed, timed-out or lost run. */
export interface FailureStore {
  insertFailure(failure: FailureRecord): Promise<void>;
  /** Newest first, keyset paged by (time, id). */
  listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>>;
  deleteFailures(): Promise<string[]>;
  deleteFailuresBefore(before: Date): Promise<number>;
}

/** The methods of FailureStore by name: what a store made of record stores delegates (see delegate.ts). */
export const failureStoreMethods: Record<keyof FailureStore, true> = {
  insertFailure: true,
  listFailures: true,
  deleteFailures: true,
  deleteFailuresBefore: true,
};
