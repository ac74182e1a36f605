/**
 * The job and execution tables leave room in their pages (migration 10), so the updates that
 * touch no indexed column (a job's next and last run) stay HOT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`HOT updates of jobs and runs on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('job and execution have a fillfactor of 80', async () => {
      const r = await sql.query<{ relname: string; reloptions: string[] | null }>(
        `SELECT relname, reloptions FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname IN ('job', 'execution') ORDER BY relname`,
      );
      assert.deepEqual(
        r.rows.map((x) => [x.relname, x.reloptions]),
        [
          ['execution', ['fillfactor=80']],
          ['job', ['fillfactor=80']],
        ],
      );
    });

    it('the runs of jobs update their job rows and run rows as HOT updates', { skip: name === 'embedded' ? 'PGlite keeps no table statistics to count them' : false }, async () => {
      const jobs = Array.from({ length: 50 }, (_, i) => ({ job_id: `hot-${i}`, handler: 'echo', kwargs: { n: i } }));
      await svc.http.post(`${api}/jobs/bulk`).send({ jobs }).expect(201);
      await waitFor('50 succeeded runs', async () => {
        const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution WHERE job_id LIKE 'hot-%' AND status = 'succeeded'`);
        return r.rows[0].n === 50;
      });
      // Counters reach the statistics views once the backends that wrote flush them (within a second).
      const counts = await waitFor('HOT updates counted', async () => {
        const r = await sql.query<{ relname: string; upd: string; hot: string }>(
          `SELECT relname, n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname IN ('job', 'execution')`,
        );
        const by = new Map(r.rows.map((x) => [x.relname, { upd: Number(x.upd), hot: Number(x.hot) }]));
        return (by.get('job')?.upd ?? 0) >= 100 && (by.get('execution')?.upd ?? 0) >= 50 ? by : undefined;
      });
      // Every run: a fire and an end rewrite its job; its record is inserted running with its
      // fencing token, and updated once, by its end (status is indexed: never HOT). Jobs fired
      // together fill their pages' room at once, so not every job update finds it; a good share
      // does (about half, when measured).
      const job = counts.get('job')!;
      const run = counts.get('execution')!;
      assert.ok(job.hot >= job.upd / 4, `job: ${job.hot} of ${job.upd} updates HOT`);
      assert.equal(run.upd, 50, `execution: ${run.upd} updates for 50 runs, one end each`);
    });
  });
}
