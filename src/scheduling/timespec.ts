import { CronDate, CronExpressionParser } from 'cron-parser';
import { DurationError, parseDuration as parseSeconds } from '../handlers/duration.js';
import { InvalidError } from './errors.js';

/** A scheduling input that cannot be understood; `field` names the input, `reason` says why. */
export class TimeSpecError extends InvalidError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super([{ field, reason }]);
    this.name = 'TimeSpecError';
  }
}

/**
 * Parses a duration (see parseDuration of the handler SDK for the forms it takes) into
 * whole seconds (> 0); a TimeSpecError names `field` when it cannot.
 */
export function parseDuration(field: string, text: string): number {
  try {
    return parseSeconds(text);
  } catch (err) {
    if (err instanceof DurationError) throw new TimeSpecError(field, err.reason);
    throw err;
  }
}

/** The longest misfire grace, in seconds: what the stores' integer column holds (about 68 years). */
export const maxGraceSeconds = 2147483647;

/** `misfire_grace_time`: whole seconds ("30") or a duration ("5 minutes"). */
export function parseGraceTime(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isInteger(text) || text < 1) throw new TimeSpecError('misfire_grace_time', `must be a whole number of seconds of at least 1, got ${text}`);
  }
  const seconds = typeof text === 'number' ? text : parseDuration('misfire_grace_time', text);
  if (seconds > maxGraceSeconds) throw new TimeSpecError('misfire_grace_time', `must be at most ${maxGraceSeconds} seconds, got ${text}`);
  return seconds;
}

