/** The store conformance suite: FailureStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { FailureRecord, Store } from '../../src/store/types.js';
import { at, pad, range, shuffled, compareText, failure, allPages, assertNoRepeats } from './fixtures.js';

/** FailureStore: every method. */
export function failureStoreContract(open: () => Store): void {
  describe('failures', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    const F = 1;
    // Two failures per time, so ties need the id.
    const idOrder = shuffled(range(15), 7);
    const failures = range(15).map((i) => failure(`fl-${pad(idOrder[i])}`, F, Math.floor(i / 2), i % 4 === 3 ? { failed_job_id: null, traceback: null, kwargs: {} } : {}));
    const newest = (a: FailureRecord, b: FailureRecord) => b.time.getTime() - a.time.getTime() || compareText(b.id, a.id);

    it('insertFailure, then listFailures newest first by (time, id), paged completely', async () => {
      for (const f of shuffled(failures, 8)) await store.insertFailure(f);
      const expected = [...failures].sort(newest);
      for (const limit of [1, 4, 15, 16]) {
        const got = await allPages((a) => store.listFailures(a, limit), limit);
        assertNoRepeats(
          got.map((f) => f.id),
          `listFailures by ${limit}`,
        );
        for (let i = 1; i < got.length; i++) assert.ok(newest(got[i - 1], got[i]) < 0, `${got[i - 1].id} before ${got[i].id}`);
        assert.deepEqual(
          got.filter((f) => f.id.startsWith('fl-')),
          expected,
          `by ${limit}`,
        );
      }
    });

    it('deleteFailuresBefore deletes the failures older than the date', async () => {
      // Era 0: no other test has failures this old.
      for (const i of range(5)) await store.insertFailure(failure(`fd-${i}`, 0, i));
      assert.equal(await store.deleteFailuresBefore(at(0, 3)), 3);
      const left = (await allPages((a) => store.listFailures(a, 50), 50)).map((f) => f.id);
      assert.ok(left.includes('fd-3') && left.includes('fd-4'));
      assert.ok(!left.some((id) => ['fd-0', 'fd-1', 'fd-2'].includes(id)));
      assert.equal(left.filter((id) => id.startsWith('fl-')).length, 15, 'newer failures stay');
      assert.equal(await store.deleteFailuresBefore(at(0, 3)), 0);
    });

    it('deleteFailures removes every failure and returns the removed ids', async () => {
      const before = (await allPages((a) => store.listFailures(a, 50), 50)).map((f) => f.id);
      assert.ok(before.length >= 17);
      const removed = await store.deleteFailures();
      assert.deepEqual([...removed].sort(), [...before].sort());
      assert.deepEqual(await store.listFailures(null, 10), { items: [], next: null });
      assert.deepEqual(await store.deleteFailures(), []);
    });
  });
}
