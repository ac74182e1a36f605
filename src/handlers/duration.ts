/** A duration that cannot be read; `reason` says why, as a phrase about the value. */
export class DurationError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DurationError';
  }
}

const unitSeconds: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
};

/** The longest text parseDuration reads; anything longer is refused before it is looked at. */
export const maxDurationLength = 1000;

/** h:mm:ss with an optional sign and fraction; both ends anchored and no nested repetition, so linear. */
const clockPattern = /^(-?\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/;
const numberPattern = /^-?\d+(\.\d+)?$/;
/** One "<number> <unit>" part and the separators after it, matched where the last one ended (sticky). */
const partPattern = /(-?\d+(?:\.\d+)?)\s*([a-z]+)[\s,]*(?:and\s+)?/y;

const isSeparator = (c: string) => c === ',' || c.trim() === '';

/**
 * Parses a duration as the Bayesian service accepted it: "1 week", "2 days", "90 seconds",
 * "1 day 2 hours", "5:00:00" (h:mm:ss), "1 day, 5:00:00" (Python's timedelta form), or a
 * bare number of seconds. Returns whole seconds (> 0); throws DurationError otherwise.
 * The service reads `periodically` and `misfire_grace_time` with it too. Text longer than
 * maxDurationLength is refused, and the work is linear in the length: no input can make it slow.
 */
export function parseDuration(text: string): number {
  if (text.length > maxDurationLength) throw new DurationError(`is longer than ${maxDurationLength} characters (${text.length})`);
  const input = text.trim().toLowerCase();
  if (input === '') throw new DurationError('is empty');
  let total = 0;
  let rest = input;
  // The clock, if any, is the last word: after the last space or comma.
  let sep = rest.length - 1;
  while (sep >= 0 && !isSeparator(rest[sep])) sep--;
  const clock = clockPattern.exec(rest.slice(sep + 1));
  if (clock) {
    const [h, m, s] = [Number(clock[1]), Number(clock[2]), Number(clock[3])];
    if (m > 59 || s >= 60) throw new DurationError(`'${text}' is not a valid h:mm:ss time`);
    // A leading minus negates the whole time ("-0:30:00" is minus half an hour), not just the hours.
    total += (clock[1].startsWith('-') ? -1 : 1) * (Math.abs(h) * 3600 + m * 60 + s);
    while (sep >= 0 && isSeparator(rest[sep])) sep--;
    rest = rest.slice(0, sep + 1);
  }
  if (rest !== '') {
    if (numberPattern.test(rest) && !clock) {
      total += Number(rest);
      rest = '';
    }
    partPattern.lastIndex = 0;
    while (partPattern.lastIndex < rest.length) {
      const at = partPattern.lastIndex;
      const m = partPattern.exec(rest);
      if (!m || m.index !== at || unitSeconds[m[2]] === undefined) {
        throw new DurationError(`cannot read '${text}': use forms like "90 seconds", "2 days", "1 week" or "5:00:00"`);
      }
      total += Number(m[1]) * unitSeconds[m[2]];
    }
  }
  // Round first: a fraction under half a second would otherwise come back as 0.
  const seconds = Math.round(total);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new DurationError(`must be longer than zero, got '${text}'`);
  if (seconds > 100 * 365 * 86400) throw new DurationError(`is longer than 100 years: '${text}'`);
  return seconds;
}
