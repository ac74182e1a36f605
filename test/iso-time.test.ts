import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoOrNull, isoTime } from '../src/operations/iso-time.js';

describe('isoTime', () => {
  it('writes what toISOString writes, at the edges of years, eras and the range', () => {
    const edges = [
      0,
      -1,
      1,
      Date.UTC(1970, 0, 1, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(2026, 10, 26, 18, 5, 24, 241),
      Date.UTC(1600, 1, 29),
      Date.UTC(400, 0, 1),
      Date.parse('0000-01-01T00:00:00.000Z'),
      Date.parse('0000-03-01T00:00:00.000Z'),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      // Outside four-digit years: toISOString's extended form.
      Date.UTC(10000, 0, 1),
      -62_198_755_200_001,
      8.64e15,
      -8.64e15,
    ];
    for (const t of edges) assert.equal(isoTime(new Date(t)), new Date(t).toISOString(), String(t));
    assert.throws(() => isoTime(new Date(NaN)), RangeError);
    assert.equal(isoOrNull(null), null);
  });

  it('writes what toISOString writes for random instants from year 0 to 9999', () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const lo = Date.parse('0000-01-01T00:00:00.000Z');
    const hi = Date.parse('9999-12-31T23:59:59.999Z');
    for (let k = 0; k < 200_000; k++) {
      const t = Math.floor(lo + rand() * (hi - lo));
      assert.equal(isoTime(new Date(t)), new Date(t).toISOString());
    }
  });

  it('answers each instant right when a few repeat in turn, as the rows of a page or a bulk create do', () => {
    const instants = [Date.UTC(2026, 10, 30, 4), Date.UTC(2099, 0, 1), Date.UTC(2026, 10, 30, 4, 0, 0, 1), Date.UTC(1999, 11, 31, 23, 59, 59, 999)];
    for (let k = 0; k < 1000; k++) {
      // Two, then three, then four distinct instants in turn: more than the two remembered.
      const t = instants[(k * 7) % (2 + (k % 3))];
      assert.equal(isoTime(new Date(t)), new Date(t).toISOString(), String(t));
    }
  });
});
