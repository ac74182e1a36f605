/**
 * Prepared statements through a schema change made by another process. PostgreSQL fixes the
 * result columns of a prepared statement; once a newer process's migration adds a column that
 * a `*` of it expands to, running it again fails with "cached plan must not change result
 * type" (0A000). The client prepares such a statement again under a new name, so an older
 * process goes on reading and dispatching through a rolling upgrade. The embedded store
 * prepares its statements too (through PGlite's wire protocol) and recovers the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGliteClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`prepared statements through a column added by another process on ${name}`, { skip, timeout: 120_000 }, () => {
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

    it('reads jobs and dispatches runs after ALTER TABLE job ADD COLUMN', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'before', handler: 'echo' }).expect(201);
      await waitFor('the first run', async () => (await svc.http.get(`${api}/jobs/before/executions`).expect(200)).body.executions?.[0]?.status === 'succeeded');
      // Every connection of the pool prepares the job read.
      await Promise.all(Array.from({ length: 30 }, () => svc.http.get(`${api}/jobs/before`).expect(200)));
      // Another process (a newer version's migration; on PGlite, another statement) adds a column to the job table.
      await (svc.service.store as SqlStore).db.exec('ALTER TABLE job ADD COLUMN added_by_a_newer_version integer');
      const reads = await Promise.all(Array.from({ length: 30 }, () => svc.http.get(`${api}/jobs/before`)));
      assert.deepEqual(
        reads.map((r) => r.status),
        reads.map(() => 200),
      );
      // The claim and the fire, prepared as well, still take and record runs.
      await svc.http.post(`${api}/jobs`).send({ job_id: 'after', handler: 'echo' }).expect(201);
      await waitFor('a run after the change', async () => (await svc.http.get(`${api}/jobs/after/executions`).expect(200)).body.executions?.[0]?.status === 'succeeded');
    });
  });

  describe(`JOBS_PREPARED_STATEMENTS=0 on ${name}`, { skip, timeout: 120_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_PREPARED_STATEMENTS: '0' });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('reads and dispatches with no statement prepared on any connection', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'unprepared', handler: 'echo' }).expect(201);
      await waitFor('its run', async () => (await svc.http.get(`${api}/jobs/unprepared/executions`).expect(200)).body.executions?.[0]?.status === 'succeeded');
      await Promise.all(Array.from({ length: 10 }, () => svc.http.get(`${api}/jobs/unprepared`).expect(200)));
      // Each connection of the pool answers for its own session; none prepared anything.
      const sql = (svc.service.store as SqlStore).db;
      const counts = await Promise.all(
        Array.from(
          { length: 10 },
          async () => (await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'jobs_service_%'")).rows[0].n,
        ),
      );
      assert.deepEqual(
        counts,
        counts.map(() => 0),
      );
    });
  });
}

describe('a prepared statement on a closed embedded store', () => {
  it('fails as a closed PGlite, which the API answers with 503, not as an unknown error', async () => {
    const db = await testDatabase('embedded');
    const sql = await PGliteClient.open(db.env.JOBS_DATA_DIR!, '16MB');
    try {
      const text = 'SELECT $1::int + 1 AS n';
      assert.equal((await sql.query<{ n: number }>(text, [1], { prepare: true })).rows[0].n, 2);
      await sql.close();
      await assert.rejects(sql.query(text, [2], { prepare: true }), /PGlite is closed/);
    } finally {
      await sql.close().catch(() => undefined);
      await db.drop();
    }
  });
});
