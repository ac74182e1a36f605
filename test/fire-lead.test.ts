/**
 * JOBS_FIRE_LEAD_MS: a schedule row claimed before it is due (JOBS_CLAIM_EARLY_MS) has its
 * fire written up to that long ahead of its time: the run is recorded `running`, started at
 * its time, before that time comes, and its handler starts at that time, never sooner. A
 * periodic job's runs (queued on run rows of their own) start at their times as well, each
 * time once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { capturedLogger, noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`fires written ahead of their time on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    const earlyMs = scaled(4000);
    const leadMs = scaled(3000);
    const captured = capturedLogger('info');
    before(async () => {
      db = await testDatabase(name);
      // As in claim-early.test.ts: a long poll interval and lock lifetime, so only the early
      // claim takes the rows before their time.
      svc = await startService(
        db,
        {
          JOBS_CLAIM_EARLY_MS: String(earlyMs),
          JOBS_FIRE_LEAD_MS: String(leadMs),
          JOBS_POLL_INTERVAL_MS: String(scaled(20_000)),
          JOBS_LOCK_LIFETIME_MS: String(scaled(60_000)),
        },
        { log: captured.log },
      );
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    const runsOf = async (jobId: string) =>
      (
        await sql.query<{ id: string; status: string; started_at: Date | null; scheduled_at: Date }>(
          'SELECT id, status, started_at, scheduled_at FROM execution WHERE job_id = $1 ORDER BY scheduled_at',
          [jobId],
        )
      ).rows;
    /** When the worker logged each run's handler start, by run id. */
    const handlerStarts = () =>
      new Map(captured.records().flatMap((r) => (r.msg === 'run started' ? [[r.execution_id as string, new Date(r.time as string | number)] as const] : [])));

    it('records a run before its time and starts its handler at that time', async () => {
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      await svc.http.post(`${api}/jobs`).send({ job_id: 'ahead', handler: 'echo', when: due.toISOString() }).expect(201);
      const [recorded] = await waitFor(
        'the fire written',
        async () => {
          const runs = await runsOf('ahead');
          return runs.length > 0 && runs;
        },
        earlyMs + scaled(10_000),
        20,
      );
      const seenAt = Date.now();
      assert.ok(seenAt < due.getTime(), `the run was recorded by ${new Date(seenAt).toISOString()}, before its time ${due.toISOString()}`);
      assert.equal(recorded.status, 'running');
      assert.equal(recorded.started_at?.getTime(), due.getTime(), 'recorded as started at its time');
      assert.equal(recorded.scheduled_at.getTime(), due.getTime());
      assert.equal(handlerStarts().has(recorded.id), false, 'its handler waits for its time');
      const run = await waitFor('the run to succeed', async () => {
        const [r] = await runsOf('ahead');
        return r?.status === 'succeeded' && r;
      });
      const handlerAt = handlerStarts().get(run.id);
      assert.ok(handlerAt, 'the handler ran');
      assert.ok(handlerAt.getTime() >= due.getTime(), `handler started at ${handlerAt.toISOString()}, due ${due.toISOString()}`);
      assert.equal((await runsOf('ahead')).length, 1, 'one run');
    });

    it('starts the runs of a periodic job at their times, each time once', async () => {
      const everyS = Math.max(2, Math.ceil(scaled(2000) / 1000));
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'ahead-periodic', handler: 'echo', periodically: `${everyS} seconds` })
        .expect(201);
      const runs = await waitFor(
        'three runs to succeed',
        async () => {
          const rs = await runsOf('ahead-periodic');
          return rs.filter((r) => r.status === 'succeeded').length >= 3 && rs;
        },
        everyS * 1000 * 6 + scaled(20_000),
        50,
      );
      const times = runs.map((r) => r.scheduled_at.getTime());
      assert.equal(new Set(times).size, times.length, `each time fired once: ${runs.map((r) => r.scheduled_at.toISOString()).join(', ')}`);
      const starts = handlerStarts();
      for (const r of runs.filter((x) => x.status === 'succeeded')) {
        assert.ok(r.started_at!.getTime() >= r.scheduled_at.getTime(), `run of ${r.scheduled_at.toISOString()} recorded as started at ${r.started_at!.toISOString()}`);
        const at = starts.get(r.id);
        assert.ok(at && at.getTime() >= r.scheduled_at.getTime(), `handler of the run of ${r.scheduled_at.toISOString()} started at ${at?.toISOString()}`);
      }
      await svc.http.delete(`${api}/jobs/ahead-periodic`).expect(200);
    });
  });
}
