/** The store conformance suite: WorkerStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Store, WorkerRecord } from '../../src/store/types.js';
import { at, execution, pad, range, shuffled, worker, allPages, assertNoRepeats } from './fixtures.js';

/** WorkerStore: every method, sessions included. */
export function workerStoreContract(open: () => Store): void {
  describe('workers', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('registerWorker and getWorker round-trip every field; null for an unknown id', async () => {
      const w = worker('wr-one', 9, 0);
      await store.registerWorker(w);
      assert.deepEqual(await store.getWorker('wr-one'), w);
      const other = worker('wr-two', 9, 1, { handlers: [], running: 0, cpu_load: 0, state: 'blocked', memory: { process_rss: 0, system_total: 1, system_free: 0 } });
      await store.registerWorker(other);
      assert.deepEqual(await store.getWorker('wr-two'), other);
      assert.equal(await store.getWorker('wr-none'), null);
    });

    it('heartbeatWorker updates and returns the record; null for a gone worker, which stays gone', async () => {
      const w = worker('hb-one', 9, 10);
      await store.registerWorker(w);
      const beat = { heartbeat_at: at(9, 30), running: 7, cpu_load: 1.25, memory: { process_rss: 1, system_total: 2, system_free: 3 } };
      const updated = await store.heartbeatWorker('hb-one', beat);
      assert.deepEqual(updated, { ...w, ...beat });
      assert.deepEqual(await store.getWorker('hb-one'), { ...w, ...beat });

      await store.registerWorker(worker('hb-blocked', 9, 11, { state: 'blocked' }));
      assert.equal((await store.heartbeatWorker('hb-blocked', beat))?.state, 'blocked', 'a blocked worker beats and stays blocked');

      const gone = worker('hb-gone', 9, 12, { state: 'gone' });
      await store.registerWorker(gone);
      assert.equal(await store.heartbeatWorker('hb-gone', beat), null);
      assert.deepEqual(await store.getWorker('hb-gone'), gone, 'a heartbeat never revives a gone worker');
      assert.equal(await store.heartbeatWorker('hb-none', beat), null);
      assert.equal(await store.getWorker('hb-none'), null);
    });

    it('listWorkers newest first by started_at, paged completely', async () => {
      // Era 10 is later than every other worker's start: these come first.
      const idOrder = shuffled(range(12), 9);
      const workers = range(12).map((i) => worker(`lw-${pad(idOrder[i])}`, 10, Math.floor(i / 2)));
      for (const w of shuffled(workers, 10)) await store.registerWorker(w);
      const byStart = (a: WorkerRecord, b: WorkerRecord) => b.started_at.getTime() - a.started_at.getTime();
      for (const limit of [1, 5, 12, 100]) {
        const got = await allPages((a) => store.listWorkers(a, limit), limit);
        assertNoRepeats(
          got.map((w) => w.id),
          `listWorkers by ${limit}`,
        );
        for (let i = 1; i < got.length; i++) assert.ok(byStart(got[i - 1], got[i]) <= 0, `${got[i - 1].id} before ${got[i].id}`);
        const mine = got.slice(0, 12);
        assert.deepEqual(mine.map((w) => w.id).sort(), workers.map((w) => w.id).sort(), `by ${limit}`);
        for (const w of mine)
          assert.deepEqual(
            w,
            workers.find((x) => x.id === w.id),
          );
        assert.equal(
          got.length,
          Object.values((await store.stats()).workers).reduce((a, b) => a + (b ?? 0), 0),
        );
      }
    });

    it('setWorkerState changes the state of a worker that is not gone', async () => {
      const w = worker('ws-one', 9, 20);
      await store.registerWorker(w);
      assert.deepEqual(await store.setWorkerState('ws-one', 'blocked'), { ...w, state: 'blocked' });
      assert.deepEqual(await store.getWorker('ws-one'), { ...w, state: 'blocked' });
      assert.deepEqual(await store.setWorkerState('ws-one', 'active'), w);
      assert.deepEqual(await store.setWorkerState('ws-one', 'gone'), { ...w, state: 'gone' });
      assert.equal(await store.setWorkerState('ws-one', 'active'), null);
      assert.equal((await store.getWorker('ws-one'))?.state, 'gone');
      assert.equal(await store.setWorkerState('ws-none', 'active'), null);
    });

    it('markWorkersGone marks only the workers silent since before the deadline and returns their ids', async () => {
      // Era 0: no other test has workers this silent.
      await store.registerWorker(worker('mg-silent1', 0, 0, { heartbeat_at: at(0, 1) }));
      await store.registerWorker(worker('mg-silent2', 0, 1, { heartbeat_at: at(0, 2), state: 'blocked' }));
      await store.registerWorker(worker('mg-already', 0, 2, { heartbeat_at: at(0, 3), state: 'gone' }));
      await store.registerWorker(worker('mg-boundary', 0, 3, { heartbeat_at: at(0, 5) }));
      await store.registerWorker(worker('mg-alive', 0, 4, { heartbeat_at: at(0, 6) }));
      assert.deepEqual((await store.markWorkersGone(at(0, 5), at(0, 6))).sort(), ['mg-silent1', 'mg-silent2']);
      assert.equal((await store.getWorker('mg-silent1'))?.state, 'gone');
      assert.equal((await store.getWorker('mg-silent2'))?.state, 'gone');
      assert.equal((await store.getWorker('mg-boundary'))?.state, 'active');
      assert.equal((await store.getWorker('mg-alive'))?.state, 'active');
      assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 6)), []);
      assert.equal((await store.getWorker('wr-one'))?.state, 'active', 'workers heard from later stay');
    });

    it('holdWorkerSession: a worker whose session ended is gone once its heartbeat is late; not while it lives', async () => {
      await store.registerWorker(worker('ms-one', 0, 10, { heartbeat_at: at(0, 10) }));
      const warnings: Error[] = [];
      const session = await store.holdWorkerSession('ms-one', (err) => warnings.push(err));
      if (store.kind !== 'postgres') {
        // One process owns an embedded database; MongoDB shows no other client's connection.
        assert.equal(session, null);
        assert.deepEqual(await store.markWorkersGone(at(0, 5), new Date()), []);
        assert.equal((await store.getWorker('ms-one'))?.state, 'active', 'heartbeats alone tell');
        return;
      }
      assert.ok(session, 'the session lock is held');
      assert.equal(await store.holdWorkerSession('ms-one', () => undefined), false, 'a second hold of the same worker is refused');
      // Its heartbeat is old, but its session lives: it stays.
      assert.deepEqual(await store.markWorkersGone(at(0, 5), new Date()), []);
      await session.release();
      // The session ended, but its heartbeat is not yet late: it stays.
      assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 9)), []);
      assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 11)), ['ms-one']);
      assert.equal((await store.getWorker('ms-one'))?.state, 'gone');
      assert.deepEqual(warnings, []);
    });

    it('registerWorker answers a token larger than every one drawn before', async () => {
      const tokens: number[] = [];
      for (const i of range(4)) tokens.push(await store.registerWorker(worker(`tk-${i}`, 13, i)));
      for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i] > tokens[i - 1], `${tokens}`);
      assert.ok(tokens.every((t) => Number.isSafeInteger(t) && t > 0));
    });

    it('markWorkersGone never marks the worker it is told to spare (a process never declares itself gone)', async () => {
      // Era -3: no other test has live workers this silent.
      await store.registerWorker(worker('me-self', -3, 0, { heartbeat_at: at(-3, 0) }));
      await store.registerWorker(worker('me-other', -3, 1, { heartbeat_at: at(-3, 1) }));
      assert.deepEqual(await store.markWorkersGone(at(-3, 40), at(-3, 40), 'me-self'), ['me-other']);
      assert.equal((await store.getWorker('me-self'))?.state, 'active');
      assert.deepEqual(await store.markWorkersGone(at(-3, 40), at(-3, 40)), ['me-self']);
    });

    it('deleteGoneWorkers removes gone workers older than the retention without a running run; runs keep their worker id', async () => {
      // Era -5: no other test has workers this old.
      await store.registerWorker(worker('dg-old', -5, 0, { state: 'gone' }));
      await store.registerWorker(worker('dg-busy', -5, 1, { state: 'gone' }));
      await store.registerWorker(worker('dg-recent', -5, 10, { state: 'gone' }));
      await store.registerWorker(worker('dg-alive', -5, 2));
      await store.insertExecutions([
        execution('dg-run-done', -5, 0, { status: 'lost', worker_id: 'dg-old', finished_at: at(-5, 3) }),
        execution('dg-run-busy', -5, 1, { status: 'running', worker_id: 'dg-busy', started_at: at(-5, 1) }),
      ]);
      assert.equal(await store.deleteGoneWorkers(at(-5, 5)), 1);
      assert.equal(await store.getWorker('dg-old'), null);
      assert.equal((await store.getWorker('dg-busy'))?.state, 'gone', 'a gone worker with a running run waits for its settlement');
      assert.equal((await store.getWorker('dg-recent'))?.state, 'gone', 'within the retention');
      assert.equal((await store.getWorker('dg-alive'))?.state, 'active', 'a live worker stays, however old its heartbeat');
      assert.equal((await store.getExecution('dg-run-done'))?.worker_id, 'dg-old');
      assert.equal(await store.deleteGoneWorkers(at(-5, 5)), 0);
      assert.equal(await store.transitionExecution('dg-run-busy', 'running', { status: 'lost', finished_at: at(-5, 4) }), true);
      assert.equal(await store.deleteGoneWorkers(at(-5, 30)), 2);
      assert.equal(await store.getWorker('dg-busy'), null);
      assert.equal((await store.getExecution('dg-run-busy'))?.worker_id, 'dg-busy');
    });

    it('fenceRuns, writeRunProgress and appendRunOutput write only runs still running on a live registration', async () => {
      const token = await store.registerWorker(worker('fw-one', 14, 0));
      const other = await store.registerWorker(worker('fw-two', 14, 1));
      await store.insertExecutions([
        execution('fw-a', 14, 0, { status: 'running', worker_id: 'fw-one', started_at: at(14, 0) }),
        execution('fw-b', 14, 1, { status: 'running', worker_id: 'fw-one', started_at: at(14, 1) }),
        execution('fw-c', 14, 2, { status: 'running', worker_id: 'fw-two', started_at: at(14, 2) }),
        execution('fw-d', 14, 3, { status: 'lost', worker_id: 'fw-one', finished_at: at(14, 3) }),
      ]);
      const fenced = await store.fenceRuns('fw-one', token, ['fw-a', 'fw-b', 'fw-c', 'fw-d', 'fw-none']);
      assert.deepEqual([...fenced.keys()].sort(), ['fw-a', 'fw-b']);
      for (const [id, t] of fenced) {
        assert.ok(t > other, `the token of ${id} (${t}) is larger than every registration before it (${other})`);
        assert.equal((await store.getExecution(id))?.fencing_token, t);
      }
      assert.equal((await store.getExecution('fw-c'))?.fencing_token, null);
      assert.deepEqual(await store.fenceRuns('fw-one', other, ['fw-a']), new Map(), 'another registration token is refused');

      assert.equal(await store.writeRunProgress('fw-one', token, 'fw-a', 40), true);
      assert.equal(await store.appendRunOutput('fw-one', token, 'fw-a', ['one', 'two', 'three'], 2, 1 << 20), true);
      let a = await store.getExecution('fw-a');
      assert.equal(a?.progress, 40);
      assert.deepEqual(a?.output, ['two', 'three']);
      assert.equal(a?.output_truncated, true);
      assert.equal(await store.writeRunProgress('fw-one', token, 'fw-c', 50), false, "another worker's run");
      assert.equal(await store.appendRunOutput('fw-one', token, 'fw-d', ['late'], 10, 1 << 20), false, 'a settled run');
      assert.equal(await store.writeRunProgress('fw-two', token, 'fw-c', 50), false, "another registration's token");
      assert.deepEqual((await store.getExecution('fw-d'))?.output, []);

      // Declared gone: nothing it writes lands any more, even before its runs are settled.
      assert.ok(await store.setWorkerState('fw-one', 'gone'));
      assert.equal(await store.writeRunProgress('fw-one', token, 'fw-a', 90), false);
      assert.equal(await store.appendRunOutput('fw-one', token, 'fw-a', ['late'], 10, 1 << 20), false);
      assert.deepEqual(await store.fenceRuns('fw-one', token, ['fw-b']), new Map());
      a = await store.getExecution('fw-a');
      assert.equal(a?.progress, 40);
      assert.deepEqual(a?.output, ['two', 'three']);
    });
  });
}
