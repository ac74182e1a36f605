import type { JobWithActiveRuns } from '../store/jobs.js';

/** What the engine keeps for one service job (a schedule row) or one queued run (a run row). */
export type EngineData = { job_id: string } | { execution_id: string };

/**
 * A row the engine locked for this process, as the run wrapper sees it. `nextRunAt` starts
 * null: a row left so is removed when its run ends (a one-shot fire, a queued run); the
 * wrapper sets it to keep the row for its next fire. `touch` renews the lock at once and stores
 * a next run already set, so the schedule survives this process dying mid-run; the engine also
 * renews the locks of all its leases under way together, every third of the lock lifetime, until
 * each is released.
 */
export interface Lease {
  readonly data: EngineData;
  nextRunAt: Date | null;
  touch(): Promise<void>;
  /**
   * Called by the run wrapper when the handler has returned, before its end is recorded: the
   * engine may take another run in its place and let the row go (`nextRunAt` is final by
   * then). Engines without it wait for the whole run. `endOf`: the run whose end is written
   * next, which an engine may let go the row with (Engine.finishRuns) rather than on its own.
   */
  release?(endOf?: string): void;
  /**
   * A schedule row's job as it stood when the row was claimed, read by the claim itself (SQL):
   * null, no such job; undefined, not read (the runner reads it).
   */
  readonly fire?: JobWithActiveRuns | null;
  /**
   * Set when the row waited in the engine's local queue after `fire` was read (claimed beyond
   * the free concurrency, or before it was due): the job may have changed since, so a fire from
   * that read is written only if it has not (RunWrite.unchanged).
   */
  readonly waited?: boolean;
  /**
   * Set when the row was handed over before it was due (JOBS_FIRE_LEAD_MS): its fire is
   * recorded for this time, and its handler starts no sooner.
   */
  readonly due?: Date;
}
