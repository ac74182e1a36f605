import { firstOfEachId } from '../store/types.js';
import type { DispatchMode, Engine, EngineOptions, JobsCreate, JobsCreateStore, RecordedRuns, RunFn, RunRow, RunWrite, RunWriteStore, ScheduleRow } from './types.js';

/** A schedule row that stays: its job has a next run. */
export type KeptScheduleRow = ScheduleRow & { nextRunAt: Date };

/**
 * What both engines share: the processing switch and the many-row forms of the verbs. Each
 * engine writes its rows (the SQL stores' dispatch table, Agenda's collection on MongoDB) and
 * dispatches them in its own way.
 */
export abstract class RowEngine implements Engine {
  private processing = false;

  constructor(protected readonly options: EngineOptions) {}

  abstract init(): Promise<DispatchMode>;
  abstract define(handlers: string[], run: RunFn, holder?: () => string | null): void;
  abstract recordRuns(write: RunWrite, store: RunWriteStore): Promise<RecordedRuns | void>;
  abstract undispatched(before: Date, limit: number): Promise<string[]>;
  abstract unscheduled(after: string | null, limit: number, before: Date): Promise<{ ids: string[]; last: string | null }>;
  abstract repairSchedules(jobIds: string[], before: Date): Promise<string[]>;
  abstract lockHolders(): Promise<string[]>;
  abstract releaseLocks(holders: string[]): Promise<number>;
  abstract removeJob(jobId: string): Promise<void>;
  abstract removeRun(executionId: string): Promise<void>;
  /** Starts taking due rows. */
  protected abstract startDispatch(): Promise<void>;
  /** Stops taking due rows; runs in progress go on. */
  protected abstract stopDispatch(): Promise<void>;
  /** Removes the rows of `gone` and creates or updates those of `kept` (one row per job in all). */
  protected abstract writeSchedules(gone: ScheduleRow[], kept: KeptScheduleRow[]): Promise<void>;
  /** Inserts run rows (at least one). */
  protected abstract writeRuns(runs: RunRow[]): Promise<void>;
  /** What the engine lets go of at close. */
  protected async closeDispatch(): Promise<void> {}

  get lockLifetimeMs() {
    return this.options.lockLifetimeMs;
  }

  async startProcessing() {
    if (this.processing) return;
    this.processing = true;
    await this.startDispatch();
  }

  async stopProcessing() {
    if (!this.processing) return;
    this.processing = false;
    await this.stopDispatch();
  }

  get isProcessing() {
    return this.processing;
  }

  /**
   * The jobs first, then their schedule rows: a job stored without its row would never run,
   * so when the rows cannot be written the jobs are taken out again. Events are the caller's.
   */
  async createJobs({ jobs, all }: JobsCreate, store: JobsCreateStore) {
    const ids = await store.insertJobs(jobs);
    const stored = new Set(ids);
    const unique = firstOfEachId(jobs);
    const fresh = unique.filter((j) => stored.has(j.job_id));
    const undo = async () => {
      for (const j of fresh) await store.deleteJob(j.job_id);
    };
    if (all && fresh.length < unique.length) {
      await undo();
      return [];
    }
    try {
      await this.scheduleJobs(fresh.map((j) => ({ jobId: j.job_id, handler: j.handler, nextRunAt: j.next_run_at, disabled: j.state === 'paused' })));
    } catch (err) {
      await undo();
      throw err;
    }
    return ids;
  }

  async scheduleJob(jobId: string, handler: string, nextRunAt: Date | null, disabled: boolean) {
    await this.scheduleJobs([{ jobId, handler, nextRunAt, disabled }]);
  }

  async scheduleJobs(rows: ScheduleRow[]) {
    // One row per job, the last word winning (an upsert cannot touch a row twice).
    rows = [...new Map(rows.map((r) => [r.jobId, r])).values()];
    const gone = rows.filter((r) => r.nextRunAt === null);
    const kept = rows.filter((r): r is KeptScheduleRow => r.nextRunAt !== null);
    await this.writeSchedules(gone, kept);
  }

  async enqueueRun(handler: string, executionId: string, at: Date = new Date()) {
    await this.enqueueRuns([{ handler, executionId, at }]);
  }

  async enqueueRuns(runs: RunRow[]) {
    if (runs.length === 0) return;
    await this.writeRuns(runs);
  }

  async close() {
    this.processing = false;
    await this.closeDispatch();
  }
}
