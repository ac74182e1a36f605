/** The store conformance suite: EventStore, the log behind the live streams. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { EventInput, Store } from '../../src/store/types.js';
import { scaled } from '../helpers.js';
import { execution } from './fixtures.js';

const jobEvent = (jobId: string, type: EventInput['type'] = 'job.updated'): EventInput => ({
  type,
  job_id: jobId,
  execution_id: null,
  batch_id: null,
  handler: 'echo',
  status: null,
  progress: null,
  state: 'running',
});

export function eventStoreContract(open: () => Store): void {
  describe('event log', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('numbers events in the order written and reads them back after an id, with ids asked for again', async () => {
      const before = await store.lastEventId();
      const t0 = Date.now();
      await store.appendEvents([jobEvent('ev-1', 'job.created'), jobEvent('ev-2'), { ...jobEvent('ev-3', 'job.paused'), state: 'paused' }]);
      const last = await store.lastEventId();
      assert.ok(last >= before + 3, `${before} -> ${last}`);
      const read = await store.readEvents(before, [], 10);
      assert.deepEqual(
        read.map((e) => [e.type, e.job_id, e.state, e.handler, e.execution_id]),
        [
          ['job.created', 'ev-1', 'running', 'echo', null],
          ['job.updated', 'ev-2', 'running', 'echo', null],
          ['job.paused', 'ev-3', 'paused', 'echo', null],
        ],
      );
      assert.ok(read[0].id < read[1].id && read[1].id < read[2].id);
      assert.ok(read.every((e) => e.at instanceof Date && Math.abs(e.at.getTime() - t0) < 60_000));
      // After the last one, only an older id asked for again (a gap looked for) comes back.
      const again = await store.readEvents(read[2].id, [read[0].id], 10);
      assert.deepEqual(
        again.map((e) => e.job_id),
        ['ev-1'],
      );
      assert.deepEqual(await store.readEvents(read[0].id, [], 1).then((r) => r.map((e) => e.job_id)), ['ev-2']);
    });

    it('writes a run event from the run as stored', async () => {
      await store.insertExecution(execution('ev-run', 30, 0, { job_id: 'ev-job', batch_id: 'ev-batch', handler: 'http-request', status: 'running', progress: 40 }));
      const before = await store.lastEventId();
      await store.appendRunEvents('execution.progress', ['ev-run', 'ev-no-such-run']);
      const [e, ...rest] = await store.readEvents(before, [], 10);
      assert.equal(rest.length, 0, 'no event for a run that does not exist');
      assert.deepEqual(
        { type: e.type, job_id: e.job_id, execution_id: e.execution_id, batch_id: e.batch_id, handler: e.handler, status: e.status, progress: e.progress, state: e.state },
        { type: 'execution.progress', job_id: 'ev-job', execution_id: 'ev-run', batch_id: 'ev-batch', handler: 'http-request', status: 'running', progress: 40, state: null },
      );
    });

    it('counts every line a run wrote, beyond the lines it keeps', async () => {
      await store.insertExecution(execution('ev-out', 30, 1));
      assert.equal((await store.followedRun('ev-out'))?.lines, 0);
      await store.appendOutput('ev-out', ['a', 'b', 'c'], 3, 1_000_000);
      await store.appendOutput('ev-out', ['d', 'e'], 3, 1_000_000);
      const run = await store.followedRun('ev-out');
      assert.equal(run?.lines, 5);
      assert.deepEqual(run?.execution.output, ['c', 'd', 'e']);
      assert.equal(run?.execution.id, 'ev-out');
      assert.equal(await store.followedRun('ev-nothing'), null);
    });

    it('tells a watcher of new events where the database can (LISTEN/NOTIFY), or answers null (polling)', async () => {
      let woken = 0;
      const stop = await store.watchEvents(
        () => void woken++,
        (err) => assert.fail(err),
      );
      if (store.kind === 'mongodb') {
        assert.equal(stop, null);
        return;
      }
      assert.ok(stop);
      const was = woken;
      await store.appendEvents([jobEvent('ev-wake')]);
      const deadline = Date.now() + scaled(10_000);
      while (woken === was && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await stop();
      assert.ok(woken > was, 'woken by the write');
    });

    it('deletes events older than a time', async () => {
      const before = await store.lastEventId();
      assert.ok((await store.deleteEventsBefore(new Date(Date.now() - 3600_000))) >= 0);
      assert.ok(
        (await store.readEvents(before - 1, [], 1000)).some((e) => e.id === before),
        'recent events stay',
      );
      const n = await store.deleteEventsBefore(new Date(Date.now() + 60_000));
      assert.ok(n >= 5, `deleted ${n}`);
      assert.deepEqual(await store.readEvents(0, [], 10), []);
      // Ids keep growing after a purge.
      await store.appendEvents([jobEvent('ev-after')]);
      const [e] = await store.readEvents(0, [], 10);
      assert.ok(e.id > before, `${e.id} > ${before}`);
    });

    it('deletes the events older than a time, and keeps the newer ones', async () => {
      await store.appendEvents([jobEvent('cut-old-1'), jobEvent('cut-old-2')]);
      await new Promise((r) => setTimeout(r, 30));
      const cutoff = new Date();
      await new Promise((r) => setTimeout(r, 30));
      await store.appendEvents([jobEvent('cut-new-1'), jobEvent('cut-new-2')]);
      assert.ok((await store.deleteEventsBefore(cutoff)) >= 2);
      const left = await store.readEvents(0, [], 1000);
      assert.deepEqual(
        left.filter((e) => e.job_id?.startsWith('cut-')).map((e) => e.job_id),
        ['cut-new-1', 'cut-new-2'],
      );
      assert.ok(
        left.every((e) => e.at >= cutoff),
        'nothing older is left',
      );
    });
  });
}
