import type { ExecutionRecord, JobVersionRecord, PauseRecord } from './records.js';

/** The triggers of runs that are fires of a job's schedule (catch_up and backfill: fires run late, or again). */
export const fireTriggers: readonly string[] = ['schedule', 'catch_up', 'backfill'];

/**
 * What a job's history is read from besides its runs: the definitions it had (versions) and
 * the times it or the service was paused. Written when they happen (a change, a pause, a
 * resume), never on the dispatch path; the fire ledger reads them with the runs' own records.
 */
export interface HistoryStore {
  /** Stores versions; a (job_id, version) already stored is left as it is. */
  insertJobVersions(versions: JobVersionRecord[]): Promise<void>;
  /** A job's stored versions, oldest first, from version `from` on, at most `limit`. */
  listJobVersions(jobId: string, from: number, limit: number): Promise<JobVersionRecord[]>;
  getJobVersion(jobId: string, version: number): Promise<JobVersionRecord | null>;
  /** Opens a pause of a job (or of the service: null) at `at`, unless one is open already. */
  startPause(jobId: string | null, at: Date): Promise<void>;
  /** Closes the open pause of a job (or of the service) at `at`, if any. */
  endPause(jobId: string | null, at: Date): Promise<void>;
  /** The pauses of this job and of the service that overlap [since, until), oldest first. */
  listPauses(jobId: string, since: Date, until: Date): Promise<PauseRecord[]>;
  /**
   * The first attempts of a job's fires (runs of trigger schedule, catch_up or backfill) due in
   * [since, until), by due time, at most `limit`.
   */
  listFires(jobId: string, since: Date, until: Date, limit: number): Promise<ExecutionRecord[]>;
}

/** The methods of HistoryStore by name: what a store made of record stores delegates (see delegate.ts). */
export const historyStoreMethods: Record<keyof HistoryStore, true> = {
  insertJobVersions: true,
  listJobVersions: true,
  getJobVersion: true,
  startPause: true,
  endPause: true,
  listPauses: true,
  listFires: true,
};
