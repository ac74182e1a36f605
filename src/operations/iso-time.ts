const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** From 0000-01-01 to 9999-12-31: the years toISOString writes with four digits. */
const first = Date.parse('0000-01-01T00:00:00.000Z');
const last = Date.parse('9999-12-31T23:59:59.999Z');

/** The last two instants written: a page or a bulk create repeats the same few times (created_at, updated_at, when) row after row. */
let lastTime = NaN;
let lastText = '';
let otherTime = NaN;
let otherText = '';

/**
 * What `Date.prototype.toISOString` answers, about four times faster: Node 20 takes about a
 * microsecond per call, and a page of 50 jobs or runs writes some 250 times. The calendar date
 * comes from the day number by Hinnant's days-to-civil algorithm; years outside 0..9999 (which
 * toISOString writes with a sign and six digits) and invalid dates go to toISOString itself.
 */
export function isoTime(d: Date): string {
  const t = d.getTime();
  if (t === lastTime) return lastText;
  if (t === otherTime) return otherText;
  const text = writeIsoTime(d, t);
  otherTime = lastTime;
  otherText = lastText;
  lastTime = t;
  lastText = text;
  return text;
}

function writeIsoTime(d: Date, t: number): string {
  if (!(t >= first && t <= last)) return d.toISOString();
  const days = Math.floor(t / 86_400_000);
  let rest = t - days * 86_400_000;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  // days since 1970-01-01 -> (year, month, day)
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const y = year < 1000 ? `${year}`.padStart(4, '0') : `${year}`;
  return `${y}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(min)}:${pad2(sec)}.${pad3(ms)}Z`;
}

/** isoTime of a date that may be missing. */
export const isoOrNull = (d: Date | null): string | null => (d ? isoTime(d) : null);