const months3 = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const weekdayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * Parses `when`: ISO-8601 (UTC unless it carries an offset) or the Bayesian form
 * "Mon Feb 20, 14:56" (UTC; the year is the next one in which that date is still ahead, and
 * the weekday, when given, must be that date's).
 */
export function parseWhen(text: string, now: Date): Date {
  if (text.length > maxWhenLength) throw new TimeSpecError('when', `is longer than ${maxWhenLength} characters (${text.length})`);
  const input = text.trim();
  const bayesian = /^(?:([a-z]{3})[a-z]*\.?\s+)?([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:\s+(\d{4}))?,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$/i.exec(input);
  if (bayesian) {
    const [, wd, mon, day, year, hh, mm, ss] = bayesian;
    const month = months3.indexOf(mon.toLowerCase());
    if (month < 0) throw new TimeSpecError('when', `unknown month '${mon}' in '${text}'`);
    const weekday = wd === undefined ? -1 : weekdays.indexOf(wd.toLowerCase());
    if (wd !== undefined && weekday < 0) throw new TimeSpecError('when', `unknown weekday '${wd}' in '${text}'`);
    const build = (y: number) => new Date(Date.UTC(y, month, Number(day), Number(hh), Number(mm), Number(ss ?? 0)));
    const check = (d: Date, y: number) => {
      if (d.getUTCMonth() !== month || d.getUTCDate() !== Number(day) || Number(hh) > 23 || Number(mm) > 59 || Number(ss ?? 0) > 59) {
        throw new TimeSpecError('when', `'${text}' is not a valid date and time in ${y}`);
      }
      if (weekday >= 0 && d.getUTCDay() !== weekday) {
        throw new TimeSpecError('when', `'${text}' names a ${weekdayNames[weekday]}, but ${mon} ${day} ${y} is a ${weekdayNames[d.getUTCDay()]}`);
      }
      return d;
    };
    if (year !== undefined) return check(build(Number(year)), Number(year));
    const thisYear = now.getUTCFullYear();
    // The next year in which that date exists (Feb 29 only in leap years, at most 8 apart) and
    // is still ahead; if there is none, next year's date makes the error.
    const ahead = (y: number) => build(y).getUTCDate() === Number(day) && build(y).getTime() > now.getTime();
    const y = Array.from({ length: 9 }, (_, k) => thisYear + k).find(ahead) ?? thisYear + 1;
    return check(build(y), y);
  }
  // ISO-8601: a date, or date and time; without an offset it is UTC.
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(input);
  if (!iso) {
    throw new TimeSpecError('when', `cannot read '${text}': use ISO-8601 ("2027-02-20T14:56:00Z") or "Mon Feb 20, 14:56"`);
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = iso;
  const normalized = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${zone ? (zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone) : 'Z'}`;
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > daysInMonth || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new TimeSpecError('when', `'${text}' is not a valid date and time`);
  }
  const date = new Date(normalized);
  if (Number.isNaN(date.getTime())) throw new TimeSpecError('when', `'${text}' is not a valid date and time`);
  return date;
}

export function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new TimeSpecError('timezone', `unknown time zone '${tz}' (use an IANA name such as 'UTC' or 'Europe/Prague')`);
  }
}

/** The longest cron expression read; checked, with each field's form, before cron-parser sees it. */
export const maxCronLength = 200;
/** The longest `when` read. */
export const maxWhenLength = 100;

const cronFieldNames = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const monthNames = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** Days a month can have, February's in a leap year. */
const monthDays = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The values of a plain cron field (numbers or month names, `*`, ranges, steps, lists) within
 * [lo, hi]; null for anything else (L, W, #, ?), which is left to cron-parser.
 */
function plainFieldValues(field: string, lo: number, hi: number, names: string[] = []): Set<number> | null {
  const value = (t: string) => {
    const i = names.indexOf(t.toLowerCase());
    if (i >= 0) return i + 1;
    return /^\d{1,2}$/.test(t) ? Number(t) : NaN;
  };
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^(\*|[a-z0-9]{1,3}(?:-[a-z0-9]{1,3})?)(?:\/(\d{1,2}))?$/i.exec(item);
    if (!m) return null;
    let from: number, to: number;
    if (m[1] === '*') [from, to] = [lo, hi];
    else if (m[1].includes('-')) [from, to] = m[1].split('-').map(value);
    else [from, to] = [value(m[1]), m[2] === undefined ? value(m[1]) : hi];
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isFinite(from) || !Number.isFinite(to) || step < 1 || from < lo || to > hi) return null;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/**
 * Checks a 5-field (minute first) or 6-field (seconds first) cron expression: its length and
 * the characters of each field first, so cron-parser only ever reads short, well-formed text,
 * then that it fires at all (a day of month that none of its months has never comes).
 */
export function checkCron(expr: string, tz: string): string {
  if (expr.length > maxCronLength) throw new TimeSpecError('cron', `is longer than ${maxCronLength} characters (${expr.length})`);
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new TimeSpecError('cron', `must have 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields.length}`);
  }
  const named = fields.length === 6 ? ['second', ...cronFieldNames] : cronFieldNames;
  fields.forEach((f, i) => {
    if (!/^[0-9a-z*/,?#-]+$/i.test(f)) throw new TimeSpecError('cron', `the ${named[i]} field '${f}' holds characters a cron field cannot have`);
    if (f.split(',').length > 60) throw new TimeSpecError('cron', `the ${named[i]} field lists more than 60 values`);
  });
  const [dom, month, dow] = fields.slice(-3);
  const days = plainFieldValues(dom, 1, 31);
  const months = plainFieldValues(month, 1, 12, months3);
  // With a day of week given as well, cron fires on either: only a plain day of month alone can never come.
  if (days && months && days.size > 0 && months.size > 0 && (dow === '*' || dow === '?')) {
    const first = Math.min(...days);
    if (![...months].some((m) => monthDays[m] >= first)) {
      const list = [...months].sort((a, b) => a - b).map((m) => monthNames[m]);
      throw new TimeSpecError('cron', `'${expr}' never fires: ${list.join(', ')} ${list.length > 1 ? 'have' : 'has'} no day ${[...days].sort((a, b) => a - b).join(', ')}`);
    }
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz, currentDate: new Date() }).next();
  } catch (err) {
    throw new TimeSpecError('cron', `cannot read '${expr}': ${(err as Error).message}`);
  }
  return fields.join(' ');
}

/**
 * The shortest time between two of the next `fires` fires of a cron expression, in seconds: a
 * bounded look (an expression whose fires bunch up only later in the year is not caught).
 */
export function shortestCronGapSeconds(expr: string, tz: string, from: Date, fires = 60): number {
  const it = CronExpressionParser.parse(expr, { tz, currentDate: from });
  let last = it.next().getTime();
  let shortest = Infinity;
  for (let i = 1; i < fires && it.hasNext(); i++) {
    const at = it.next().getTime();
    shortest = Math.min(shortest, (at - last) / 1000);
    last = at;
  }
  return shortest;
}

export function nextCronFire(expr: string, tz: string, after: Date): Date {
  const parse = (from: Date) => CronExpressionParser.parse(expr, { tz, currentDate: from });
  const offset = (at: number) => new CronDate(new Date(at), tz).getUTCOffset();
  let fire = parse(after).next().toDate();
  // cron-parser 5.5 overshoots on a spring-forward day when its search starts before the gap, and
  // skips that day's fires after it: a daily 09:00 job misses the whole day (harrisiirak/cron-parser#400,
  // fixed in 5.6). Step back over such fires: after `after` and less than a day after the clocks jumped.
  for (;;) {
    const earlier = parse(fire).prev().getTime();
    if (earlier <= after.getTime() || earlier >= fire.getTime() || offset(earlier) <= offset(earlier - 86400_000)) return fire;
    if (!parse(after).includesDate(new Date(earlier))) return fire;
    fire = new Date(earlier);
  }
}

/** How a job repeats, if it does. */
export type Recurrence = { kind: 'once' } | { kind: 'interval'; seconds: number } | { kind: 'cron'; expr: string; timezone: string };

/**
 * The next fire strictly after `now`, for a job whose last fire was due at `due`. Interval
 * fires stay on the grid anchored at the first fire (no drift from run durations); fires
 * missed while the service was down or busy are not replayed one by one, the misfire policy
 * records the one late run instead.
 */
export function nextFireAfter(rec: Recurrence, due: Date, now: Date): Date | null {
  if (rec.kind === 'once') return null;
  if (rec.kind === 'interval') {
    const step = rec.seconds * 1000;
    const behind = Math.max(0, now.getTime() - due.getTime());
    const periods = Math.floor(behind / step) + 1;
    return new Date(due.getTime() + periods * step);
  }
  const from = due.getTime() > now.getTime() ? due : now;
  return nextCronFire(rec.expr, rec.timezone, from);
}

/**
 * The fires of a schedule from `from` (inclusive) to `to` (exclusive), oldest first, at most
 * `max`. Interval fires lie on the grid through `anchor` (any fire of the job: its next run);
 * cron fires are the expression's times in its zone, exact across clock changes: a time a
 * spring-forward skips (02:30 on such a day in Europe/Berlin) fires once, at the same minute
 * after the gap (03:30), and a time a fall-back repeats fires once, at its first occurrence.
 * A one-shot job's only fire is `anchor`.
 */
export function firesBetween(rec: Recurrence, anchor: Date, from: Date, to: Date, max: number): Date[] {
  const out: Date[] = [];
  if (max <= 0 || from.getTime() >= to.getTime()) return out;
  if (rec.kind === 'once') {
    if (anchor.getTime() >= from.getTime() && anchor.getTime() < to.getTime()) out.push(anchor);
    return out;
  }
  if (rec.kind === 'interval') {
    const step = rec.seconds * 1000;
    // The first grid point at or after `from`, whichever side of the anchor it lies.
    let at = anchor.getTime() + Math.ceil((from.getTime() - anchor.getTime()) / step) * step;
    for (; at < to.getTime() && out.length < max; at += step) out.push(new Date(at));
    return out;
  }
  // One iterator: the same times as nextCronFire step by step (test/timespec.test.ts compares
  // them over clock changes), a reparse fewer per fire.
  const it = CronExpressionParser.parse(rec.expr, { tz: rec.timezone, currentDate: new Date(from.getTime() - 1) });
  while (out.length < max && it.hasNext()) {
    const at = it.next().toDate();
    if (at.getTime() >= to.getTime()) break;
    out.push(at);
  }
  return out;
}

/**
 * The latest `max` fires from `from` (inclusive) to `to` (exclusive), oldest first, and whether
 * earlier ones in that range were left out. A bounded look: a cron schedule is read forward
 * for at most 2 `max` + 10 fires, then again from a point 2 (`max` + 1) of its gaps before `to`.
 */
export function latestFires(rec: Recurrence, anchor: Date, from: Date, to: Date, max: number): { fires: Date[]; dropped: boolean } {
  if (rec.kind === 'once') return { fires: firesBetween(rec, anchor, from, to, 1), dropped: false };
  if (rec.kind === 'interval') {
    const step = rec.seconds * 1000;
    const first = anchor.getTime() + Math.ceil((from.getTime() - anchor.getTime()) / step) * step;
    const count = first < to.getTime() ? Math.ceil((to.getTime() - first) / step) : 0;
    const skip = Math.max(0, count - max);
    return { fires: firesBetween(rec, anchor, new Date(first + skip * step), to, max), dropped: skip > 0 };
  }
  const cap = 2 * max + 10;
  let start = from;
  let dropped = false;
  for (let pass = 0; ; pass++) {
    const seen = firesBetween(rec, anchor, start, to, pass === 0 ? cap : 4 * cap);
    if (seen.length < cap || pass > 0) return { fires: seen.slice(-max), dropped: dropped || seen.length > max };
    const gap = (seen[seen.length - 1].getTime() - seen[0].getTime()) / (seen.length - 1);
    start = new Date(Math.max(from.getTime(), to.getTime() - 2 * (max + 1) * Math.max(gap, 1000)));
    dropped = true;
  }
}

/** When a job may fire: not before `start_at`, not after `end_at` (either null: unbounded). */
export interface FireWindow {
  start_at: Date | null;
  end_at: Date | null;
}

/** `fire` when it lies in the window, else null (a fire before start_at moves to the first one at or after it). */
export function withinWindow(rec: Recurrence, fire: Date | null, window: FireWindow): Date | null {
  if (fire === null) return null;
  let at = fire;
  if (window.start_at && at.getTime() < window.start_at.getTime()) {
    at = rec.kind === 'once' ? window.start_at : (firesBetween(rec, fire, window.start_at, new Date(8.64e15), 1)[0] ?? null);
    if (at === null) return null;
  }
  if (window.end_at && at.getTime() > window.end_at.getTime()) return null;
  return at;
}
