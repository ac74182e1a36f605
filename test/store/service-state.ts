/** The store conformance suite: the lifecycle (migrate, bootLock, ping) and ServiceStateStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { executionStatuses, type ExecutionStatus, type JobRecord, type Store } from '../../src/store/types.js';
import { job, execution, worker, allPages, countsOf } from './fixtures.js';
import { sleep } from '../helpers.js';

/** Runs first, on an empty store: the lifecycle and the service state. */
export function serviceStateStoreContract(open: () => Store): void {
  describe('boot and service state', () => {
    let store: Store;
    /** One job through insertJobs: true when it was inserted. */
    const insertJob = async (j: JobRecord) => (await store.insertJobs([j])).length === 1;
    before(() => {
      store = open();
    });

    it('starts empty: no records, service state running', async () => {
      assert.deepEqual(await store.stats(), { workers: {}, jobs: 0, executions: {} });
      assert.equal(await store.getServiceState(), 'running');
      assert.deepEqual(await store.listJobs(null, 10), { items: [], next: null });
      assert.deepEqual(await store.listExecutions({}, null, 10), { items: [], next: null });
      assert.deepEqual(await store.listFailures(null, 10), { items: [], next: null });
      assert.deepEqual(await store.listWorkers(null, 10), { items: [], next: null });
      assert.deepEqual(await store.listAudit({}, null, 10), { items: [], next: null });
      assert.equal(await store.queuedCount(), 0);
      assert.deepEqual(await store.workerCounts(), {});
    });

    it('migrate again is harmless: records stay', async () => {
      const j = job('bt-keep', 1);
      assert.equal(await insertJob(j), true);
      await store.migrate();
      await store.bootLock(() => store.migrate());
      assert.deepEqual(await store.getJob('bt-keep'), j);
      assert.equal(await store.deleteJob('bt-keep'), true);
    });

    it('a pause keeps its time and author until the service runs again; a second pause changes neither', async () => {
      assert.equal(await store.getServicePause(), null);
      const before = Date.now();
      await store.setServiceState('paused', 'ops');
      const first = await store.getServicePause();
      assert.equal(first?.paused_by, 'ops');
      assert.ok(first?.paused_at instanceof Date && first.paused_at.getTime() >= before - 1000, String(first?.paused_at));
      await sleep(20);
      await store.setServiceState('paused', 'other');
      assert.deepEqual(await store.getServicePause(), first);
      await store.setServiceState('running', 'ops');
      assert.equal(await store.getServicePause(), null);
      assert.equal(await store.getServiceState(), 'running');
      // A name is stored as given, even one that looks like an operator of a query language.
      await store.setServiceState('paused', '$state');
      assert.equal((await store.getServicePause())?.paused_by, '$state');
      await store.setServiceState('running');
    });

    it('ping answers', async () => {
      await store.ping(5000);
    });

    it('bootLock runs its function and returns its value; an error is passed on and the lock released', async () => {
      assert.equal(await store.bootLock(async () => 'value'), 'value');
      assert.deepEqual(await store.bootLock(async () => ({ n: 1 })), { n: 1 });
      await assert.rejects(
        store.bootLock(async () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.bootLock(async () => 7), 7);
    });

    it('two concurrent bootLock calls do not overlap', async () => {
      const events: string[] = [];
      const body = (n: number) => async () => {
        events.push(`enter ${n}`);
        await sleep(60);
        await store.ping(5000);
        events.push(`exit ${n}`);
        return n;
      };
      const results = await Promise.all([store.bootLock(body(1)), store.bootLock(body(2)), store.bootLock(body(3))]);
      assert.deepEqual(results, [1, 2, 3]);
      assert.equal(events.length, 6);
      for (let i = 0; i < events.length; i += 2) {
        const n = events[i].split(' ')[1];
        assert.deepEqual([events[i], events[i + 1]], [`enter ${n}`, `exit ${n}`], `turns overlapped: ${events.join(', ')}`);
      }
    });

    it('setServiceState and getServiceState round-trip', async () => {
      await store.setServiceState('paused');
      assert.equal(await store.getServiceState(), 'paused');
      await store.setServiceState('paused');
      assert.equal(await store.getServiceState(), 'paused');
      await store.setServiceState('running');
      assert.equal(await store.getServiceState(), 'running');
    });
  });
}

/** stats() and the counts beside it, by their difference before and after. */
export function serviceStatsContract(open: () => Store): void {
  describe('stats', () => {
    let store: Store;
    /** One job through insertJobs: true when it was inserted. */
    const insertJob = async (j: JobRecord) => (await store.insertJobs([j])).length === 1;
    before(() => {
      store = open();
    });

    it('counts workers by state, jobs, and executions by status', async () => {
      const before = await store.stats();
      await store.registerWorker(worker('st-w1', 11, 0));
      await store.registerWorker(worker('st-w2', 11, 1));
      await store.registerWorker(worker('st-w3', 11, 2, { state: 'blocked' }));
      await store.registerWorker(worker('st-w4', 11, 3, { state: 'gone' }));
      for (const id of ['st-a', 'st-b', 'st-c']) await insertJob(job(id, 11));
      const statuses: ExecutionStatus[] = [...executionStatuses, 'succeeded', 'succeeded', 'failed'];
      await store.insertExecutions(statuses.map((status, i) => execution(`st-${i}`, 11, i, { status })));
      const after = await store.stats();
      const delta = (a: Partial<Record<string, number>>, b: Partial<Record<string, number>>) =>
        Object.fromEntries(
          Object.keys(a)
            .map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)])
            .filter(([, n]) => n !== 0),
        );
      assert.deepEqual(delta(after.workers, before.workers), { active: 2, blocked: 1, gone: 1 });
      assert.equal(after.jobs - before.jobs, 3);
      assert.deepEqual(delta(after.executions, before.executions), countsOf(statuses));
      for (const n of [...Object.values(after.workers), ...Object.values(after.executions)]) assert.ok(Number.isInteger(n) && n! > 0);
      assert.equal(after.jobs, (await allPages((a) => store.listJobs(a, 100), 100)).length);
    });
  });
}
