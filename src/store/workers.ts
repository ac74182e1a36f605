import type { Page, WorkerHeartbeat, WorkerRecord, WorkerState } from './records.js';

/**
 * Worker records: one per worker process, kept alive by its heartbeats. Each registration
 * gets a token, larger than every token drawn before; the writes a worker makes to its runs
 * name it and are refused once that registration is gone (fencing).
 */
export interface WorkerStore {
  /** Stores a worker; resolves with its registration token. */
  registerWorker(worker: WorkerRecord): Promise<number>;
  heartbeatWorker(id: string, beat: WorkerHeartbeat): Promise<WorkerRecord | null>;
  getWorker(id: string): Promise<WorkerRecord | null>;
  /** Newest first by started_at, keyset paged. */
  listWorkers(after: string | null, limit: number): Promise<Page<WorkerRecord>>;
  setWorkerState(id: string, state: WorkerState): Promise<WorkerRecord | null>;
  /**
   * Ties a registered worker to this process's connection to the database, where the database
   * can tell when that connection ends (PostgreSQL: a session advisory lock; kill -9 ends the
   * connection at once). Resolves null where it cannot (MongoDB, the embedded store), false
   * when the worker's lock is taken (another worker's id hashes alike: register another id).
   */
  holdWorkerSession(id: string, onError: (err: Error) => void): Promise<{ release(): Promise<void> } | false | null>;
  /**
   * Marks gone, and returns the ids of, the workers whose last heartbeat is older than
   * `deadline`, and those tied to a session (holdWorkerSession) that has ended whose last
   * heartbeat is older than `sessionDeadline` (later than `deadline`: a live worker whose
   * connection dropped for a moment has heartbeated since).
   */
  markWorkersGone(deadline: Date, sessionDeadline: Date, except?: string | null): Promise<string[]>;
  /** Deletes gone workers whose last heartbeat is older than `before` and that have no running run; returns how many. */
  deleteGoneWorkers(before: Date): Promise<number>;
  /**
   * The start of runs of this worker registration: each run still `running` on it, while it is
   * not gone, gets a fencing token from the counter of registrations. Resolves with the token
   * of each run it fenced; a run left out is no longer this registration's to run.
   */
  fenceRuns(workerId: string, token: number, ids: string[]): Promise<Map<string, number>>;
  /** Writes a run's progress while the run is running on this registration, not gone; false otherwise. */
  writeRunProgress(workerId: string, token: number, id: string, progress: number): Promise<boolean>;
  /** appendOutput, on the same condition as writeRunProgress; false when refused. */
  appendRunOutput(workerId: string, token: number, id: string, lines: string[], maxLines: number, maxBytes: number): Promise<boolean>;
  /** Workers by state, without zero entries. */
  workerCounts(): Promise<Partial<Record<WorkerState, number>>>;
}

/** The methods of WorkerStore by name: what a store made of record stores delegates (see delegate.ts). */
export const workerStoreMethods: Record<keyof WorkerStore, true> = {
  registerWorker: true,
  heartbeatWorker: true,
  getWorker: true,
  listWorkers: true,
  setWorkerState: true,
  holdWorkerSession: true,
  markWorkersGone: true,
  deleteGoneWorkers: true,
  fenceRuns: true,
  writeRunProgress: true,
  appendRunOutput: true,
  workerCounts: true,
};
