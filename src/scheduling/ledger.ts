import type { ExecutionRecord, JobVersionRecord, PauseRecord } from '../store/types.js';
import { recurrenceOf } from './run/plan.js';
import { nextFireAfter, type Recurrence } from './timespec.js';

/** What became of one expected fire. */
export type FireOutcome = 'ran' | 'missed' | 'skipped_concurrency' | 'skipped_paused' | 'service_paused' | 'caught_up' | 'backfilled' | 'pending';

export interface LedgerFire {
  time: Date;
  outcome: FireOutcome;
  /** The version whose schedule expected this fire. */
  version: number;
  /** The run (or missed record) of this fire, when there is one. */
  execution_id: string | null;
  /** Skipped under `forbid`: the run that was active. */
  active_execution_id: string | null;
}

/** The recurrence of a stored definition. */
function recurrenceOfDefinition(def: Record<string, unknown>, intervalSeconds: number | null): Recurrence {
  return recurrenceOf({ interval_seconds: intervalSeconds, cron: (def.cron as string | null) ?? null, timezone: (def.timezone as string | null) ?? null });
}

/**
 * The fires each version's schedule expected in [since, until): from the version's first fire
 * while it was in force (until the next version's change), at most `limit`, in time order. A
 * time two versions both expect (a fire due when the change came) is listed once, under the
 * older. `intervalOf` turns a version's `periodically` into seconds.
 */
export function expectedFires(
  versions: JobVersionRecord[],
  since: Date,
  until: Date,
  limit: number,
  intervalOf: (periodically: string) => number | null,
): Array<{ time: Date; version: number }> {
  const fires = new Map<number, { time: Date; version: number }>();
  versions.forEach((v, i) => {
    const end = Math.min(until.getTime(), versions[i + 1]?.changed_at.getTime() ?? Infinity);
    const periodically = v.definition.periodically as string | null | undefined;
    const rec = recurrenceOfDefinition(v.definition, periodically ? intervalOf(periodically) : null);
    // The version's window: no fire before start_at nor after end_at.
    const startAt = typeof v.definition.start_at === 'string' ? new Date(v.definition.start_at).getTime() : -Infinity;
    const endAt = typeof v.definition.end_at === 'string' ? new Date(v.definition.end_at).getTime() : Infinity;
    const from = Math.max(since.getTime(), startAt);
    let f: Date | null = v.first_fire;
    // Straight to the first fire of the range, not every fire since the version began.
    if (f && f.getTime() < from) f = nextFireAfter(rec, f, new Date(from - 1));
    let n = 0;
    while (f && f.getTime() < Math.min(end, endAt + 1) && n < limit) {
      if (f.getTime() >= since.getTime()) {
        if (!fires.has(f.getTime())) fires.set(f.getTime(), { time: f, version: v.version });
        n += 1;
      }
      f = nextFireAfter(rec, f, f);
    }
  });
  return [...fires.values()].sort((a, b) => a.time.getTime() - b.time.getTime()).slice(0, limit);
}

const within = (t: number, p: PauseRecord) => p.paused_at.getTime() <= t && (p.resumed_at === null || t < p.resumed_at.getTime());

/**
 * The ledger: each expected fire with its outcome, read from the runs the fires left (a run
 * or a `missed` record due at that time), else from the pauses in force then, else pending
 * (not due yet, or due at `now`'s edge) or missed (due with no record: the service was down).
 */
export function ledger(expected: Array<{ time: Date; version: number }>, runs: ExecutionRecord[], pauses: PauseRecord[], now: Date, nextRunAt: Date | null): LedgerFire[] {
  const byTime = new Map<number, ExecutionRecord>();
  for (const r of runs) if (!byTime.has(r.scheduled_at.getTime())) byTime.set(r.scheduled_at.getTime(), r);
  return expected.map(({ time, version }) => {
    const t = time.getTime();
    const run = byTime.get(t);
    const fire = { time, version, execution_id: run?.id ?? null, active_execution_id: null as string | null };
    if (run) {
      if (run.status === 'missed') {
        if (run.active_execution_id) return { ...fire, outcome: 'skipped_concurrency' as const, active_execution_id: run.active_execution_id };
        return { ...fire, outcome: 'missed' as const };
      }
      const trigger = run.trigger as string;
      if (trigger === 'catch_up') return { ...fire, outcome: 'caught_up' as const };
      if (trigger === 'backfill') return { ...fire, outcome: 'backfilled' as const };
      return { ...fire, outcome: 'ran' as const };
    }
    if (pauses.some((p) => p.job_id !== null && within(t, p))) return { ...fire, outcome: 'skipped_paused' as const };
    if (pauses.some((p) => p.job_id === null && within(t, p))) return { ...fire, outcome: 'service_paused' as const };
    // Due now or later, or the fire the job waits for: not decided yet.
    if (t >= now.getTime() || (nextRunAt !== null && t >= nextRunAt.getTime())) return { ...fire, outcome: 'pending' as const };
    return { ...fire, outcome: 'missed' as const };
  });
}
