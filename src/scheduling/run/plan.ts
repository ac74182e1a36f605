import type { ConcurrencyPolicy, ExecutionRecord, JobRecord } from '../../store/types.js';
import { latestFires, nextFireAfter, withinWindow, type Recurrence } from '../timespec.js';

export function recurrenceOf(job: Pick<JobRecord, 'interval_seconds' | 'cron' | 'timezone'>): Recurrence {
  if (job.interval_seconds !== null) return { kind: 'interval', seconds: job.interval_seconds };
  if (job.cron !== null) return { kind: 'cron', expr: job.cron, timezone: job.timezone ?? 'UTC' };
  return { kind: 'once' };
}

/** The policy in force: the job's, else forbid for periodic jobs and allow for one-shot jobs. */
export function policyOf(job: JobRecord): ConcurrencyPolicy {
  return job.concurrency_policy ?? (recurrenceOf(job).kind === 'once' ? 'allow' : 'forbid');
}

/** The run(s) a fire starts, and how. */
interface Start {
  action: 'run';
  dueAt: Date;
  next: Date | null;
  /** Runs to cancel first (`replace`). */
  cancel: ExecutionRecord[];
  /**
   * True: runs on the schedule row itself (a one-shot job with no active run and no jitter).
   * False: queued runs on rows of their own, so the schedule row is free to fire again.
   */
  inline: boolean;
  /** The fire time of each run to start, oldest first: `dueAt` alone, or the fires caught up. */
  fires: Date[];
  /** `schedule`, or `catch_up` for fires run late under the job's catch_up policy. */
  trigger: 'schedule' | 'catch_up';
  /** Older overdue fires left out of a catch-up (its bound, the queue, max_runs): one missed record. */
  skipped?: { dueAt: Date; reason: string };
}

/** What one schedule row does when it is locked; decided from the stored job alone. */
export type FirePlan =
  /** Nothing to fire (a deleted or paused job, a fire consumed already); the row keeps `rowNextRunAt`. */
  | { action: 'none'; rowNextRunAt: Date | null }
  /** The job's schedule is over (past end_at, or max_runs started): no run, no next fire. */
  | { action: 'end'; reason: 'end_at' | 'max_runs' }
  /** The fire is recorded `missed` with `reason` and runs nothing; `activeId`: the run active under `forbid`. */
  | { action: 'missed'; dueAt: Date; next: Date | null; reason: string; activeId?: string }
  | Start;

/** What planFire needs besides the job and its active runs. */
export interface FireContext {
  /** Runs the job's fires started so far, counted up to its max_runs (null: no max_runs). */
  counted?: number | null;
  /** Queued runs a job may have (JOBS_MAX_QUEUED_RUNS_PER_JOB). */
  maxQueued?: number;
  /** Runs one catch-up may start (JOBS_CATCH_UP_MAX_FIRES). */
  maxCatchUp?: number;
}

/**
 * Plans the fire of a job's schedule row at `now`: whether it is due (up to a second early),
 * the next fire strictly after now (the interval grid or the cron time in the job's zone),
 * within the job's window and its max_runs, then the catch-up of fires overdue, the misfire
 * grace, then the concurrency policy against the job's queued and running runs, then the job's
 * queue: a fire that would queue past `maxQueued` runs of the job is missed.
 *
 * Catch-up: a fire later than the misfire grace, or one with later fires overdue too (the
 * service was down, the job or the service paused), is a catch-up. Under `catch_up: none` it
 * is what it always was (beyond the grace one `missed` record; within it one run); under
 * `last` one run of the latest overdue fire; under `all` one run per overdue fire, the latest
 * `maxCatchUp` of them (the older ones make one `missed` record). Catch-up runs have the
 * trigger `catch_up` and the fire's time as their due time. Pure: no store, no clock of its own.
 */
export function planFire(job: JobRecord | undefined, active: readonly ExecutionRecord[], now: Date, ctx: FireContext = {}): FirePlan {
  if (!job || job.state === 'paused' || job.next_run_at === null || job.next_run_at.getTime() > now.getTime() + 1000) {
    // A schedule row claimed again after its lock expired keeps the job's own next run.
    return { action: 'none', rowNextRunAt: job && job.state !== 'paused' ? job.next_run_at : null };
  }
  const maxQueued = ctx.maxQueued ?? Infinity;
  const catchUp = job.catch_up ?? 'none';
  const left = job.max_runs == null ? Infinity : job.max_runs - (ctx.counted ?? 0);
  if (left <= 0) return { action: 'end', reason: 'max_runs' };
  const dueAt = job.next_run_at;
  if (job.end_at && dueAt.getTime() > job.end_at.getTime()) return { action: 'end', reason: 'end_at' };
  const recurrence = recurrenceOf(job);
  const window = { start_at: job.start_at ?? null, end_at: job.end_at ?? null };
  let next = withinWindow(recurrence, nextFireAfter(recurrence, dueAt, now), window);
  const lateMs = now.getTime() - dueAt.getTime();
  const beyondGrace = job.misfire_grace_time !== null && lateMs > job.misfire_grace_time * 1000;
  // The fires overdue: dueAt and every later one up to now (none after end_at), the latest
  // `bound` of them (one under `last`).
  const bound = catchUp === 'last' ? 1 : Math.max(1, ctx.maxCatchUp ?? 100);
  const to = Math.min(now.getTime() + 1, job.end_at ? job.end_at.getTime() + 1 : Infinity);
  const { fires: overdue, dropped: older } = catchUp === 'none' ? { fires: [dueAt], dropped: false } : latestFires(recurrence, dueAt, dueAt, new Date(to), bound);
  const catchingUp = catchUp !== 'none' && (beyondGrace || overdue.length > 1 || older);
  if (beyondGrace && !catchingUp) {
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
  const inline = recurrence.kind === 'once' && active.length === 0 && !job.jitter;
  if (!inline && queued >= maxQueued) {
    return { action: 'missed', dueAt, next, reason: `missed: ${queued} runs of this job were queued, the limit (JOBS_MAX_QUEUED_RUNS_PER_JOB)` };
  }
  if (!catchingUp) {
    if (left <= 1) next = null;
    return { action: 'run', dueAt, next, cancel, inline, fires: [dueAt], trigger: 'schedule' };
  }
  // Under `replace` the catch-up runs would cancel each other: the latest fire alone.
  const wanted = policyOf(job) === 'replace' ? 1 : overdue.length;
  const room = Math.min(wanted, left, inline ? 1 : maxQueued - queued);
  const fires = overdue.slice(overdue.length - room);
  if (left - fires.length <= 0) next = null;
  const plan: Start = { action: 'run', dueAt, next, cancel, inline: inline && fires.length === 1, fires, trigger: 'catch_up' };
  if (catchUp === 'all' && (older || fires.length < overdue.length)) {
    const why =
      fires.length === overdue.length
        ? `the bound of ${bound} (JOBS_CATCH_UP_MAX_FIRES)`
        : fires.length === left
          ? `max_runs ${job.max_runs}`
          : wanted === 1
            ? 'concurrency_policy replace (the latest fire alone)'
            : 'the queue of the job (JOBS_MAX_QUEUED_RUNS_PER_JOB)';
    plan.skipped = {
      dueAt,
      reason: `missed: the fires from ${dueAt.toISOString()} to before ${fires[0].toISOString()} were overdue beyond ${why}; the latest ${fires.length} were caught up`,
    };
  }
  return plan;
}
