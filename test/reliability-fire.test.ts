import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecutionRecord } from '../src/store/types.js';
import { noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { workerCrashingAt } from './support/crashing-worker.js';

noticeSkippedStores();

async function runsOf(store: { listExecutions: (f: { job_id: string }, a: null, l: number) => Promise<{ items: ExecutionRecord[] }> }, jobId: string) {
  return (await store.listExecutions({ job_id: jobId }, null, 500)).items;
}

for (const { name, skip } of stores) {
  describe(`a fire cut short by kill -9 (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('is whole or absent, and the job keeps firing after a restart', async () => {
      // The job is created by an API-only process, then fired by a worker that kills itself
      // right after the fire's run record is stored.
      const api = await startService(db, { JOBS_WORKER: 'false' });
      await api.service.scheduler.postScheduleJob({ handler: 'echo', job_id: 'tick', periodically: '1 second', kwargs: { n: 1 } }, { source: 'api' });
      await api.close();

      const crashed = await workerCrashingAt(db, 'fire-recorded');
      assert.equal(crashed.signal, 'SIGKILL', `the worker killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);
      const crashedAt = new Date();

      const s = await startService(db);
      try {
        const before = await runsOf(s.service.store, 'tick');
        assert.ok(before.length >= 1, 'the fire before the kill left its run record');
        // Later fires run (under forbid, a run stuck queued would make every one of them missed).
        await waitFor(
          'a fire after the restart to run',
          async () => (await runsOf(s.service.store, 'tick')).some((e) => e.status === 'succeeded' && e.scheduled_at > crashedAt),
          20_000,
          100,
        );
        // The fire cut short is whole: its run was dispatched and ended.
        const crashedRuns = before.map((b) => b.id);
        await waitFor('the run of the fire cut short to end', async () => (await s.service.store.getExecutions(crashedRuns)).every((e) => e.status === 'succeeded'), 20_000, 100);
      } finally {
        await s.close();
      }
    });
  });
}

for (const { name, skip } of stores) {
  describe(`queued runs without a run row (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('are given one and run, or cancelled when their job is gone', async () => {
      const ageMs = scaled(1500);
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(ageMs) });
      try {
        const { scheduler, engine, store } = s.service;
        // Paused, so no worker takes the runs before their rows are removed.
        await scheduler.setServiceState('paused');
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'kept', state: 'paused' }, { source: 'api' });
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'dropped', state: 'paused' }, { source: 'api' });
        const [kept] = (await scheduler.runNow('kept', { n: 1 }, 1)).executions;
        const [dropped] = (await scheduler.runNow('dropped', { n: 2 }, 1)).executions;
        // The run rows go straight from the engine's table, as a crash between two writes would leave it.
        await engine.removeRun(kept.id);
        await engine.removeRun(dropped.id);
        await scheduler.deleteJob('dropped');
        // Younger than the age the sweep waits for, so it has not touched them yet.
        assert.deepEqual((await engine.undispatched(new Date(Date.now() + 1000), 10)).sort(), [kept.id, dropped.id].sort(), 'both are without a run row');
        await scheduler.setServiceState('running');
        const ended = await waitFor(
          'both runs to end',
          async () => {
            const runs = await store.getExecutions([kept.id, dropped.id]);
            return runs.every((e) => e.status !== 'queued' && e.status !== 'running') && runs;
          },
          15_000,
          100,
        );
        const byId = new Map(ended.map((e) => [e.id, e]));
        assert.equal(byId.get(kept.id)!.status, 'succeeded', 'the run of a live job was dispatched and ran');
        assert.equal(byId.get(dropped.id)!.status, 'cancelled', 'the run of a deleted job was settled');
        assert.match(byId.get(dropped.id)!.error ?? '', /job was deleted/);
        assert.deepEqual(await engine.undispatched(new Date(), 10), [], 'nothing is left undispatched');
      } finally {
        await s.close();
      }
    });
  });
}
