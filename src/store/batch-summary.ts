import { finalStatuses, type BatchSummary, type ExecutionStatus } from './records.js';

/** One status of a batch as a store groups it: how many runs, and their earliest and latest times. */
export interface BatchGroup {
  status: ExecutionStatus;
  n: number;
  job_id: string | null;
  /** Earliest created_at of the group. */
  submitted: Date | null;
  /** Earliest started_at, null when none started. */
  started: Date | null;
  /** Latest finished_at, null when none finished. */
  finished: Date | null;
}

const earliest = (dates: Array<Date | null>) => dates.filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
const latest = (dates: Array<Date | null>) => dates.filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;

/** A batch's summary from its runs grouped by status (one group per status); null for no runs. */
export function batchSummaryOf(batchId: string, groups: BatchGroup[]): BatchSummary | null {
  if (groups.length === 0) return null;
  const counts: Partial<Record<ExecutionStatus, number>> = {};
  for (const g of groups) counts[g.status] = Number(g.n);
  const total = groups.reduce((a, g) => a + Number(g.n), 0);
  const done = groups.every((g) => finalStatuses.includes(g.status));
  return {
    batch_id: batchId,
    job_id: groups[0].job_id ?? null,
    total,
    counts,
    submitted_at: earliest(groups.map((g) => g.submitted))!,
    started_at: earliest(groups.map((g) => g.started)),
    finished_at: done ? latest(groups.map((g) => g.finished)) : null,
  };
}
