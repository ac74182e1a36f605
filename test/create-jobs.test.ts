import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

/**
 * A create stores the job, its schedule row and its job.created event together, or none of
 * them: on SQL in one statement (Engine.createJobs), so a schedule row that cannot be written
 * leaves no job behind, and a list created all or nothing stores none of its jobs.
 */
noticeSkippedStores();
for (const { name, skip } of stores) {
  describe(`creating jobs on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    const createdEvents = async (after: number, jobId: string) =>
      (await svc.service.store.readEvents(after, [], 1000)).filter((e) => e.type === 'job.created' && e.job_id === jobId);

    it('stores the job with its schedule row and one job.created event; a taken id adds nothing', async () => {
      const { scheduler, store } = svc.service;
      const since = await store.lastEventId();
      const when = new Date(Date.now() + 1000).toISOString();
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'created-1', when, kwargs: { first: true } }, { source: 'api' });
      await assert.rejects(scheduler.postScheduleJob({ handler: 'echo', job_id: 'created-1', when, kwargs: { first: false } }, { source: 'api' }), /exists already/);
      assert.deepEqual((await store.getJob('created-1'))?.kwargs, { first: true });
      // The schedule row is there: the run starts when the job falls due.
      await waitFor('the run of created-1', async () => (await store.listExecutions({ job_id: 'created-1' }, null, 10)).items.find((e) => e.status === 'succeeded'));
      assert.equal((await createdEvents(since, 'created-1')).length, 1);
    });

    it('stores none of a list created all or nothing when one id is taken', async () => {
      const { scheduler, store, engine } = svc.service;
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'whole-2', when: '2099-01-01T00:00:00Z' }, { source: 'api' });
      const jobs = [0, 1, 2].map((i) => scheduler.buildJob({ handler: 'echo', job_id: `whole-${i}`, when: '2099-01-01T00:00:00Z' }, { source: 'api' }));
      const since = await store.lastEventId();
      assert.deepEqual(await engine.createJobs({ jobs, all: true }, store), []);
      assert.equal(await store.getJob('whole-0'), null);
      assert.equal(await store.getJob('whole-1'), null);
      assert.equal((await createdEvents(since, 'whole-0')).length, 0);
      // Without `all`, the others are stored.
      assert.deepEqual(await engine.createJobs({ jobs }, store), ['whole-0', 'whole-1']);
    });

    it(
      'leaves no job and no event when the schedule row cannot be written',
      { skip: name === 'mongodb' ? 'the refusal is a CHECK constraint of the SQL dispatch table' : false },
      async () => {
        const { scheduler, store, engine } = svc.service;
        const sql = (engine as unknown as { sql: SqlClient }).sql;
        await sql.query(`ALTER TABLE dispatch ADD CONSTRAINT refused_rows CHECK (job_id IS NULL OR job_id NOT LIKE 'refused-%') NOT VALID`, []);
        try {
          const since = await store.lastEventId();
          await assert.rejects(scheduler.postScheduleJob({ handler: 'echo', job_id: 'refused-1', when: '2099-01-01T00:00:00Z' }, { source: 'api' }), /refused_rows/);
          await assert.rejects(
            scheduler.postScheduleJobs(
              ['kept-2', 'refused-3'].map((job_id) => ({ handler: 'echo', job_id, when: '2099-01-01T00:00:00Z' })),
              { source: 'api' },
            ),
            /refused_rows/,
          );
          for (const id of ['refused-1', 'kept-2', 'refused-3']) {
            assert.equal(await store.getJob(id), null, id);
            assert.equal((await createdEvents(since, id)).length, 0, id);
          }
        } finally {
          await sql.query('ALTER TABLE dispatch DROP CONSTRAINT refused_rows', []);
        }
      },
    );
  });
}
