import pg from 'pg';

const slowParse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (s: string) => Date;

const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
};

/**
 * Parses PostgreSQL's text form of a timestamptz in the ISO date style,
 * `2026-11-26 18:05:24.241773+00` (offset `+HH`, `+HH:MM` or `+HH:MM:SS`), the form of every
 * time the service stores. Anything else (BC, infinity, a year outside 100..9999) goes to pg's
 * own parser, which gives the same Date (or, for infinity, the string) more slowly: it matches each value with regular
 * expressions, and lists of jobs and runs hold several times per row.
 */
export function parseTimestamptz(s: string): Date {
  const n = s.length;
  if (n < 22 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return slowParse(s);
  }
  const year = digits(s, 0, 4);
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    // Microseconds: the first three digits are the milliseconds (a Date keeps no finer).
    let j = i + 1;
    while (j < n && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    const frac = s.slice(i + 1, Math.min(j, i + 4)).padEnd(3, '0');
    ms = digits(frac, 0, 3);
    if (j === i + 1) return slowParse(s);
    i = j;
  }
  const sign = s.charCodeAt(i) === 43 ? 1 : s.charCodeAt(i) === 45 ? -1 : 0;
  const rest = n - i - 1;
  if (sign === 0 || year < 100 || !(rest === 2 || (rest === 5 && s.charCodeAt(i + 3) === 58) || (rest === 8 && s.charCodeAt(i + 3) === 58 && s.charCodeAt(i + 6) === 58))) {
    return slowParse(s);
  }
  const offset = digits(s, i + 1, i + 3) * 3600 + (rest >= 5 ? digits(s, i + 4, i + 6) * 60 : 0) + (rest === 8 ? digits(s, i + 7, i + 9) : 0);
  const t = Date.UTC(year, digits(s, 5, 7) - 1, digits(s, 8, 10), digits(s, 11, 13), digits(s, 14, 16), digits(s, 17, 19), ms) - sign * offset * 1000;
  return Number.isNaN(t) ? slowParse(s) : new Date(t);
}

/** pg's type parsers with the fast timestamptz parser. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.TIMESTAMPTZ && format !== 'binary' ? parseTimestamptz : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
