/** The store conformance suite: HistoryStore (versions, pauses, fires) and the versioned job writes. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { JobVersionRecord, Store } from '../../src/store/types.js';
import { at, execution, job } from './fixtures.js';

const era = 900;

function version(jobId: string, v: number, over: Partial<JobVersionRecord> = {}): JobVersionRecord {
  return {
    job_id: jobId,
    version: v,
    changed_at: at(era, v),
    changed_by: v === 1 ? null : 'ops',
    changed: v === 1 ? ['cron', 'kwargs'] : ['cron'],
    definition: { handler: 'echo', kwargs: { n: v, nested: { list: [1, 'two'] } }, cron: `${v} * * * *`, when: null },
    first_fire: at(era, 100 + v),
    ...over,
  };
}

export function historyStoreContract(open: () => Store): void {
  describe('job versions, pauses and fires', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('updateJobAtVersion writes only at the version given', async () => {
      await store.insertJobs([job('hs-job', era)]);
      const changed = await store.updateJobAtVersion('hs-job', 1, { retries: 4, version: 2 });
      assert.equal(changed?.retries, 4);
      assert.equal(changed?.version, 2);
      assert.equal(await store.updateJobAtVersion('hs-job', 1, { retries: 9, version: 2 }), null);
      assert.equal(await store.updateJobAtVersion('hs-none', 1, { retries: 9 }), null);
      assert.equal((await store.getJob('hs-job'))?.retries, 4);
    });

    it('updateJobs writes a next fire computed from another version only when the job is still at it, the rest always', async () => {
      await store.updateJobs([{ job_id: 'hs-job', patch: { next_run_at: at(era, 50), last_status: 'missed' }, version: 1 }]);
      let j = await store.getJob('hs-job');
      assert.notEqual(j?.next_run_at?.getTime(), at(era, 50).getTime());
      assert.equal(j?.last_status, 'missed');
      await store.updateJobs([{ job_id: 'hs-job', patch: { next_run_at: at(era, 51), last_status: 'succeeded' }, version: 2 }]);
      j = await store.getJob('hs-job');
      assert.equal(j?.next_run_at?.getTime(), at(era, 51).getTime());
      assert.equal(j?.last_status, 'succeeded');
    });

    it('keeps versions once each, listed oldest first from a version on', async () => {
      await store.insertJobVersions([version('hs-job', 2), version('hs-job', 1)]);
      await store.insertJobVersions([version('hs-job', 2, { changed_by: 'someone else' }), version('hs-job', 3, { first_fire: null, changed: [] })]);
      assert.deepEqual(await store.listJobVersions('hs-job', 1, 10), [version('hs-job', 1), version('hs-job', 2), version('hs-job', 3, { first_fire: null, changed: [] })]);
      assert.deepEqual(await store.listJobVersions('hs-job', 2, 1), [version('hs-job', 2)]);
      assert.deepEqual(await store.getJobVersion('hs-job', 2), version('hs-job', 2));
      assert.equal(await store.getJobVersion('hs-job', 7), null);
      assert.deepEqual(await store.listJobVersions('hs-other', 1, 10), []);
    });

    it("keeps a job's pauses and the service's, one open at a time, and lists those overlapping a range", async () => {
      await store.startPause('hs-job', at(era, 10));
      await store.startPause('hs-job', at(era, 11));
      await store.endPause('hs-job', at(era, 20));
      await store.endPause('hs-job', at(era, 21));
      await store.startPause(null, at(era, 30));
      await store.startPause('hs-job', at(era, 40));
      await store.startPause('hs-other', at(era, 12));
      const pauses = await store.listPauses('hs-job', at(era, 0), at(era, 100));
      assert.deepEqual(pauses, [
        { job_id: 'hs-job', paused_at: at(era, 10), resumed_at: at(era, 20) },
        { job_id: null, paused_at: at(era, 30), resumed_at: null },
        { job_id: 'hs-job', paused_at: at(era, 40), resumed_at: null },
      ]);
      assert.deepEqual(await store.listPauses('hs-job', at(era, 20), at(era, 30)), []);
      assert.equal((await store.listPauses('hs-job', at(era, 15), at(era, 16))).length, 1);
      await store.endPause(null, at(era, 35));
      assert.deepEqual((await store.listPauses('hs-job', at(era, 31), at(era, 32)))[0], { job_id: null, paused_at: at(era, 30), resumed_at: at(era, 35) });
    });

    it("lists the first attempts of a job's fires by due time, without manual runs or flow children", async () => {
      const fire = (id: string, i: number, over = {}) => execution(id, era, i, { job_id: 'hs-job', trigger: 'schedule', status: 'succeeded', ...over });
      await store.insertExecutions([
        fire('hs-f2', 62),
        fire('hs-f1', 61, { status: 'missed', active_execution_id: 'hs-f0', job_version: 2 }),
        fire('hs-retry', 63, { attempt: 2 }),
        fire('hs-manual', 64, { trigger: 'manual' }),
        fire('hs-child', 65, { trigger: 'flow' }),
        // A trigger this release's own code does not start, whose fires the ledger counts.
        fire('hs-backfill', 66, { trigger: 'backfill' as string as 'schedule' }),
        fire('hs-late', 90),
        fire('hs-elsewhere', 62, { job_id: 'hs-other' }),
      ]);
      const fires = await store.listFires('hs-job', at(era, 61), at(era, 90), 10);
      assert.deepEqual(
        fires.map((e) => e.id),
        ['hs-f1', 'hs-f2', 'hs-backfill'],
      );
      assert.equal(fires[0].active_execution_id, 'hs-f0');
      assert.equal(fires[0].job_version, 2);
      assert.deepEqual(
        (await store.listFires('hs-job', at(era, 0), at(era, 100), 1)).map((e) => e.id),
        ['hs-f1'],
      );
    });

    it('deleting a job deletes its versions and pauses, not its runs', async () => {
      assert.equal(await store.deleteJob('hs-job'), true);
      assert.deepEqual(await store.listJobVersions('hs-job', 1, 10), []);
      assert.deepEqual(
        (await store.listPauses('hs-job', at(era, 0), at(era, 100))).map((p) => p.job_id),
        [null],
      );
      assert.equal((await store.listFires('hs-job', at(era, 0), at(era, 100), 10)).length, 4);
    });
  });
}
