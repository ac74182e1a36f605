import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import { capturedLogger, noticeSkippedStores, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

/**
 * A worker declared gone in the middle of a fire, whose schedule row was released and claimed
 * by another worker meanwhile, records nothing of that fire: the other worker fires it, so the
 * due time is not recorded twice. The other worker's claim is made by hand on the row, at the
 * point where this worker has claimed the row and read the job. The same holds for a claim the
 * row no longer has while the same worker holds it again.
 */
noticeSkippedStores();
for (const { name, skip } of stores) {
  const sqlOnly = name === 'mongodb' ? 'the other worker is a claim written by hand in SQL' : skip;
  describe(`a fire whose row was taken by another worker on ${name}`, { skip: sqlOnly }, () => {
    let db: TestDatabase;
    let svc: Running;
    const captured = capturedLogger('info');

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, {}, { log: captured.log });
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    /**
     * Fires job `jobId` once, with `take` (SQL on its dispatch row) run between the claim and
     * the fire's write (the claim reads the job itself); resolves with the runs recorded.
     */
    async function fireTakenBetween(jobId: string, take: string) {
      const { scheduler, store, engine } = svc.service;
      const sql = (engine as unknown as { sql: SqlClient }).sql;
      const recordRuns = engine.recordRuns.bind(engine);
      let taken = false;
      engine.recordRuns = async (write, runStore) => {
        if (!taken && write.jobs.some((j) => j.job_id === jobId)) {
          taken = true;
          await sql.query(`${take} WHERE job_id = $1`, [jobId]);
        }
        return recordRuns(write, runStore);
      };
      const refused = () => captured.lines.filter((l) => l.includes('fires not recorded')).length;
      const refusedBefore = refused();
      try {
        await scheduler.postScheduleJob({ handler: 'echo', job_id: jobId, periodically: '1 hour', kwargs: {} }, { source: 'api' });
        const now = new Date();
        await store.updateJob(jobId, { next_run_at: now });
        await engine.scheduleJob(jobId, 'echo', now, false);
        await waitFor('the claim of the row', async () => taken);
        await waitFor('the refused fire', async () => refused() > refusedBefore);
        await sleep(500);
        return (await store.listExecutions({ job_id: jobId }, null, 10)).items;
      } finally {
        engine.recordRuns = recordRuns;
      }
    }

    it('is not recorded by the worker that lost the row', async () => {
      const runs = await fireTakenBetween('tick', `UPDATE dispatch SET locked_by = 'another-worker', locked_at = now()`);
      assert.deepEqual(runs, [], 'no run recorded by the worker whose row was taken');
    });

    it('is not recorded from a claim the row no longer has, though the same worker holds the row', async () => {
      // As when a server crash took back a claim (claims commit without waiting for their
      // flush) and this worker claimed the row again: the holder is the same, the claim not.
      const runs = await fireTakenBetween('tock', `UPDATE dispatch SET claimed_at = claimed_at + interval '1 second', locked_at = now()`);
      assert.deepEqual(runs, [], 'no run recorded from the claim taken back');
    });
  });
}
