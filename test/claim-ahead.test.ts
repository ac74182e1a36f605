/**
 * JOBS_CLAIM_AHEAD: a worker claims due rows beyond its free concurrency and keeps them in a
 * local queue, started as runs end; never more runs at once than the concurrency, each job run
 * once, and the waiting rows unlocked when the worker stops claiming. PGlite, with its one
 * connection, claims none ahead.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`claiming ahead on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    let server: http.Server;
    let port: number;
    /** Requests the handlers sent and that wait for an answer. */
    const held: http.ServerResponse[] = [];
    let seen = 0;
    before(async () => {
      server = http.createServer((_req, res) => {
        seen += 1;
        held.push(res);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      db = await testDatabase(name);
      // A long poll interval and lock lifetime: waiting rows stay claimed while the test looks.
      svc = await startService(db, {
        JOBS_CONCURRENCY: '2',
        JOBS_CLAIM_AHEAD: '3',
        JOBS_POLL_INTERVAL_MS: '10000',
        JOBS_LOCK_LIFETIME_MS: '60000',
      });
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      for (const res of held.splice(0)) res.end('ok');
      await svc?.close();
      await db?.drop();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    });

    const counts = async () => {
      const locked = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM dispatch WHERE locked_at IS NOT NULL');
      const running = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution WHERE status = 'running'`);
      return { locked: locked.rows[0].n, running: running.rows[0].n };
    };

    // PGlite's one connection claims none ahead (the setting is ignored there): only the running rows are locked.
    const ahead = name === 'embedded' ? 0 : 3;
    it(`claims up to the concurrency plus ${ahead} ahead, runs two at once, runs each job once, and lets waiting rows go when it stops`, async () => {
      const jobs = Array.from({ length: 8 }, (_, i) => ({ job_id: `ahead-${i}`, handler: 'http-request', kwargs: { url: `http://127.0.0.1:${port}/${i}`, request_timeout: 120 } }));
      await svc.http.post(`${api}/jobs/bulk`).send({ jobs }).expect(201);
      await waitFor('two requests held', async () => held.length === 2);
      // Two runs, and (PostgreSQL) three more rows claimed and waiting in the worker.
      const claimed = await waitFor(`${2 + ahead} rows locked`, async () => {
        const c = await counts();
        return c.locked === 2 + ahead ? c : undefined;
      });
      assert.equal(claimed.running, 2);
      assert.equal(seen, 2, 'never more runs at once than the concurrency');

      // Pausing stops the claims: the waiting rows are unlocked, the two running keep theirs.
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      await waitFor('only the running rows locked', async () => {
        const c = await counts();
        return c.locked === 2 && c.running === 2;
      });
      await svc.http.put(`${api}/service/state?state=running`).expect(200);

      // Every job runs once, two at a time.
      let answered = 0;
      await waitFor(
        'eight runs succeeded',
        async () => {
          assert.ok(held.length <= 2, `${held.length} requests at once`);
          for (const res of held.splice(0)) {
            res.end('ok');
            answered += 1;
          }
          const r = await sql.query<{ n: number; jobs: number }>(`SELECT count(*)::int AS n, count(DISTINCT job_id)::int AS jobs FROM execution WHERE status = 'succeeded'`);
          return r.rows[0].n === 8 && r.rows[0].jobs === 8;
        },
        60_000,
      );
      assert.equal(answered, 8);
      assert.equal(seen, 8, 'each job ran once');
    });
  });

  describe(`a claim larger than one hand-over on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_CONCURRENCY: '600' });
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('fires 600 due jobs claimed together, in groups side by side, each once and each recorded', async () => {
      const jobs = Array.from({ length: 600 }, (_, i) => ({ job_id: `burst-${i}`, handler: 'echo', kwargs: { i } }));
      await svc.http.post(`${api}/jobs/bulk`).send({ jobs }).expect(201);
      await svc.http.put(`${api}/service/state?state=running`).expect(200);
      await waitFor(
        '600 runs to succeed',
        async () => {
          const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution WHERE job_id LIKE 'burst-%' AND status = 'succeeded'`);
          return r.rows[0].n >= 600;
        },
        120_000,
        100,
      );
      const runs = await sql.query<{ job_id: string; n: number; ok: number }>(
        `SELECT job_id, count(*)::int AS n, count(*) FILTER (WHERE status = 'succeeded')::int AS ok FROM execution WHERE job_id LIKE 'burst-%' GROUP BY job_id`,
      );
      assert.equal(runs.rows.length, 600, 'every job ran');
      assert.deepEqual(
        runs.rows.filter((r) => r.n !== 1 || r.ok !== 1),
        [],
        'each job ran once and succeeded',
      );
      const started = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM event WHERE type = 'execution.started' AND job_id LIKE 'burst-%'`);
      assert.equal(started.rows[0].n, 600, 'one started event per run');
      await waitFor('the rows of the one-shot jobs to go', async () => {
        const left = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM dispatch WHERE job_id LIKE 'burst-%'`);
        return left.rows[0].n === 0;
      });
    });
  });
}
