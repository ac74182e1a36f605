/**
 * The lost-worker monitor of a process: it never declares its own worker gone (after a stall
 * its monitor may run before its heartbeat), and it deletes gone workers past their retention.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { blankExecution } from '../src/scheduling/runner.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const hour = 3600_000;

for (const { name, skip } of stores) {
  describe(`the lost-worker monitor on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;

    before(async () => {
      db = await testDatabase(name);
      // Heartbeats far apart, so the test sets this worker's last one itself; the monitor
      // still looks every second.
      svc = await startService(db, { JOBS_HEARTBEAT_MS: '600000', JOBS_WORKER_RETENTION_SECONDS: '5' });
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it("never declares this process's own worker gone, however old its last heartbeat", async () => {
      const me = svc.service.worker!;
      const id = me.id;
      // As after a stall of two hours: the last heartbeat is older than any window.
      const beat = { heartbeat_at: new Date(Date.now() - 2 * hour), running: 0, cpu_load: 0, memory: { process_rss: 1, system_total: 1, system_free: 1 } };
      assert.ok(await svc.service.store.heartbeatWorker(id, beat));
      // Another worker as silent is declared gone by the same checks.
      await svc.service.store.registerWorker({
        id: 'silent-other',
        name: 'other',
        host: os.hostname(),
        pid: 1,
        version: '0',
        started_at: new Date(Date.now() - 3 * hour),
        handlers: [],
        state: 'active',
        ...beat,
      });
      // Gone, or gone and deleted already (its heartbeat is older than the retention too).
      await waitFor(
        'the other silent worker to be declared gone',
        async () => {
          const other = await svc.service.store.getWorker('silent-other');
          return other === null || other.state === 'gone';
        },
        10_000,
        100,
      );
      await sleep(scaled(1500));
      const w = await svc.service.store.getWorker(id);
      assert.equal(w?.state, 'active');
      assert.equal(me.id, id, 'it did not have to register again');
    });

    it('deletes gone workers whose last heartbeat is older than JOBS_WORKER_RETENTION_SECONDS; their runs keep the worker id', async () => {
      const old = new Date(Date.now() - 2 * 60_000);
      const base = { host: os.hostname(), pid: 1, version: '0', handlers: [], running: 0, cpu_load: 0, memory: { process_rss: 1, system_total: 1, system_free: 1 } };
      await svc.service.store.registerWorker({ ...base, id: 'retired-old', name: 'old', started_at: old, heartbeat_at: old, state: 'gone' });
      const run = { ...blankExecution(), handler: 'echo', status: 'lost' as const, worker_id: 'retired-old', started_at: old, finished_at: old };
      await svc.service.store.insertExecution(run);
      await waitFor('the old gone worker to be deleted', async () => (await svc.service.store.getWorker('retired-old')) === null, 20_000, 200);
      assert.equal((await svc.service.store.getExecution(run.id))?.worker_id, 'retired-old');
      assert.equal((await svc.service.store.getWorker(svc.service.worker!.id))?.state, 'active', 'a live worker stays');
    });
  });
}
