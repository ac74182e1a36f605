import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { workerCrashingAt } from './support/crashing-worker.js';

noticeSkippedStores();

/** Far longer than the test waits: rows come back only by being released. */
const lockLifetimeMs = 120_000;

/** A worker process that kills itself (kill -9) as soon as it has claimed rows, before it starts any. */
const workerKilledAfterClaim = (db: TestDatabase, heartbeatMs = scaled(300)) =>
  workerCrashingAt(db, 'claimed', { JOBS_HEARTBEAT_MS: String(heartbeatMs), JOBS_LOCK_LIFETIME_MS: String(lockLifetimeMs) });

for (const { name, skip } of stores) {
  describe(`a worker killed while it holds claimed rows (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('has its rows released once it is known gone: its queued runs start and its job fires again, long before the lock lifetime', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      const { scheduler } = setup.service;
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'tick', periodically: '1 second' }, { source: 'api' });
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'batch', state: 'paused' }, { source: 'api' });
      const queued = (await scheduler.runNow('batch', {}, 5)).executions.map((e) => e.id);
      await setup.close();
      // The schedule row falls due, so the worker's first claim holds it and the five run rows.
      await sleep(1500);

      const killed = await workerKilledAfterClaim(db);
      assert.equal(killed.signal, 'SIGKILL', `the worker killed itself after its claim: ${killed.log.slice(-2000)}`);

      const s = await startService(db, { JOBS_LOCK_LIFETIME_MS: String(lockLifetimeMs) });
      try {
        const { store } = s.service;
        const victim = (await store.listWorkers(null, 50)).items.find((w) => w.pid === killed.pid);
        assert.ok(victim, 'the killed worker registered');
        const restartedAt = Date.now();
        const before = await store.getExecutions(queued);
        assert.ok(
          before.every((e) => e.status === 'queued'),
          'the killed worker started none of its claimed runs',
        );
        assert.equal((await store.listExecutions({ job_id: 'tick' }, null, 10)).items.length, 0, 'nor fired its job');
        const goneAt = await waitFor('the killed worker to be marked gone', async () => (await store.getWorker(victim.id))?.state === 'gone' && Date.now(), 20_000, 20);
        const ran = await waitFor(
          'the claimed runs to run elsewhere',
          async () => {
            const runs = await store.getExecutions(queued);
            return runs.every((e) => e.status === 'succeeded') && runs;
          },
          20_000,
          50,
        );
        const fired = await waitFor(
          'the periodic job to fire again',
          async () => (await store.listExecutions({ job_id: 'tick' }, null, 10)).items.find((e) => e.status === 'succeeded'),
          20_000,
          50,
        );
        const started = Math.min(...ran.map((e) => e.started_at!.getTime()));
        const recovered = Math.max(...ran.map((e) => e.started_at!.getTime()), fired.started_at!.getTime());
        console.log(
          `# ${name}: kill -9 after a claim of 5 runs and a schedule row; a new process up ${restartedAt - killed.killedAt} ms after the kill; from then: ` +
            `worker marked gone at ${goneAt - restartedAt} ms, first claimed run started at ${started - restartedAt} ms, all 5 and the job's fire by ${recovered - restartedAt} ms ` +
            `(heartbeat ${s.config.heartbeatIntervalMs} ms, lock lifetime ${lockLifetimeMs} ms)`,
        );
        assert.ok(recovered - killed.killedAt < lockLifetimeMs / 4, 'well before the lock lifetime');
      } finally {
        await s.close();
      }
    });
  });
}

// Several processes share the database on PostgreSQL and MongoDB: a live worker takes over.
for (const { name, skip } of stores.filter((s) => s.name !== 'embedded')) {
  describe(`a worker killed while it holds claimed rows, beside a live worker (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('its claimed runs start on the live worker and its job fires there within a few heartbeats', async () => {
      const heartbeatMs = scaled(1000);
      const s = await startService(db, { JOBS_LOCK_LIFETIME_MS: String(lockLifetimeMs), JOBS_HEARTBEAT_MS: String(heartbeatMs) });
      try {
        const { scheduler, store, worker } = s.service;
        // Blocked, so the rows fall to the worker that is killed.
        await scheduler.setWorkerState(worker!.id, 'blocked');
        await worker!.tick();
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'tick', periodically: '1 second' }, { source: 'api' });
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'batch', state: 'paused' }, { source: 'api' });
        const queued = (await scheduler.runNow('batch', {}, 5)).executions.map((e) => e.id);
        await sleep(1500);

        const killed = await workerKilledAfterClaim(db, heartbeatMs);
        assert.equal(killed.signal, 'SIGKILL', `the worker killed itself after its claim: ${killed.log.slice(-2000)}`);
        await scheduler.setWorkerState(worker!.id, 'active');
        await worker!.tick();
        const victim = (await store.listWorkers(null, 50)).items.find((w) => w.pid === killed.pid);
        assert.ok(victim, 'the killed worker registered');
        assert.ok(
          (await store.getExecutions(queued)).every((e) => e.status === 'queued'),
          'the killed worker started none of its claimed runs',
        );
        const goneAt = await waitFor('the killed worker to be marked gone', async () => (await store.getWorker(victim.id))?.state === 'gone' && Date.now(), 20_000, 20);
        const ran = await waitFor(
          'the claimed runs to run on the live worker',
          async () => {
            const runs = await store.getExecutions(queued);
            return runs.every((e) => e.status === 'succeeded') && runs;
          },
          20_000,
          50,
        );
        const fired = await waitFor(
          'the periodic job to fire',
          async () => (await store.listExecutions({ job_id: 'tick' }, null, 10)).items.find((e) => e.status === 'succeeded'),
          20_000,
          50,
        );
        const started = Math.min(...ran.map((e) => e.started_at!.getTime()));
        const recovered = Math.max(...ran.map((e) => e.started_at!.getTime()), fired.started_at!.getTime());
        console.log(
          `# ${name}, live worker: kill -9 after a claim of 5 runs and a schedule row; worker marked gone ${goneAt - killed.killedAt} ms after the kill, ` +
            `first claimed run started ${started - killed.killedAt} ms after, all 5 and the job's fire by ${recovered - killed.killedAt} ms ` +
            `(heartbeat ${heartbeatMs} ms, lock lifetime ${lockLifetimeMs} ms)`,
        );
        assert.ok(recovered - killed.killedAt < lockLifetimeMs / 4, 'well before the lock lifetime');
      } finally {
        await s.close();
      }
    });
  });
}
