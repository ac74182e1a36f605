import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedId } from '../../src/store/ids.js';

describe('timeOrderedId', () => {
  it('is a UUID of version 7 and variant 10 whose first 48 bits are the time in ms', () => {
    const at = Date.UTC(2026, 11, 2, 10, 0, 0, 123);
    const id = timeOrderedId(at);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  });

  it('sorts in time order across milliseconds as text (PostgreSQL compares uuid bytes in the same order)', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => timeOrderedId(1_800_000_000_000 + i));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('draws 74 random bits for each id: 300,000 in the same ms are all different', () => {
    const at = Date.now();
    const ids = new Set(Array.from({ length: 300_000 }, () => timeOrderedId(at)));
    assert.equal(ids.size, 300_000);
    // The random part changes past the pool of bytes drawn ahead (256 ids): no id repeats a slot.
    const tails = new Set([...ids].map((id) => id.slice(14)));
    assert.equal(tails.size, 300_000);
  });
});
