/** The store conformance suite: cursors no list can have issued. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { encodeCursor } from '../../src/store/cursor.js';
import type { Store } from '../../src/store/types.js';
import { rejectsCursor, pageOrCursorError } from './fixtures.js';

/** Runs last: it pages through the records the other factories left. */
export function badCursorContract(open: () => Store): void {
  describe('bad cursors', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    const garbage = ['', 'not a cursor', '!!!', 'eyJ', encodeCursor([]), Buffer.from('{"a":1}').toString('base64url'), encodeCursor(['a', 'b', 'c'])];
    const timeKeyed = [encodeCursor(['x']), encodeCursor(['x', 1000]), encodeCursor([1000]), encodeCursor([1000, 2000]), encodeCursor([null, 'x'] as unknown as string[])];
    // Well formed, but no record can have this key: a time that is no date, or that no
    // store holds; text with NUL.
    const impossibleTimes = [1e300, -8e15, 8.64e15, 1e16, 1.5].map((ms) => encodeCursor([ms, 'x']));

    it('listJobs', async () => {
      for (const c of [...garbage, encodeCursor([1000, 'x']), encodeCursor([1000]), encodeCursor([null] as unknown as string[])]) {
        await rejectsCursor(() => store.listJobs(c, 5), `listJobs(${JSON.stringify(c)})`);
      }
      const issuedElsewhere = (await store.listExecutions({}, null, 1)).next!;
      await rejectsCursor(() => store.listJobs(issuedElsewhere, 5), 'listJobs with a listExecutions cursor');
      await pageOrCursorError(() => store.listJobs(encodeCursor(['a\u0000b']), 5), 'listJobs, NUL in the key');
    });

    it('listExecutions', async () => {
      const issuedElsewhere = (await store.listJobs(null, 1)).next!;
      for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) {
        await rejectsCursor(() => store.listExecutions({}, c, 5), `listExecutions(${JSON.stringify(c)})`);
        await rejectsCursor(() => store.listExecutions({ job_id: 'lx-a' }, c, 5), `listExecutions(job_id, ${JSON.stringify(c)})`);
      }
      for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
        await pageOrCursorError(() => store.listExecutions({}, c, 5), `listExecutions(${Buffer.from(c, 'base64url').toString()})`);
      }
    });

    it('listFailures', async () => {
      const issuedElsewhere = (await store.listJobs(null, 1)).next!;
      for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) await rejectsCursor(() => store.listFailures(c, 5), `listFailures(${JSON.stringify(c)})`);
      for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
        await pageOrCursorError(() => store.listFailures(c, 5), `listFailures(${Buffer.from(c, 'base64url').toString()})`);
      }
    });

    it('listAudit', async () => {
      const issuedElsewhere = (await store.listJobs(null, 1)).next!;
      for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) {
        await rejectsCursor(() => store.listAudit({}, c, 5), `listAudit(${JSON.stringify(c)})`);
        await rejectsCursor(() => store.listAudit({ operation: 'createJob' }, c, 5), `listAudit(operation, ${JSON.stringify(c)})`);
      }
      for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
        await pageOrCursorError(() => store.listAudit({}, c, 5), `listAudit(${Buffer.from(c, 'base64url').toString()})`);
      }
    });

    it('listWorkers', async () => {
      const issuedElsewhere = (await store.listJobs(null, 1)).next!;
      for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) await rejectsCursor(() => store.listWorkers(c, 5), `listWorkers(${JSON.stringify(c)})`);
      for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
        await pageOrCursorError(() => store.listWorkers(c, 5), `listWorkers(${Buffer.from(c, 'base64url').toString()})`);
      }
      // An issued cursor still works.
      const first = await store.listWorkers(null, 2);
      assert.ok(first.next);
      const second = await store.listWorkers(first.next, 2);
      assert.equal(second.items.length, 2);
      assert.ok(!second.items.some((w) => first.items.some((x) => x.id === w.id)));
    });
  });
}
