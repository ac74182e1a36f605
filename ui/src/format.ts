import cronstrue from 'cronstrue';
import type { Job } from 'jobs-service/client';

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time in the viewer's zone; `utc` for the title shown on hover. */
export function when(iso: string | null | undefined): { text: string; utc: string } {
  if (!iso) return { text: '—', utc: '' };
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return { text: iso, utc: '' };
  return {
    text: local.format(d),
    utc: `${d
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z')} UTC`,
  };
}

/** "3 s", "2 min 5 s", "1 h 4 min": a duration for a person. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How long ago, or from now, for a list ("in 5 min", "2 h ago"). */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = new Date(iso).getTime() - now;
  const text = duration(Math.abs(diff)).replace(/ \d+ (s|min)$/, '');
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

/** A cron expression in words; the expression itself when cronstrue cannot read it. */
export function cronInWords(cron: string): { text: string; ok: boolean } {
  try {
    return { text: cronstrue.toString(cron, { verbose: false, use24HourTimeFormat: true, throwExceptionOnParseError: true }), ok: true };
  } catch (err) {
    return { text: typeof err === 'string' ? err : (err as Error).message, ok: false };
  }
}

/** A job's schedule for a person: cron in words, an interval as given, a one-shot time, or on demand. */
export function scheduleOf(job: Pick<Job, 'cron' | 'periodically' | 'when' | 'timezone'>): string {
  if (job.cron) {
    const words = cronInWords(job.cron);
    return `${words.ok ? words.text : job.cron}${job.timezone ? ` (${job.timezone})` : ''}`;
  }
  if (job.periodically) return `Every ${job.periodically}`;
  if (job.when) return `Once, ${when(job.when).text}`;
  return 'Once, when created';
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)} %` : '—';
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The p-th percentile (0..100) of some numbers, nearest rank. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
