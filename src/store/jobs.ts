import type { ExecutionRecord, JobPatch, JobRecord, Page } from './records.js';

/** What a list of jobs keeps: `search` is a prefix of job_id; every other field an equality. */
export interface JobFilter {
  search?: string;
  handler?: string;
  state?: JobRecord['state'];
  source?: JobRecord['source'];
  last_status?: NonNullable<JobRecord['last_status']>;
}

/** One job's part of updateJobs. */
export interface JobUpdate {
  job_id: string;
  patch: JobPatch;
  version?: number;
  fired?: Date | null;
}

/** Job definitions: one record per job, keyed by job_id. */
/** A job as a fire decides on it: its runs queued or running, and its counted runs (max_runs; else null). */
export interface JobWithActiveRuns {
  job: JobRecord;
  /** Its queued and running runs, oldest first, without their output lines (empty). */
  active: ExecutionRecord[];
  counted: number | null;
  /**
   * The job row's version as read (SQL: its `xmin`), so that a fire decided on this read later
   * can be written on condition that the job is unchanged (RunWrite.unchanged); absent where
   * the store cannot tell.
   */
  seen?: string;
}

export interface JobStore {
  /**
   * Inserts jobs; answers the ids inserted, in order. A job whose id exists already is left
   * out and changes nothing; of jobs sharing an id in one call, the first is inserted.
   */
  insertJobs(jobs: JobRecord[]): Promise<string[]>;
  /** Inserts or replaces a job by id, keeping its created_at and run history fields. */
  upsertJob(job: JobRecord): Promise<JobRecord>;
  /** upsertJob for many jobs at once (default jobs at boot). */
  upsertJobs(jobs: JobRecord[]): Promise<void>;
  getJob(jobId: string): Promise<JobRecord | null>;
  /** Jobs in job_id order, after the given job_id, matching every field of `filter` that is set. */
  listJobs(after: string | null, limit: number, filter?: JobFilter): Promise<Page<JobRecord>>;
  updateJob(jobId: string, patch: JobPatch): Promise<JobRecord | null>;
  /** updateJob only while the job is at `version` (optimistic concurrency); null when it is not (or gone). */
  updateJobAtVersion(jobId: string, version: number, patch: JobPatch): Promise<JobRecord | null>;
  /** The jobs of these ids that exist, in no particular order. */
  getJobs(jobIds: string[]): Promise<JobRecord[]>;
  /**
   * The jobs of these ids that exist, each with its queued and running runs (oldest first)
   * and, for a job with `max_runs`, how many runs its fires started (first attempts of
   * `countedTriggers` that were not missed, counted up to max_runs; null without max_runs):
   * what firing a claim of schedule rows needs, read together (one statement on SQL).
   */
  getJobsWithActiveRuns(jobIds: string[]): Promise<JobWithActiveRuns[]>;
  /** updateJob for many jobs at once (the dispatch path writes the fires of a claim together). */
  /**
   * `version`: the job's version the patch's next_run_at was computed from; a job changed since
   * (PATCH) keeps its own next_run_at, the rest of the patch is written, unless it still holds
   * `fired` (the next fire the patch follows: the change kept the schedule).
   */
  updateJobs(updates: JobUpdate[]): Promise<void>;
  /** Deletes a job with its versions and pauses (its runs stay). */
  deleteJob(jobId: string): Promise<boolean>;
  listJobsFromFiles(): Promise<Array<Pick<JobRecord, 'job_id' | 'source_file'>>>;
  /** Jobs with on_success, on_failure, on_finish or after_all set: the graph a new chain is checked against for cycles. */
  chainedJobs(): Promise<JobRecord[]>;
  /** Jobs with after_all set (fan-in). */
  fanInJobs(): Promise<JobRecord[]>;
}

/** The methods of JobStore by name: what a store made of record stores delegates (see delegate.ts). */
export const jobStoreMethods: Record<keyof JobStore, true> = {
  insertJobs: true,
  upsertJob: true,
  upsertJobs: true,
  getJob: true,
  listJobs: true,
  updateJob: true,
  updateJobAtVersion: true,
  getJobs: true,
  getJobsWithActiveRuns: true,
  updateJobs: true,
  deleteJob: true,
  listJobsFromFiles: true,
  chainedJobs: true,
  fanInJobs: true,
};
