import { isDeepStrictEqual } from 'node:util';
import type { JobRecord } from '../store/types.js';

/**
 * Fields of a job record that are not its definition: its identity, what the schedule derives
 * (`interval_seconds`), what its runs and the store keep. Everything else is definition, so a
 * field added to jobs is versioned and patchable without being listed here.
 */
const notDefinition: ReadonlySet<string> = new Set([
  'job_id',
  'interval_seconds',
  'next_run_at',
  'last_run_at',
  'last_status',
  'source',
  'source_file',
  'created_at',
  'updated_at',
  'version',
  // Read-only state kept on container jobs.
  'image_status',
  'image_error',
  // Counted by the runs' ends, for notifications and auto-pause.
  'failure_streak',
]);

/** A job's definition as a create body gives it: dates as ISO text, unset fields null. */
export function definitionOf(job: JobRecord): Record<string, unknown> {
  const def: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job)) {
    if (notDefinition.has(k)) continue;
    def[k] = v instanceof Date ? v.toISOString() : (v ?? null);
  }
  return def;
}

/** The definition fields whose values differ between two definitions, in name order. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !isDeepStrictEqual(before[k] ?? null, after[k] ?? null)).sort();
}

/** The schedule fields: a change that gives one of the first two replaces the schedule as a whole. */
const scheduleFields = ['periodically', 'cron', 'timezone'];

/**
 * A stored definition with a change applied, as a create request: a field set to null is
 * unset (back to its default), a schedule given (`periodically` or `cron`) replaces the one
 * stored, and unset fields are left out so the create's defaults apply.
 */
export function applyChange(def: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...def };
  if ('periodically' in change || 'cron' in change) for (const k of scheduleFields) if (!(k in change)) delete merged[k];
  if (change.cron === null && !('timezone' in change)) delete merged.timezone;
  for (const [k, v] of Object.entries(change)) merged[k] = v;
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null && v !== undefined));
}
