import type { ConcurrencyPolicy, ExecutionRecord, JobRecord } from '../../store/types.js';
import { nextFireAfter, type Recurrence } from '../timespec.js';

export function recurrenceOf(job: Pick<JobRecord, 'interval_seconds' | 'cron' | 'timezone'>): Recurrence {
  if (job.interval_seconds !== null) return { kind: 'interval', seconds: job.interval_seconds };
  if (job.cron !== null) return { kind: 'cron', expr: job.cron, timezone: job.timezone ?? 'UTC' };
  return { kind: 'once' };
}

/** The policy in force: the job's, else forbid for periodic jobs and allow for one-shot jobs. */
export function policyOf(job: JobRecord): ConcurrencyPolicy {
  return job.concurrency_policy ?? (recurrenceOf(job).kind === 'once' ? 'allow' : 'forbid');
}

/** The run a fire starts, and how. */
interface Start {
  action: 'run';
  dueAt: Date;
  next: Date | null;
  /** Runs to cancel first (`replace`). */
  cancel: ExecutionRecord[];
  /**
   * True: runs on the schedule row itself (a one-shot job with no active run). False: a
   * queued run on a row of its own, so the schedule row is free to fire again.
   */
  inline: boolean;
}

/** What one schedule row does when it is locked; decided from the stored job alone. */
export type FirePlan =
  /** Nothing to fire (a deleted or paused job, a fire consumed already); the row keeps `rowNextRunAt`. */
  | { action: 'none'; rowNextRunAt: Date | null }
  /** The fire is recorded `missed` with `reason` and runs nothing; `activeId`: the run active under `forbid`. */
  | { action: 'missed'; dueAt: Date; next: Date | null; reason: string; activeId?: string }
  | Start;

/**
 * Plans the fire of a job's schedule row at `now`: whether it is due (up to a second early),
 * the next fire strictly after now (the interval grid or the cron time in the job's zone),
 * the misfire grace, then the concurrency policy against the job's queued and running runs,
 * then the job's queue: a fire that would queue past `maxQueued` runs of the job is missed.
 * Pure: no store, no clock of its own.
 */
export function planFire(job: JobRecord | undefined, active: readonly ExecutionRecord[], now: Date, maxQueued = Infinity): FirePlan {
  if (!job || job.state === 'paused' || job.next_run_at === null || job.next_run_at.getTime() > now.getTime() + 1000) {
    // A schedule row Agenda handed back after its lock expired keeps the job's own next run.
    return { action: 'none', rowNextRunAt: job && job.state !== 'paused' ? job.next_run_at : null };
  }
  const dueAt = job.next_run_at;
  const recurrence = recurrenceOf(job);
  const next = nextFireAfter(recurrence, dueAt, now);
  const lateMs = now.getTime() - dueAt.getTime();
  if (job.misfire_grace_time !== null && lateMs > job.misfire_grace_time * 1000) {
    const reason = `missed: due at ${dueAt.toISOString()}, ${Math.round(lateMs / 1000)} s late, beyond the misfire grace time of ${job.misfire_grace_time} s`;
    return { action: 'missed', dueAt, next, reason };
  }
  let cancel: ExecutionRecord[] = [];
  if (active.length > 0) {
    const policy = policyOf(job);
    if (policy === 'forbid') {
      const reason = `missed: run ${active[0].id} of this job was still ${active[0].status} when this fire came due (concurrency_policy forbid)`;
      return { action: 'missed', dueAt, next, reason, activeId: active[0].id };
    }
    if (policy === 'replace') cancel = [...active];
  }
  const queued = active.filter((e) => e.status === 'queued').length;
  const inline = recurrence.kind === 'once' && active.length === 0;
  if (!inline && queued >= maxQueued) {
    return { action: 'missed', dueAt, next, reason: `missed: ${queued} runs of this job were queued, the limit (JOBS_MAX_QUEUED_RUNS_PER_JOB)` };
  }
  return { action: 'run', dueAt, next, cancel, inline };
}
