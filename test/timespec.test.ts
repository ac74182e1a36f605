import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCron,
  checkTimezone,
  firesBetween,
  latestFires,
  nextCronFire,
  nextFireAfter,
  parseDuration,
  parseGraceTime,
  parseWhen,
  TimeSpecError,
  withinWindow,
  type Recurrence,
} from '../src/scheduling/timespec.js';

// Every date here is fixed: nothing depends on the wall clock or the machine's time zone.

const utc = (iso: string) => new Date(iso);
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const WEEK = 604800;

/** Asserts `fn` throws a TimeSpecError for `field` whose reason matches `reason` and reads as a sentence. */
function throwsSpec(fn: () => unknown, field: string, reason: RegExp): TimeSpecError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof TimeSpecError, `expected a TimeSpecError, got ${String(caught)}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.field, field);
  assert.match(caught.reason, reason);
  assert.equal(caught.message, `${field}: ${caught.reason}`);
  assert.ok(caught.reason.length >= 8, `reason too short: '${caught.reason}'`);
  assert.doesNotMatch(caught.reason, /undefined|NaN|\[object /, `reason leaks internals: '${caught.reason}'`);
  return caught;
}

/** Local wall-clock time of `d` in `timeZone`, as "YYYY-MM-DD HH:mm". */
function localTime(d: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** Successive cron fires, each computed from the previous one. */
function cronWalk(expr: string, tz: string, from: Date, count: number): string[] {
  const out: string[] = [];
  let at = from;
  for (let i = 0; i < count; i++) {
    at = nextCronFire(expr, tz, at);
    out.push(at.toISOString());
  }
  return out;
}

describe('TimeSpecError', () => {
  it('carries the field and the reason and joins them in the message', () => {
    const err = new TimeSpecError('periodically', 'is empty');
    assert.ok(err instanceof Error);
    assert.equal(err.field, 'periodically');
    assert.equal(err.reason, 'is empty');
    assert.equal(err.message, 'periodically: is empty');
  });
});

describe('parseDuration', () => {
  describe('the documented forms', () => {
    const cases: [string, number][] = [
      ['1 week', WEEK],
      ['2 days', 2 * DAY],
      ['5:00:00', 5 * HOUR],
      ['90 seconds', 90],
      ['1 day, 5:00:00', DAY + 5 * HOUR],
      ['1 day, 2:30:00', DAY + 2 * HOUR + 30 * MINUTE],
      ['1 day 2 hours', DAY + 2 * HOUR],
      ['90', 90],
    ];
    for (const [text, seconds] of cases) {
      it(`reads '${text}' as ${seconds} seconds`, () => {
        assert.equal(parseDuration('periodically', text), seconds);
      });
    }
  });

  describe('every unit spelling', () => {
    const units: [string[], number][] = [
      [['s', 'sec', 'secs', 'second', 'seconds'], 1],
      [['m', 'min', 'mins', 'minute', 'minutes'], MINUTE],
      [['h', 'hr', 'hrs', 'hour', 'hours'], HOUR],
      [['d', 'day', 'days'], DAY],
      [['w', 'week', 'weeks'], WEEK],
    ];
    for (const [spellings, unit] of units) {
      for (const spelling of spellings) {
        it(`reads '3 ${spelling}', '3${spelling}' and '3 ${spelling.toUpperCase()}'`, () => {
          assert.equal(parseDuration('periodically', `3 ${spelling}`), 3 * unit);
          assert.equal(parseDuration('periodically', `3${spelling}`), 3 * unit);
          assert.equal(parseDuration('periodically', `3 ${spelling.toUpperCase()}`), 3 * unit);
        });
      }
    }
    it('reads the singular with 1', () => {
      assert.equal(parseDuration('periodically', '1 second'), 1);
      assert.equal(parseDuration('periodically', '1 minute'), MINUTE);
      assert.equal(parseDuration('periodically', '1 hour'), HOUR);
      assert.equal(parseDuration('periodically', '1 day'), DAY);
    });
  });

  describe('combinations and spacing', () => {
    it('adds several parts separated by spaces, commas or "and"', () => {
      const all = WEEK + 2 * DAY + 3 * HOUR + 4 * MINUTE + 5;
      assert.equal(parseDuration('p', '1 week 2 days 3 hours 4 minutes 5 seconds'), all);
      assert.equal(parseDuration('p', '1 week, 2 days, 3 hours, 4 minutes, 5 seconds'), all);
      assert.equal(parseDuration('p', '1 week, 2 days, 3 hours, 4 minutes and 5 seconds'), all);
      assert.equal(parseDuration('p', '1 day and 2 hours'), DAY + 2 * HOUR);
      assert.equal(parseDuration('p', '1 day, and 2 hours'), DAY + 2 * HOUR);
      assert.equal(parseDuration('p', '1h30m'), HOUR + 30 * MINUTE);
      assert.equal(parseDuration('p', '1h 30m 15s'), HOUR + 30 * MINUTE + 15);
    });
    it('ignores case and surrounding whitespace', () => {
      assert.equal(parseDuration('p', '  2 DAYS  '), 2 * DAY);
      assert.equal(parseDuration('p', '1 Week'), WEEK);
      assert.equal(parseDuration('p', '\t90\n'), 90);
      assert.equal(parseDuration('p', '  5:00:00 '), 5 * HOUR);
    });
    it('accepts fractions and rounds the total to whole seconds', () => {
      assert.equal(parseDuration('p', '1.5 hours'), 90 * MINUTE);
      assert.equal(parseDuration('p', '0.5 minutes'), 30);
      assert.equal(parseDuration('p', '2.5 days'), 2 * DAY + 12 * HOUR);
      assert.equal(parseDuration('p', '1.5'), 2);
      assert.equal(parseDuration('p', '1.4'), 1);
      assert.equal(parseDuration('p', '0:00:01.5'), 2);
      assert.equal(parseDuration('p', '0.5'), 1);
    });
    it('always returns a whole number of seconds', () => {
      for (const text of ['1.3 minutes', '0.7', '1.01 hours', '1 day, 0:00:00.25']) {
        assert.ok(Number.isInteger(parseDuration('p', text)), text);
      }
    });
  });

  describe('h:mm:ss', () => {
    it('reads hours, minutes and seconds', () => {
      assert.equal(parseDuration('p', '0:01:30'), 90);
      assert.equal(parseDuration('p', '0:00:01'), 1);
      assert.equal(parseDuration('p', '12:34:56'), 12 * HOUR + 34 * MINUTE + 56);
      assert.equal(parseDuration('p', '5:0:0'), 5 * HOUR);
      assert.equal(parseDuration('p', '100:00:00'), 100 * HOUR);
      assert.equal(parseDuration('p', '0:59:59'), 59 * MINUTE + 59);
    });
    it('reads days before the time, with or without a comma (Python timedelta)', () => {
      assert.equal(parseDuration('p', '1 day 0:00:01'), DAY + 1);
      assert.equal(parseDuration('p', '2 days, 23:59:59'), 3 * DAY - 1);
      assert.equal(parseDuration('p', '1 week, 1 day, 1:00:00'), WEEK + DAY + HOUR);
    });
    it('rejects minutes above 59', () => {
      for (const text of ['5:60:00', '5:99:00', '1 day, 0:60:00']) {
        throwsSpec(() => parseDuration('periodically', text), 'periodically', new RegExp(`^'${text}' is not a valid h:mm:ss time$`));
      }
    });
    it('rejects seconds of 60 or more', () => {
      for (const text of ['5:00:60', '0:00:99', '0:00:59.5x', '0:00:60.0']) {
        if (text.endsWith('x')) {
          throwsSpec(() => parseDuration('periodically', text), 'periodically', /^cannot read/);
        } else {
          throwsSpec(() => parseDuration('periodically', text), 'periodically', /is not a valid h:mm:ss time/);
        }
      }
    });
    it('rejects m:ss and a bare number before the time', () => {
      throwsSpec(() => parseDuration('periodically', '5:00'), 'periodically', /^cannot read '5:00'/);
      throwsSpec(() => parseDuration('periodically', '5 5:00:00'), 'periodically', /^cannot read '5 5:00:00'/);
      throwsSpec(() => parseDuration('periodically', '1:2:3:4'), 'periodically', /^cannot read/);
    });
  });

  describe('zero', () => {
    for (const text of ['0', '0 seconds', '0 days', '0:00:00', '0 days, 0:00:00', '0.0', '0 weeks 0 hours']) {
      it(`rejects '${text}'`, () => {
        throwsSpec(() => parseDuration('periodically', text), 'periodically', new RegExp(`^must be longer than zero, got '${text}'$`));
      });
    }
    // A positive fraction that rounds to 0 used to come back as 0 seconds.
    for (const text of ['0.4', '0.4 seconds', '0:00:00.4', '0.001 minutes']) {
      it(`rejects '${text}', which rounds to zero seconds`, () => {
        throwsSpec(() => parseDuration('periodically', text), 'periodically', /^must be longer than zero/);
      });
    }
  });

  describe('negative', () => {
    for (const text of ['-5', '-5 minutes', '-1 day', '-5:00:00', '-1.5 hours', '1 hour -2 hours', '1 day -1 day']) {
      it(`rejects '${text}'`, () => {
        throwsSpec(() => parseDuration('periodically', text), 'periodically', new RegExp(`^must be longer than zero, got '${text}'$`));
      });
    }
    // The minus of "-0:30:00" used to apply to the zero hours only, giving +30 minutes.
    it("rejects '-0:30:00' and '-0:00:01' (the minus negates the whole time)", () => {
      throwsSpec(() => parseDuration('periodically', '-0:30:00'), 'periodically', /^must be longer than zero, got '-0:30:00'$/);
      throwsSpec(() => parseDuration('periodically', '-0:00:01'), 'periodically', /^must be longer than zero/);
      throwsSpec(() => parseDuration('periodically', '-1:30:00'), 'periodically', /^must be longer than zero/);
    });
    it('subtracts a negative time as a whole after days', () => {
      assert.equal(parseDuration('p', '1 day, -0:30:00'), DAY - 30 * MINUTE);
      assert.equal(parseDuration('p', '1 day, -1:30:00'), DAY - 90 * MINUTE);
    });
  });

  describe('empty', () => {
    for (const text of ['', ' ', '\t \n']) {
      it(`rejects ${JSON.stringify(text)}`, () => {
        throwsSpec(() => parseDuration('periodically', text), 'periodically', /^is empty$/);
      });
    }
  });

  describe('unparsable', () => {
    const bad = [
      'soon',
      'every day',
      'day',
      '1 fortnight',
      '1 year',
      '2 months',
      '5 minutes ago',
      '1 week extra',
      'abc 5:00:00',
      '1,5 hours',
      'P1D',
      'PT5M',
      '1e3',
      '1 day; 2 hours',
      '--5',
      '5 - minutes',
    ];
    for (const text of bad) {
      it(`rejects '${text}' naming the input and the accepted forms`, () => {
        const err = throwsSpec(() => parseDuration('periodically', text), 'periodically', /^cannot read '/);
        assert.ok(err.reason.includes(`'${text}'`), err.reason);
        assert.match(err.reason, /use forms like "90 seconds", "2 days", "1 week" or "5:00:00"/);
      });
    }
  });

  describe('limits and fields', () => {
    it('accepts up to 100 years and rejects more', () => {
      assert.equal(parseDuration('p', '36500 days'), 36500 * DAY);
      assert.equal(parseDuration('p', '5200 weeks'), 5200 * WEEK);
      throwsSpec(() => parseDuration('periodically', '36501 days'), 'periodically', /^is longer than 100 years: '36501 days'$/);
      throwsSpec(() => parseDuration('periodically', '876001:00:00'), 'periodically', /^is longer than 100 years/);
    });
    it('rejects numbers too large to be finite', () => {
      const huge = `1${'0'.repeat(400)}`;
      throwsSpec(() => parseDuration('periodically', huge), 'periodically', /^must be longer than zero/);
      throwsSpec(() => parseDuration('periodically', `${huge} seconds`), 'periodically', /^must be longer than zero/);
    });
    it('names the field it was given, and quotes the text as given', () => {
      throwsSpec(() => parseDuration('query.periodically', 'x'), 'query.periodically', /^cannot read 'x'/);
      throwsSpec(() => parseDuration('body.interval', '  0 SECONDS '), 'body.interval', /got '  0 SECONDS '$/);
    });
  });
});

describe('parseGraceTime', () => {
  it('takes a whole number of seconds', () => {
    assert.equal(parseGraceTime(30), 30);
    assert.equal(parseGraceTime(1), 1);
    assert.equal(parseGraceTime(86400), 86400);
  });
  for (const n of [0, -1, -30, 1.5, 0.5, Number.POSITIVE_INFINITY]) {
    it(`rejects the number ${n}`, () => {
      throwsSpec(() => parseGraceTime(n), 'misfire_grace_time', new RegExp(`^must be a whole number of seconds of at least 1, got ${n}$`));
    });
  }
  it('rejects the number NaN', () => {
    assert.throws(
      () => parseGraceTime(Number.NaN),
      (err: unknown) => {
        assert.ok(err instanceof TimeSpecError);
        assert.equal(err.field, 'misfire_grace_time');
        assert.equal(err.reason, 'must be a whole number of seconds of at least 1, got NaN');
        return true;
      },
    );
  });
  it('takes seconds as a string', () => {
    assert.equal(parseGraceTime('30'), 30);
    assert.equal(parseGraceTime(' 45 '), 45);
  });
  it('takes a duration', () => {
    assert.equal(parseGraceTime('5 minutes'), 5 * MINUTE);
    assert.equal(parseGraceTime('0:05:00'), 5 * MINUTE);
    assert.equal(parseGraceTime('1 hour 30 seconds'), HOUR + 30);
  });
  it('rejects bad strings under the misfire_grace_time field', () => {
    throwsSpec(() => parseGraceTime(''), 'misfire_grace_time', /^is empty$/);
    throwsSpec(() => parseGraceTime('0'), 'misfire_grace_time', /^must be longer than zero, got '0'$/);
    throwsSpec(() => parseGraceTime('-30'), 'misfire_grace_time', /^must be longer than zero/);
    throwsSpec(() => parseGraceTime('0.2'), 'misfire_grace_time', /^must be longer than zero/);
    throwsSpec(() => parseGraceTime('later'), 'misfire_grace_time', /^cannot read 'later'/);
  });
});

describe('parseWhen', () => {
  const now = utc('2027-01-15T12:00:00Z');

  describe('ISO-8601', () => {
    const cases: [string, string][] = [
      ['2027-02-20T14:56:00Z', '2027-02-20T14:56:00.000Z'],
      ['2027-02-20t14:56:00z', '2027-02-20T14:56:00.000Z'],
      ['2027-02-20T14:56:00+02:00', '2027-02-20T12:56:00.000Z'],
      ['2027-02-20T14:56:00+0200', '2027-02-20T12:56:00.000Z'],
      ['2027-02-20T14:56:00-05:30', '2027-02-20T20:26:00.000Z'],
      ['2027-02-20T14:56:00-0530', '2027-02-20T20:26:00.000Z'],
      ['2027-02-20T14:56:00+00:00', '2027-02-20T14:56:00.000Z'],
      ['2027-03-01T01:00:00+02:00', '2027-02-28T23:00:00.000Z'],
      ['2027-12-31T23:30:00-01:00', '2028-01-01T00:30:00.000Z'],
      ['2027-02-20T14:56:00', '2027-02-20T14:56:00.000Z'],
      ['2027-02-20 14:56:00', '2027-02-20T14:56:00.000Z'],
      ['2027-02-20T14:56', '2027-02-20T14:56:00.000Z'],
      ['2027-02-20T14:56+01:00', '2027-02-20T13:56:00.000Z'],
      ['2027-02-20T14:56:00.250Z', '2027-02-20T14:56:00.250Z'],
      ['2027-02-20T14:56:07.5', '2027-02-20T14:56:07.500Z'],
      ['2027-02-20', '2027-02-20T00:00:00.000Z'],
      ['  2027-02-20T14:56:00Z  ', '2027-02-20T14:56:00.000Z'],
      ['2028-02-29T12:00:00Z', '2028-02-29T12:00:00.000Z'],
      ['2027-12-31T23:59:59Z', '2027-12-31T23:59:59.000Z'],
    ];
    for (const [text, expected] of cases) {
      it(`reads '${text}' as ${expected}`, () => {
        assert.equal(parseWhen(text, now).toISOString(), expected);
      });
    }
    it('reads a time without an offset as UTC', () => {
      const d = parseWhen('2027-07-01T09:00:00', now);
      assert.equal(d.getUTCHours(), 9);
      assert.equal(d.getTime(), Date.UTC(2027, 6, 1, 9, 0, 0));
    });
    it('reads a date-only value as midnight UTC', () => {
      assert.equal(parseWhen('2027-07-01', now).getTime(), Date.UTC(2027, 6, 1));
    });
    it('does not depend on now, and leaves a past time for the caller to refuse', () => {
      assert.equal(parseWhen('2020-01-01T00:00:00Z', now).toISOString(), '2020-01-01T00:00:00.000Z');
      assert.equal(parseWhen('2027-02-20T14:56:00Z', utc('2030-01-01T00:00:00Z')).toISOString(), '2027-02-20T14:56:00.000Z');
    });

    const invalid = [
      '2027-02-30',
      '2027-02-29',
      '2027-02-29T12:00:00Z',
      '2027-04-31',
      '2027-13-01',
      '2027-13-01T00:00:00Z',
      '2027-00-10',
      '2027-02-00',
      '2027-01-32',
      '2027-02-20T24:00:00Z',
      '2027-02-20T14:60:00Z',
      '2027-02-20T14:56:60Z',
      '2027-02-20T14:56:00+25:00',
      '2027-02-20T14:56:00+02:60',
    ];
    for (const text of invalid) {
      it(`rejects the invalid '${text}'`, () => {
        throwsSpec(() => parseWhen(text, now), 'when', new RegExp(`^'${text.replace(/[+]/g, '\\+')}' is not a valid date and time$`));
      });
    }

    const unreadable = [
      '',
      '   ',
      'tomorrow',
      'now',
      '20/02/2027',
      '02/20/2027 14:56',
      '2027-2-20',
      '27-02-20',
      '2027-02-20T14Z',
      '2027-02-20T14:56:00 UTC',
      '2027-02-20T14:56:00+02',
      '2027-02-20Z',
      '1771599360',
    ];
    for (const text of unreadable) {
      it(`rejects the unreadable ${JSON.stringify(text)} with the accepted forms`, () => {
        const err = throwsSpec(() => parseWhen(text, now), 'when', /^cannot read '/);
        assert.match(err.reason, /use ISO-8601 \("2027-02-20T14:56:00Z"\) or "Mon Feb 20, 14:56"$/);
      });
    }
  });

  describe('the Bayesian form "Mon Feb 20, 14:56"', () => {
    // Feb 20 2027 is a Saturday, Feb 20 2028 a Sunday, Feb 20 2029 a Tuesday.
    it('reads the date without a weekday, in UTC, in this year while it is still ahead', () => {
      assert.equal(parseWhen('Feb 20, 14:56', now).toISOString(), '2027-02-20T14:56:00.000Z');
    });
    it('reads the date with a matching weekday', () => {
      assert.equal(parseWhen('Sat Feb 20, 14:56', now).toISOString(), '2027-02-20T14:56:00.000Z');
    });
    it('accepts full names, dots, any case, no comma, seconds and single digits', () => {
      const expected = '2027-02-20T14:56:00.000Z';
      assert.equal(parseWhen('Saturday February 20, 14:56', now).toISOString(), expected);
      assert.equal(parseWhen('Sat. Feb. 20, 14:56', now).toISOString(), expected);
      assert.equal(parseWhen('sat feb 20, 14:56', now).toISOString(), expected);
      assert.equal(parseWhen('SAT FEB 20, 14:56', now).toISOString(), expected);
      assert.equal(parseWhen('Sat Feb 20 14:56', now).toISOString(), expected);
      assert.equal(parseWhen('  Sat Feb 20,   14:56  ', now).toISOString(), expected);
      assert.equal(parseWhen('Feb 20, 14:56:30', now).toISOString(), '2027-02-20T14:56:30.000Z');
      assert.equal(parseWhen('Mar 5, 9:05', now).toISOString(), '2027-03-05T09:05:00.000Z');
      assert.equal(parseWhen('Sept 5, 9:05', now).toISOString(), '2027-09-05T09:05:00.000Z');
    });
    it('rejects a weekday that does not match, naming both weekdays and the year', () => {
      const err = throwsSpec(() => parseWhen('Mon Feb 20, 14:56', now), 'when', /Monday/);
      assert.equal(err.reason, "'Mon Feb 20, 14:56' names a Monday, but Feb 20 2027 is a Saturday");
      throwsSpec(() => parseWhen('Sunday Feb 20, 14:56', now), 'when', /names a Sunday, but Feb 20 2027 is a Saturday$/);
    });
    it('rolls over to next year when the date has already passed this year', () => {
      const march = utc('2027-03-01T00:00:00Z');
      assert.equal(parseWhen('Feb 20, 14:56', march).toISOString(), '2028-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Jan 1, 00:00', march).toISOString(), '2028-01-01T00:00:00.000Z');
      assert.equal(parseWhen('Dec 31, 23:59', march).toISOString(), '2027-12-31T23:59:00.000Z');
    });
    it('checks the weekday against the rolled-over year', () => {
      const march = utc('2027-03-01T00:00:00Z');
      assert.equal(parseWhen('Sun Feb 20, 14:56', march).toISOString(), '2028-02-20T14:56:00.000Z');
      throwsSpec(() => parseWhen('Sat Feb 20, 14:56', march), 'when', /^'Sat Feb 20, 14:56' names a Saturday, but Feb 20 2028 is a Sunday$/);
    });
    it('rolls over on the same day once the time has passed, and at exactly now', () => {
      const at = utc('2027-02-20T14:56:00Z');
      assert.equal(parseWhen('Feb 20, 14:56', at).toISOString(), '2028-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Feb 20, 14:55', at).toISOString(), '2028-02-20T14:55:00.000Z');
      assert.equal(parseWhen('Feb 20, 14:56:01', at).toISOString(), '2027-02-20T14:56:01.000Z');
      assert.equal(parseWhen('Feb 20, 15:30', at).toISOString(), '2027-02-20T15:30:00.000Z');
    });
    it('rolls over at the end of the year', () => {
      const lateDec = utc('2027-12-31T23:00:00Z');
      assert.equal(parseWhen('Jan 1, 00:00', lateDec).toISOString(), '2028-01-01T00:00:00.000Z');
      assert.equal(parseWhen('Dec 31, 23:30', lateDec).toISOString(), '2027-12-31T23:30:00.000Z');
      assert.equal(parseWhen('Dec 31, 22:30', lateDec).toISOString(), '2028-12-31T22:30:00.000Z');
    });
    it('is UTC however now was built', () => {
      const d = parseWhen('Jul 1, 09:00', now);
      assert.equal(d.getTime(), Date.UTC(2027, 6, 1, 9, 0, 0));
    });
    // Feb 29 used to be refused before March of a common year but moved to the next leap
    // year after it; it now always goes to the next leap year in which it is still ahead.
    it('puts Feb 29 in the next leap year in which it is still ahead', () => {
      assert.equal(parseWhen('Feb 29, 12:00', utc('2027-01-10T00:00:00Z')).toISOString(), '2028-02-29T12:00:00.000Z');
      assert.equal(parseWhen('Feb 29, 12:00', utc('2027-03-10T00:00:00Z')).toISOString(), '2028-02-29T12:00:00.000Z');
      assert.equal(parseWhen('Feb 29, 12:00', utc('2025-03-10T00:00:00Z')).toISOString(), '2028-02-29T12:00:00.000Z');
      assert.equal(parseWhen('Feb 29, 12:00', utc('2028-01-10T00:00:00Z')).toISOString(), '2028-02-29T12:00:00.000Z');
      assert.equal(parseWhen('Feb 29, 12:00', utc('2028-02-29T12:00:00Z')).toISOString(), '2032-02-29T12:00:00.000Z');
      assert.equal(parseWhen('Tue Feb 29, 12:00', utc('2027-01-10T00:00:00Z')).toISOString(), '2028-02-29T12:00:00.000Z');
      // 2100 is not a leap year: from March 2096 the next Feb 29 is in 2104.
      assert.equal(parseWhen('Feb 29, 12:00', utc('2096-03-01T00:00:00Z')).toISOString(), '2104-02-29T12:00:00.000Z');
    });
    it('takes an explicit year, whatever now is', () => {
      assert.equal(parseWhen('Feb 20 2029, 14:56', now).toISOString(), '2029-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Tue Feb 20 2029, 14:56', now).toISOString(), '2029-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Feb 20 2029 14:56', now).toISOString(), '2029-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Feb 20 2027, 14:56', utc('2027-06-01T00:00:00Z')).toISOString(), '2027-02-20T14:56:00.000Z');
      assert.equal(parseWhen('Feb 29 2028, 12:00', now).toISOString(), '2028-02-29T12:00:00.000Z');
    });
    it('checks the weekday and the date against an explicit year', () => {
      throwsSpec(() => parseWhen('Mon Feb 20 2029, 14:56', now), 'when', /^'Mon Feb 20 2029, 14:56' names a Monday, but Feb 20 2029 is a Tuesday$/);
      throwsSpec(() => parseWhen('Feb 29 2027, 12:00', now), 'when', /^'Feb 29 2027, 12:00' is not a valid date and time in 2027$/);
    });
    const invalid = ['Feb 30, 12:00', 'Apr 31, 12:00', 'Feb 0, 12:00', 'Jan 32, 12:00', 'Feb 20, 24:00', 'Feb 20, 14:60', 'Feb 20, 99:00'];
    for (const text of invalid) {
      it(`rejects the invalid '${text}'`, () => {
        throwsSpec(() => parseWhen(text, now), 'when', new RegExp(`^'${text}' is not a valid date and time in 20\\d\\d$`));
      });
    }
    // Seconds of 60 and more used to roll over into the next minute.
    it('rejects seconds above 59', () => {
      throwsSpec(() => parseWhen('Feb 20, 14:56:60', now), 'when', /^'Feb 20, 14:56:60' is not a valid date and time in 2027$/);
      throwsSpec(() => parseWhen('Feb 20 2029, 14:56:99', now), 'when', /is not a valid date and time in 2029$/);
    });
    it('rejects an unknown month or weekday, naming it', () => {
      throwsSpec(() => parseWhen('Foo 20, 14:56', now), 'when', /^unknown month 'Foo' in 'Foo 20, 14:56'$/);
      throwsSpec(() => parseWhen('Mon Fbr 20, 14:56', now), 'when', /^unknown month 'Fbr'/);
      throwsSpec(() => parseWhen('Xyz Feb 20, 14:56', now), 'when', /^unknown weekday 'Xyz' in 'Xyz Feb 20, 14:56'$/);
    });
    it('rejects incomplete forms as unreadable', () => {
      for (const text of ['Feb 20', 'Mon Feb 20', 'Feb, 14:56', 'Feb 20, 1456', 'Feb 20, 14:5', 'Feb 20 27, 14:56']) {
        throwsSpec(() => parseWhen(text, now), 'when', /^cannot read '/);
      }
    });
  });
});

describe('checkTimezone', () => {
  for (const tz of ['UTC', 'Europe/Prague', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) {
    it(`accepts '${tz}' and returns it`, () => {
      assert.equal(checkTimezone(tz), tz);
    });
  }
  for (const tz of ['Europe/Praha', 'Mars/Olympus', 'Not a zone', '', 'Europe/', 'UTC+25']) {
    it(`rejects ${JSON.stringify(tz)}, naming it and the expected form`, () => {
      throwsSpec(() => checkTimezone(tz), 'timezone', new RegExp(`^unknown time zone '${tz.replace(/[+]/g, '\\+')}' \\(use an IANA name such as 'UTC' or 'Europe/Prague'\\)$`));
    });
  }
});

describe('checkCron', () => {
  describe('5 fields', () => {
    for (const expr of ['* * * * *', '*/5 * * * *', '0 9 * * 1-5', '30 2 * * *', '0 0 1 * *', '0 9 * jan-mar mon-fri', '15,45 8-18/2 * * *', '0 0 * * 7', '59 23 31 12 *']) {
      it(`accepts '${expr}' and returns it`, () => {
        assert.equal(checkCron(expr, 'UTC'), expr);
      });
    }
  });
  describe('6 fields, seconds first', () => {
    for (const expr of ['* * * * * *', '0 */10 * * * *', '30 0 10 * * *', '59 59 23 * * sun']) {
      it(`accepts '${expr}' and returns it`, () => {
        assert.equal(checkCron(expr, 'UTC'), expr);
      });
    }
  });
  it('normalizes whitespace between fields', () => {
    assert.equal(checkCron('  0   9 * *   * ', 'UTC'), '0 9 * * *');
    assert.equal(checkCron('0\t9\t*\t*\t*', 'UTC'), '0 9 * * *');
    assert.equal(checkCron(' 0  0 9 * * * ', 'UTC'), '0 0 9 * * *');
  });
  it('accepts an expression in a non-UTC zone', () => {
    assert.equal(checkCron('30 2 * * *', 'Europe/Prague'), '30 2 * * *');
    assert.equal(checkCron('0 9 * * 1-5', 'America/New_York'), '0 9 * * 1-5');
  });
  const counts: [string, number][] = [
    ['', 1],
    ['   ', 1],
    ['@daily', 1],
    ['*', 1],
    ['* * * *', 4],
    ['0 0 0 * * * 2027', 7],
    ['* * * * * * * *', 8],
  ];
  for (const [expr, n] of counts) {
    it(`rejects ${JSON.stringify(expr)} for having ${n} field(s)`, () => {
      throwsSpec(() => checkCron(expr, 'UTC'), 'cron', new RegExp(`^must have 5 fields \\(minute hour day month weekday\\) or 6 \\(with seconds first\\), got ${n}$`));
    });
  }
  const outOfRange: [string, string][] = [
    ['60 * * * *', '0-59'],
    ['0 24 * * *', '0-23'],
    ['0 0 32 * *', '1-31'],
    ['0 0 0 * *', '1-31'],
    ['0 0 1 13 *', '1-12'],
    ['0 0 1 0 *', '1-12'],
    ['0 0 * * 8', '0-7'],
    ['60 0 0 * * *', '0-59'],
    ['0 60 0 * * *', '0-59'],
  ];
  for (const [expr, range] of outOfRange) {
    it(`rejects the out-of-range '${expr}', naming it and the range ${range}`, () => {
      const err = throwsSpec(() => checkCron(expr, 'UTC'), 'cron', new RegExp(`^cannot read '${expr.replace(/\*/g, '\\*')}': `));
      assert.ok(err.reason.includes(range), err.reason);
    });
  }
  for (const expr of ['a b c d e', '* * * * foo', '*/0 * * * *', '5-1x * * * *']) {
    it(`rejects '${expr}'`, () => {
      throwsSpec(() => checkCron(expr, 'UTC'), 'cron', /^cannot read '/);
    });
  }
  it('rejects a cron expression in an unknown zone under the cron field', () => {
    throwsSpec(() => checkCron('0 9 * * *', 'Mars/Olympus'), 'cron', /^cannot read '0 9 \* \* \*': /);
  });
});

describe('nextCronFire', () => {
  describe('in UTC', () => {
    it('finds the next fire later the same day', () => {
      assert.equal(nextCronFire('0 10 * * *', 'UTC', utc('2027-01-01T09:00:00Z')).toISOString(), '2027-01-01T10:00:00.000Z');
    });
    it('is strictly after the given instant', () => {
      assert.equal(nextCronFire('0 10 * * *', 'UTC', utc('2027-01-01T10:00:00Z')).toISOString(), '2027-01-02T10:00:00.000Z');
      assert.equal(nextCronFire('0 10 * * *', 'UTC', utc('2027-01-01T10:00:00.001Z')).toISOString(), '2027-01-02T10:00:00.000Z');
      assert.equal(nextCronFire('* * * * *', 'UTC', utc('2027-01-01T10:00:00Z')).toISOString(), '2027-01-01T10:01:00.000Z');
      assert.equal(nextCronFire('* * * * *', 'UTC', utc('2027-01-01T10:00:59.500Z')).toISOString(), '2027-01-01T10:01:00.000Z');
    });
    it('finds a fire 1 ms ahead (how a cron job with `when` gets its first run)', () => {
      assert.equal(nextCronFire('0 10 * * *', 'UTC', utc('2027-01-01T09:59:59.999Z')).toISOString(), '2027-01-01T10:00:00.000Z');
      assert.equal(nextCronFire('30 0 10 * * *', 'UTC', utc('2027-01-01T10:00:29.999Z')).toISOString(), '2027-01-01T10:00:30.000Z');
    });
    it('reads 6 fields with seconds first', () => {
      assert.equal(nextCronFire('*/10 * * * * *', 'UTC', utc('2027-01-01T10:00:05.500Z')).toISOString(), '2027-01-01T10:00:10.000Z');
      assert.equal(nextCronFire('30 0 10 * * *', 'UTC', utc('2027-01-01T10:00:30Z')).toISOString(), '2027-01-02T10:00:30.000Z');
      assert.equal(nextCronFire('* * * * * *', 'UTC', utc('2027-01-01T10:00:30.500Z')).toISOString(), '2027-01-01T10:00:31.000Z');
    });
    it('honours weekdays, days of month and months', () => {
      // 2027-02-20 is a Saturday.
      assert.equal(nextCronFire('0 9 * * 1', 'UTC', utc('2027-02-20T12:00:00Z')).toISOString(), '2027-02-22T09:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * mon-fri', 'UTC', utc('2027-02-19T12:00:00Z')).toISOString(), '2027-02-22T09:00:00.000Z');
      assert.equal(nextCronFire('0 0 1 * *', 'UTC', utc('2027-02-20T00:00:00Z')).toISOString(), '2027-03-01T00:00:00.000Z');
      assert.equal(nextCronFire('0 0 29 2 *', 'UTC', utc('2027-01-01T00:00:00Z')).toISOString(), '2028-02-29T00:00:00.000Z');
      assert.equal(nextCronFire('0 0 1 1 *', 'UTC', utc('2027-12-31T23:59:59Z')).toISOString(), '2028-01-01T00:00:00.000Z');
    });
  });

  describe('in a time zone', () => {
    it('reads the hours in that zone, in winter and in summer', () => {
      assert.equal(nextCronFire('0 9 * * *', 'Europe/Prague', utc('2027-01-15T00:00:00Z')).toISOString(), '2027-01-15T08:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * *', 'Europe/Prague', utc('2027-07-15T00:00:00Z')).toISOString(), '2027-07-15T07:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * *', 'America/New_York', utc('2027-01-15T00:00:00Z')).toISOString(), '2027-01-15T14:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * *', 'Asia/Kolkata', utc('2027-01-15T00:00:00Z')).toISOString(), '2027-01-15T03:30:00.000Z');
    });
    it('reads the day in that zone', () => {
      // 23:30 UTC on Friday 2027-02-19 is already Saturday 00:30 in Prague.
      assert.equal(nextCronFire('0 9 * * 6', 'Europe/Prague', utc('2027-02-19T23:30:00Z')).toISOString(), '2027-02-20T08:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * 5', 'Europe/Prague', utc('2027-02-19T23:30:00Z')).toISOString(), '2027-02-26T08:00:00.000Z');
    });
  });

  describe('across DST in Europe/Prague', () => {
    // 2027-03-28 (last Sunday of March): 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist.
    it('fires a daily 02:30 job once on the spring-forward day, an hour late, then at 02:30 CEST again', () => {
      const fires = cronWalk('30 2 * * *', 'Europe/Prague', utc('2027-03-26T01:30:00Z'), 4);
      assert.deepEqual(fires, [
        '2027-03-27T01:30:00.000Z', // 02:30 CET
        '2027-03-28T01:30:00.000Z', // 03:30 CEST: the missing 02:30 moved forward by the lost hour
        '2027-03-29T00:30:00.000Z', // 02:30 CEST
        '2027-03-30T00:30:00.000Z', // 02:30 CEST
      ]);
      assert.deepEqual(
        fires.map((f) => localTime(new Date(f), 'Europe/Prague')),
        ['2027-03-27 02:30', '2027-03-28 03:30', '2027-03-29 02:30', '2027-03-30 02:30'],
      );
    });
    it('keeps a daily job outside the gap at the same local time, 23 hours apart over the change', () => {
      const fires = cronWalk('0 9 * * *', 'Europe/Prague', utc('2027-03-27T00:00:00Z'), 3);
      assert.deepEqual(fires, ['2027-03-27T08:00:00.000Z', '2027-03-28T07:00:00.000Z', '2027-03-29T07:00:00.000Z']);
      assert.ok(fires.every((f) => localTime(new Date(f), 'Europe/Prague').endsWith(' 09:00')));
    });
    // cron-parser 5.5 skipped these: its search, started before the gap, overshot by the lost hour.
    it('does not skip fires after the gap on the spring-forward day when searching from before it', () => {
      const prague = (expr: string, from: string) => nextCronFire(expr, 'Europe/Prague', utc(from)).toISOString();
      assert.equal(prague('0 9 * * *', '2027-03-27T08:00:00Z'), '2027-03-28T07:00:00.000Z'); // 09:00 CEST
      assert.equal(prague('0 9 * * *', '2027-03-27T23:30:00Z'), '2027-03-28T07:00:00.000Z');
      assert.equal(prague('0 3 * * *', '2027-03-27T05:00:00Z'), '2027-03-28T01:00:00.000Z'); // 03:00 CEST, the jump itself
      assert.equal(prague('0 23 * * *', '2027-03-27T22:59:00Z'), '2027-03-28T21:00:00.000Z');
      assert.equal(prague('0 */6 * * *', '2027-03-27T23:00:00Z'), '2027-03-28T04:00:00.000Z'); // 06:00 CEST
      assert.equal(prague('0 1,9 * * *', '2027-03-28T00:00:00Z'), '2027-03-28T07:00:00.000Z');
      assert.equal(prague('0 0 9 * * *', '2027-03-27T08:00:00Z'), '2027-03-28T07:00:00.000Z');
      // A weekly Sunday job must not slip a whole week.
      assert.equal(prague('0 9 * * 0', '2027-03-24T12:00:00Z'), '2027-03-28T07:00:00.000Z');
      assert.equal(nextCronFire('0 9 * * *', 'America/New_York', utc('2027-03-13T14:00:00Z')).toISOString(), '2027-03-14T13:00:00.000Z');
    });
    it('skips the missing hour for an hourly job (fires stay an hour apart)', () => {
      assert.deepEqual(cronWalk('0 * * * *', 'Europe/Prague', utc('2027-03-27T23:30:00Z'), 3), [
        '2027-03-28T00:00:00.000Z', // 01:00 CET
        '2027-03-28T01:00:00.000Z', // 03:00 CEST
        '2027-03-28T02:00:00.000Z', // 04:00 CEST
      ]);
    });
    // 2027-10-31 (last Sunday of October): 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    it('fires a daily 02:30 job once on the fall-back day, not again at the repeated 02:30', () => {
      const fires = cronWalk('30 2 * * *', 'Europe/Prague', utc('2027-10-30T00:30:00Z'), 3);
      assert.deepEqual(fires, [
        '2027-10-31T00:30:00.000Z', // the first 02:30 (CEST)
        '2027-11-01T01:30:00.000Z', // 02:30 CET
        '2027-11-02T01:30:00.000Z',
      ]);
    });
    it('does not fire the repeated 02:30 when the first one ran late', () => {
      for (const late of ['2027-10-31T00:30:00.200Z', '2027-10-31T00:45:00Z', '2027-10-31T00:59:59Z']) {
        assert.equal(nextCronFire('30 2 * * *', 'Europe/Prague', utc(late)).toISOString(), '2027-11-01T01:30:00.000Z', late);
      }
    });
    it('fires an hourly job in both 02:00 hours of the fall-back day', () => {
      assert.deepEqual(cronWalk('0 * * * *', 'Europe/Prague', utc('2027-10-30T23:30:00Z'), 3), [
        '2027-10-31T00:00:00.000Z', // 02:00 CEST
        '2027-10-31T01:00:00.000Z', // 02:00 CET
        '2027-10-31T02:00:00.000Z', // 03:00 CET
      ]);
    });
  });
});

describe('nextFireAfter', () => {
  const due = utc('2027-01-01T10:00:00Z');

  describe('once', () => {
    it('has no next fire', () => {
      assert.equal(nextFireAfter({ kind: 'once' }, due, due), null);
      assert.equal(nextFireAfter({ kind: 'once' }, due, utc('2027-06-01T00:00:00Z')), null);
      assert.equal(nextFireAfter({ kind: 'once' }, due, utc('2026-06-01T00:00:00Z')), null);
    });
  });

  describe('interval', () => {
    const hourly: Recurrence = { kind: 'interval', seconds: HOUR };
    it('fires one period after the due time when run on time', () => {
      assert.equal(nextFireAfter(hourly, due, due)!.toISOString(), '2027-01-01T11:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T10:00:00.500Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
    });
    it('does not drift with the run duration', () => {
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T10:17:42Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T10:59:59.999Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
    });
    it('keeps every fire on the grid over many slow runs', () => {
      const rec: Recurrence = { kind: 'interval', seconds: 90 };
      let at = due;
      for (let i = 1; i <= 50; i++) {
        const ranUntil = new Date(at.getTime() + 37_123); // each run takes about 37 s
        at = nextFireAfter(rec, at, ranUntil)!;
        assert.equal(at.getTime(), due.getTime() + i * 90_000);
      }
    });
    it('lands strictly after now when now is exactly on a grid point behind', () => {
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T13:00:00Z'))!.toISOString(), '2027-01-01T14:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T11:00:00Z'))!.toISOString(), '2027-01-01T12:00:00.000Z');
    });
    it('lands on the next grid point after now when many periods behind, without replaying the missed ones', () => {
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T13:17:00Z'))!.toISOString(), '2027-01-01T14:00:00.000Z');
      const rec: Recurrence = { kind: 'interval', seconds: 90 };
      assert.equal(nextFireAfter(rec, due, utc('2027-01-01T10:07:00Z'))!.toISOString(), '2027-01-01T10:07:30.000Z');
      const weekly: Recurrence = { kind: 'interval', seconds: WEEK };
      assert.equal(nextFireAfter(weekly, due, utc('2027-03-03T09:00:00Z'))!.toISOString(), '2027-03-05T10:00:00.000Z');
    });
    it('holds the grid properties far behind', () => {
      const step = 7 * MINUTE * 1000 + 13_000; // 7 min 13 s
      const rec: Recurrence = { kind: 'interval', seconds: step / 1000 };
      for (const now of [utc('2027-01-01T10:07:13Z'), utc('2027-02-14T03:21:09.456Z'), utc('2031-09-30T23:59:59.999Z'), utc('2027-01-01T10:00:00.001Z')]) {
        const next: Date = nextFireAfter(rec, due, now)!;
        const offset: number = next.getTime() - due.getTime();
        assert.equal(offset % step, 0, `not on the grid for now=${now.toISOString()}`);
        assert.ok(next.getTime() > now.getTime(), `not after now=${now.toISOString()}`);
        assert.ok(next.getTime() - now.getTime() <= step, `skips a grid point for now=${now.toISOString()}`);
      }
    });
    it('fires one period after a due time that is still in the future', () => {
      // The fire due at `due` is the one being handled (it started a little early): the next is one period on.
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T09:59:59Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2026-12-31T00:00:00Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
    });
  });

  describe('cron', () => {
    const hourly: Recurrence = { kind: 'cron', expr: '0 * * * *', timezone: 'UTC' };
    const daily: Recurrence = { kind: 'cron', expr: '0 10 * * *', timezone: 'UTC' };
    it('fires at the next cron time after a run on time', () => {
      assert.equal(nextFireAfter(hourly, due, due)!.toISOString(), '2027-01-01T11:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2027-01-01T10:00:00.200Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
      assert.equal(nextFireAfter(daily, due, utc('2027-01-01T10:05:00Z'))!.toISOString(), '2027-01-02T10:00:00.000Z');
    });
    it('fires strictly after now when many fires behind, without replaying the missed ones', () => {
      const now = utc('2027-01-05T07:42:00Z');
      assert.equal(nextFireAfter(hourly, due, now)!.toISOString(), '2027-01-05T08:00:00.000Z');
      assert.equal(nextFireAfter(daily, due, now)!.toISOString(), '2027-01-05T10:00:00.000Z');
      assert.equal(nextFireAfter(daily, due, utc('2027-01-05T10:00:00Z'))!.toISOString(), '2027-01-06T10:00:00.000Z');
    });
    it('fires after a due time that is still in the future, not at it again', () => {
      assert.equal(nextFireAfter(daily, due, utc('2027-01-01T09:59:59Z'))!.toISOString(), '2027-01-02T10:00:00.000Z');
      assert.equal(nextFireAfter(hourly, due, utc('2026-12-31T00:00:00Z'))!.toISOString(), '2027-01-01T11:00:00.000Z');
    });
    it('uses the job time zone', () => {
      const prague: Recurrence = { kind: 'cron', expr: '30 2 * * *', timezone: 'Europe/Prague' };
      const d = utc('2027-03-27T01:30:00Z');
      assert.equal(nextFireAfter(prague, d, utc('2027-03-27T01:30:00.150Z'))!.toISOString(), '2027-03-28T01:30:00.000Z');
      assert.equal(nextFireAfter(prague, utc('2027-03-28T01:30:00Z'), utc('2027-03-28T01:30:01Z'))!.toISOString(), '2027-03-29T00:30:00.000Z');
      const nine: Recurrence = { kind: 'cron', expr: '0 0 9 * * *', timezone: 'America/New_York' };
      assert.equal(nextFireAfter(nine, utc('2027-01-15T14:00:00Z'), utc('2027-01-20T20:00:00Z'))!.toISOString(), '2027-01-21T14:00:00.000Z');
    });
  });
});

describe('bounded parsing', () => {
  // Shapes that made the old clock regex backtrack: each start position rescanned the run of separators.
  const hostile = ['1' + ' '.repeat(60_000) + 'x', ','.repeat(60_000) + '1', '1 '.repeat(30_000) + '1:1:1x', ' '.repeat(59_990) + '1:00:00'];
  for (const text of hostile) {
    it(`answers a ${text.length}-character duration (${JSON.stringify(text.slice(0, 6))}...) at once`, () => {
      const t0 = performance.now();
      throwsSpec(() => parseDuration('kwargs.older_than', text), 'kwargs.older_than', /^is longer than 1000 characters \(\d+\)$/);
      // Linear work is microseconds; the quadratic regex took seconds on 60 KB.
      assert.ok(performance.now() - t0 < 50, `took ${performance.now() - t0} ms`);
    });
  }
  it('reads the longest accepted duration in linear time, whatever its shape', () => {
    for (const text of [`1${' '.repeat(998)}x`, `${','.repeat(990)}1:00:00`, '1 s '.repeat(250), `${'1 second and '.repeat(76)}1s`]) {
      const t0 = performance.now();
      try {
        parseDuration('p', text);
      } catch (err) {
        assert.ok(err instanceof TimeSpecError, String(err));
      }
      assert.ok(performance.now() - t0 < 20, `${JSON.stringify(text.slice(0, 12))}: took ${performance.now() - t0} ms`);
    }
    assert.equal(parseDuration('p', '1 s '.repeat(250)), 250);
    assert.equal(parseDuration('p', `1 day,${' '.repeat(900)}5:00:00`), DAY + 5 * HOUR);
  });
  it('refuses a `when` longer than 100 characters before reading it', () => {
    throwsSpec(() => parseWhen('Mon Feb 20, 14:56' + ' '.repeat(200), utc('2026-01-01T00:00:00Z')), 'when', /^is longer than 100 characters \(217\)$/);
  });
});

describe('cron that never fires, and bounded cron parsing', () => {
  const never: Array<[string, RegExp]> = [
    ['0 0 31 4,6,9,11 *', /never fires: April, June, September, November have no day 31$/],
    ['0 0 30 2 *', /never fires: February has no day 30$/],
    ['0 0 30-31 2 *', /never fires: February has no day 30, 31$/],
    ['0 0 31 apr,jun *', /never fires: April, June have no day 31$/],
    ['0 0 0 31 4-6/2 *', /never fires: April, June have no day 31$/],
  ];
  for (const [expr, reason] of never) {
    it(`refuses '${expr}', which never fires`, () => {
      const t0 = performance.now();
      throwsSpec(() => checkCron(expr, 'UTC'), 'cron', reason);
      assert.ok(performance.now() - t0 < 100, `took ${performance.now() - t0} ms`);
    });
  }
  it('keeps expressions that fire, if rarely, and cron-parser answers their right dates', () => {
    const from = utc('2026-11-29T00:00:00Z');
    assert.deepEqual(cronWalk(checkCron('0 0 29 2 *', 'UTC'), 'UTC', from, 2), ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
    assert.deepEqual(cronWalk(checkCron('0 0 31 * *', 'UTC'), 'UTC', from, 3), ['2026-12-31T00:00:00.000Z', '2027-01-31T00:00:00.000Z', '2027-03-31T00:00:00.000Z']);
    assert.deepEqual(cronWalk(checkCron('0 0 31 4,6,9,12 *', 'UTC'), 'UTC', from, 2), ['2026-12-31T00:00:00.000Z', '2027-12-31T00:00:00.000Z']);
    assert.deepEqual(cronWalk(checkCron('0 0 L 2 *', 'UTC'), 'UTC', from, 2), ['2027-02-28T00:00:00.000Z', '2028-02-29T00:00:00.000Z']);
    // A day of week as well: cron fires on either, so this one fires on every Monday of February.
    assert.equal(nextCronFire(checkCron('0 0 30 2 1', 'UTC'), 'UTC', from).toISOString(), '2027-02-01T00:00:00.000Z');
  });
  it('refuses long expressions and odd characters before cron-parser reads them', () => {
    throwsSpec(() => checkCron(`0 0 1 1 ${'1,'.repeat(150)}1`, 'UTC'), 'cron', /^is longer than 200 characters \(309\)$/);
    throwsSpec(() => checkCron('0 0 1 $ *', 'UTC'), 'cron', /^the month field '\$' holds characters a cron field cannot have$/);
    throwsSpec(() => checkCron(`${Array.from({ length: 61 }, (_, i) => i % 60).join(',')} * * * *`, 'UTC'), 'cron', /^the minute field lists more than 60 values$/);
  });
});

describe('parseGraceTime within what the stores hold', () => {
  it('refuses a grace past 2^31 - 1 seconds, as a number or a duration', () => {
    assert.equal(parseGraceTime(2147483647), 2147483647);
    throwsSpec(() => parseGraceTime(2147483648), 'misfire_grace_time', /^must be at most 2147483647 seconds, got 2147483648$/);
    throwsSpec(() => parseGraceTime('36000 days'), 'misfire_grace_time', /^must be at most 2147483647 seconds/);
  });
});

describe('firesBetween', () => {
  const cron = (expr: string, timezone: string): Recurrence => ({ kind: 'cron', expr, timezone });
  const isoList = (ds: Date[]) => ds.map((d) => d.toISOString());

  it('lists the same fires as nextCronFire step by step, over the clock changes of several zones', () => {
    const days = [
      ['2027-03-12T00:00:00Z', '2027-03-16T00:00:00Z'],
      ['2027-03-26T00:00:00Z', '2027-03-30T00:00:00Z'],
      ['2027-10-29T00:00:00Z', '2027-11-09T00:00:00Z'],
      ['2027-04-01T00:00:00Z', '2027-04-06T00:00:00Z'],
      ['2026-10-01T00:00:00Z', '2026-10-08T00:00:00Z'],
    ];
    for (const tz of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'America/Sao_Paulo']) {
      for (const expr of ['30 2 * * *', '0 * * * *', '0 9 * * *', '30 1 * * *', '0 2 * * 0', '*/20 2-3 * * *']) {
        for (const [a, b] of days) {
          const stepped: Date[] = [];
          for (let at = nextCronFire(expr, tz, new Date(new Date(a).getTime() - 1)); at < new Date(b); at = nextCronFire(expr, tz, at)) stepped.push(at);
          assert.deepEqual(isoList(firesBetween(cron(expr, tz), new Date(a), new Date(a), new Date(b), 10_000)), isoList(stepped), `${expr} in ${tz} from ${a}`);
        }
      }
    }
  });

  it('fires a skipped local time once after a spring-forward and a repeated one once at a fall-back', () => {
    const berlin = firesBetween(cron('30 2 * * *', 'Europe/Berlin'), new Date(0), new Date('2027-03-27T00:00:00Z'), new Date('2027-03-30T00:00:00Z'), 10);
    assert.deepEqual(isoList(berlin), ['2027-03-27T01:30:00.000Z', '2027-03-28T01:30:00.000Z', '2027-03-29T00:30:00.000Z']);
    const ny = firesBetween(cron('30 1 * * *', 'America/New_York'), new Date(0), new Date('2027-11-06T12:00:00Z'), new Date('2027-11-08T12:00:00Z'), 10);
    assert.deepEqual(isoList(ny), ['2027-11-07T05:30:00.000Z', '2027-11-08T06:30:00.000Z']);
    const spring = firesBetween(cron('0 * * * *', 'America/New_York'), new Date(0), new Date('2027-03-14T05:00:00Z'), new Date('2027-03-15T04:00:00Z'), 100);
    assert.equal(spring.length, 23);
    const fall = firesBetween(cron('0 * * * *', 'America/New_York'), new Date(0), new Date('2027-11-07T04:00:00Z'), new Date('2027-11-08T05:00:00Z'), 100);
    assert.equal(fall.length, 25);
  });

  it('puts interval fires on the grid through the anchor, on either side of it', () => {
    const hourly: Recurrence = { kind: 'interval', seconds: 3600 };
    const anchor = new Date('2030-01-01T00:30:00Z');
    assert.deepEqual(isoList(firesBetween(hourly, anchor, new Date('2026-01-10T00:00:00Z'), new Date('2026-01-10T02:00:00Z'), 10)), [
      '2026-01-10T00:30:00.000Z',
      '2026-01-10T01:30:00.000Z',
    ]);
    assert.deepEqual(isoList(firesBetween(hourly, anchor, anchor, new Date('2030-01-01T02:30:00Z'), 10)), ['2030-01-01T00:30:00.000Z', '2030-01-01T01:30:00.000Z']);
    assert.equal(firesBetween(hourly, anchor, anchor, new Date('2031-01-01T00:00:00Z'), 3).length, 3, 'at most max');
    assert.deepEqual(firesBetween({ kind: 'once' }, anchor, new Date(0), new Date('2030-01-01T00:30:00Z'), 5), [], 'to is exclusive');
  });
});

describe('latestFires', () => {
  it('keeps the latest fires of a range and says whether older ones were left out', () => {
    const everySecond: Recurrence = { kind: 'interval', seconds: 1 };
    const from = new Date('2027-01-01T00:00:00Z');
    const r = latestFires(everySecond, from, from, new Date('2027-01-01T00:00:10Z'), 3);
    assert.deepEqual(
      r.fires.map((d) => d.toISOString()),
      ['2027-01-01T00:00:07.000Z', '2027-01-01T00:00:08.000Z', '2027-01-01T00:00:09.000Z'],
    );
    assert.equal(r.dropped, true);
    assert.equal(latestFires(everySecond, from, from, new Date('2027-01-01T00:00:02Z'), 3).dropped, false);
    // A year of every minute: a bounded look still ends at the latest fires.
    const minutely: Recurrence = { kind: 'cron', expr: '* * * * *', timezone: 'Europe/Berlin' };
    const year = latestFires(minutely, from, from, new Date('2028-01-01T00:00:00Z'), 5);
    assert.deepEqual(
      year.fires.map((d) => d.toISOString()),
      ['2027-12-31T23:55:00.000Z', '2027-12-31T23:56:00.000Z', '2027-12-31T23:57:00.000Z', '2027-12-31T23:58:00.000Z', '2027-12-31T23:59:00.000Z'],
    );
    assert.equal(year.dropped, true);
  });
});

describe('withinWindow', () => {
  it('moves a fire before start_at to the first at or after it, and drops one after end_at', () => {
    const daily: Recurrence = { kind: 'cron', expr: '0 6 * * *', timezone: 'UTC' };
    const start = new Date('2027-05-03T12:00:00Z');
    assert.equal(withinWindow(daily, new Date('2027-05-01T06:00:00Z'), { start_at: start, end_at: null })?.toISOString(), '2027-05-04T06:00:00.000Z');
    assert.equal(withinWindow(daily, new Date('2027-05-05T06:00:00Z'), { start_at: start, end_at: new Date('2027-05-05T05:59:59Z') }), null);
    assert.equal(withinWindow({ kind: 'once' }, new Date('2027-05-01T06:00:00Z'), { start_at: start, end_at: null })?.toISOString(), start.toISOString());
  });
});
