/**
 * A change of a job that keeps its schedule, read before a fire and written after it, leaves
 * the fire's next fire alone: writing back the next fire it read would fire the same time
 * again (at once where the row was written back, or by the sweep that gives a running job
 * without a schedule row its row).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecutionRecord, JobPatch, JobRecord } from '../src/store/types.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';

noticeSkippedStores();

/** A periodic job changed after its first fire: its next fire moved on, and over a few more fires none repeats a time. */
async function firesEachTimeOnce(changed: JobRecord, first: Date, runs: () => Promise<ExecutionRecord[]>) {
  assert.ok(changed.next_run_at!.getTime() > first.getTime(), `the next fire moved on: ${changed.next_run_at?.toISOString()} after ${first.toISOString()}`);
  await sleep(scaled(4000));
  const times = (await runs()).map((r) => r.scheduled_at!.toISOString()).sort();
  assert.ok(times.length >= 2, `the job went on firing: ${times.join(', ')}`);
  assert.deepEqual(times, [...new Set(times)], 'no time fired twice');
}

for (const { name, skip } of stores) {
  describe(`a change written after a fire it read before (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('a one-shot job runs once, and keeps no next fire', async () => {
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)) });
      try {
        const { scheduler, store } = s.service;
        const runs = async () => (await store.listExecutions({ job_id: 'once' }, null, 100)).items;
        const when = new Date(Date.now() + scaled(1500));
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'once', when: when.toISOString(), kwargs: { n: 1 } }, { source: 'api' });

        // The change reads the job now, before its fire, and writes once the run has ended.
        const write = store.updateJobAtVersion.bind(store);
        let held = 0;
        store.updateJobAtVersion = async (jobId: string, version: number, patch: JobPatch) => {
          if (jobId === 'once') {
            held += 1;
            await waitFor('the fire of the job', async () => (await runs()).some((r) => r.status === 'succeeded'), scaled(20_000), 50);
          }
          return write(jobId, version, patch);
        };
        const changed = await scheduler.patchJob('once', { kwargs: { n: 2 } }, { role: null, by: null });
        assert.equal(held, 1, 'the change was written after the fire');
        assert.deepEqual(changed.kwargs, { n: 2 });
        assert.equal(changed.next_run_at, null, 'the change answers the next fire the store holds: none');

        // Longer than the sweep's age and pace: a next fire written back would have fired again.
        await sleep(scaled(4000));
        const all = await runs();
        assert.equal(all.length, 1, `one run, not ${all.length}: ${JSON.stringify(all.map((r) => [r.status, r.scheduled_at]))}`);
        assert.equal((await store.getJob('once'))!.next_run_at, null);
      } finally {
        await s.close();
      }
    });

    it('a periodic job fires each of its times once', async () => {
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)) });
      try {
        const { scheduler, store } = s.service;
        const runs = async () => (await store.listExecutions({ job_id: 'often' }, null, 100)).items;
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'often', periodically: '2 seconds', kwargs: { n: 1 } }, { source: 'api' });
        const first = (await store.getJob('often'))!.next_run_at!;

        const write = store.updateJobAtVersion.bind(store);
        store.updateJobAtVersion = async (jobId: string, version: number, patch: JobPatch) => {
          if (jobId === 'often') await waitFor('the first fire', async () => (await runs()).some((r) => r.status === 'succeeded'), scaled(20_000), 50);
          return write(jobId, version, patch);
        };
        const changed = await scheduler.patchJob('often', { kwargs: { n: 2 } }, { role: null, by: null });
        await firesEachTimeOnce(changed, first, runs);
      } finally {
        await s.close();
      }
    });

    for (const one of [false, true]) {
      it(`a default job redefined while it fires (${one ? 'one by one' : 'at boot, in a batch'}) fires each of its times once`, async () => {
        const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)) });
        try {
          const { scheduler, store } = s.service;
          const id = one ? 'filed-one' : 'filed-many';
          const runs = async () => (await store.listExecutions({ job_id: id }, null, 100)).items;
          const request = (n: number) => ({ handler: 'echo', job_id: id, periodically: '2 seconds', kwargs: { n } });
          const ctx = { source: 'file' as const, sourceFile: `${id}.yaml`, allowPastWhen: true };
          await scheduler.upsertJobs([{ req: request(1), ctx }]);
          const first = (await store.getJob(id))!.next_run_at!;

          // The redefinition reads the job now and writes it once the first fire has run.
          const fired = () => waitFor('the first fire', async () => (await runs()).some((r) => r.status === 'succeeded'), scaled(20_000), 50);
          if (one) {
            const write = store.upsertJob.bind(store);
            store.upsertJob = async (job) => (await fired(), write(job));
            await scheduler.upsertJob(request(2), ctx);
          } else {
            const write = store.upsertJobs.bind(store);
            store.upsertJobs = async (jobs) => (await fired(), write(jobs));
            await scheduler.upsertJobs([{ req: request(2), ctx }]);
          }
          const now = (await store.getJob(id))!;
          assert.deepEqual(now.kwargs, { n: 2 });
          await firesEachTimeOnce(now, first, runs);
        } finally {
          await s.close();
        }
      });
    }

    it('a fire written after a change that kept the schedule still moves the next fire on', async () => {
      // No worker: the fire's write is the test's own.
      const s = await startService(db, { JOBS_WORKER: 'false' });
      try {
        const { scheduler, store } = s.service;
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'fired-late', periodically: '1 hour', kwargs: { n: 1 } }, { source: 'api' });
        const job = (await store.getJob('fired-late'))!;
        // The fire's update as a worker that read version 1 writes it, after a change to version 2.
        await scheduler.patchJob('fired-late', { kwargs: { n: 2 } }, { role: null, by: null });
        const next = new Date(job.next_run_at!.getTime() + 3_600_000);
        await store.updateJobs([{ job_id: 'fired-late', patch: { next_run_at: next }, version: job.version, fired: job.next_run_at }]);
        assert.equal((await store.getJob('fired-late'))!.next_run_at!.getTime(), next.getTime(), 'the job still held the fire: the next one is written');
        // A change of the schedule since: the job's own next fire stays.
        const moved = await scheduler.patchJob('fired-late', { periodically: '2 hours' }, { role: null, by: null });
        await store.updateJobs([{ job_id: 'fired-late', patch: { next_run_at: new Date(next.getTime() + 3_600_000) }, version: job.version, fired: job.next_run_at }]);
        assert.equal((await store.getJob('fired-late'))!.next_run_at!.getTime(), moved.next_run_at!.getTime(), 'a rescheduled job keeps its own next fire');
      } finally {
        await s.close();
      }
    });
  });
}
