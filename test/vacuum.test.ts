/**
 * VACUUM where nothing else runs it: PGlite has no autovacuum, and a PostgreSQL server may run
 * with autovacuum off. Without it the dispatch rows and the runs under way, written and deleted
 * at every run, would take new space for ever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { tablesToVacuum } from '../src/store/sql/vacuum.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

describe('tablesToVacuum', () => {
  it("takes autovacuum's rule: dead rows past the threshold and a fifth of the live rows, most dead first", () => {
    const tables = [
      { name: 'dispatch', dead: 1500, live: 10 },
      { name: 'execution', dead: 5000, live: 100_000 },
      { name: 'execution_active', dead: 999, live: 0 },
      { name: 'event', dead: 30_000, live: 100_000 },
    ];
    assert.deepEqual(tablesToVacuum(tables, 1000), ['event', 'dispatch']);
    assert.deepEqual(tablesToVacuum(tables, 900), ['event', 'dispatch', 'execution_active']);
    assert.deepEqual(tablesToVacuum(tables, 0), [], '0: no table');
  });
});

/** One-shot jobs due now, `n` of them, through the bulk route. */
async function bulk(svc: Running, prefix: string, n: number) {
  const jobs = Array.from({ length: n }, (_, k) => ({ job_id: `${prefix}-${k}`, handler: 'echo' }));
  await svc.http.post(`${api}/jobs/bulk`).send({ jobs }).expect(201);
}

interface TableStats {
  dead: number;
  vacuumed: Date | null;
  bytes: number;
}

async function statsOf(sql: SqlClient, table: string): Promise<TableStats> {
  const r = await sql.query<{ dead: number; vacuumed: Date | null; bytes: number }>(
    `SELECT n_dead_tup::int AS dead, last_vacuum AS vacuumed, pg_relation_size(relid)::int AS bytes
       FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = $1`,
    [table],
  );
  return r.rows[0];
}

async function ended(sql: SqlClient, prefix: string): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution WHERE job_id LIKE $1 AND status = 'succeeded'`, [`${prefix}-%`]);
  return r.rows[0].n;
}

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`VACUUM of the tables on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_VACUUM_AFTER_ROWS: '200', JOBS_VACUUM_INTERVAL_SECONDS: '1' });
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('vacuums the dispatch rows and the runs under way when autovacuum does not run, so their space is used again', async () => {
      const autovacuum = (await sql.query<{ on: string }>("SELECT current_setting('autovacuum') AS on")).rows[0].on;
      // PGlite's setting reads on, but it has no process to run it.
      const ours = name === 'embedded' || autovacuum === 'off';
      // The most space dispatch took during a round: its rows, claimed (a new version each), then deleted.
      let peak = 0;
      const round = async (prefix: string) => {
        await bulk(svc, prefix, 500);
        await waitFor(
          `500 runs of ${prefix}`,
          async () => {
            peak = Math.max(peak, (await statsOf(sql, 'dispatch')).bytes);
            return (await ended(sql, prefix)) === 500;
          },
          60_000,
        );
      };
      await round('a');
      if (!ours) {
        // The server's autovacuum does it: the service leaves the tables alone.
        await sleep(scaled(3500));
        assert.equal((await statsOf(sql, 'dispatch')).vacuumed, null, 'no VACUUM by the service where autovacuum runs');
        return;
      }
      // A VACUUM may come in the middle of the round (its rows are deleted as it goes) and the
      // server's statistics count deletes when each session reports them, after the fact: the
      // dead rows it shows fall below the threshold once a VACUUM has come after the last of
      // them, and a table left above it is vacuumed again within the interval.
      const first = await waitFor('a VACUUM of dispatch and execution_active leaving dispatch under 200 dead rows', async () => {
        const [d, a] = [await statsOf(sql, 'dispatch'), await statsOf(sql, 'execution_active')];
        return d.vacuumed && a.vacuumed && d.dead < 200 && d;
      });
      const peakA = peak;
      assert.ok(peakA >= 8 * 8192, `a round took ${peakA} bytes of dispatch: enough for a second one to show`);
      await round('b');
      const second = await waitFor('a second VACUUM of dispatch', async () => {
        const d = await statsOf(sql, 'dispatch');
        return d.vacuumed && d.vacuumed > first.vacuumed! && d;
      });
      // Without VACUUM the second round's rows take new pages after the first round's: twice the space.
      assert.ok(second.bytes <= peakA + 4 * 8192, `dispatch: ${second.bytes} bytes after two rounds, ${peakA} at most during the first`);
    });
  });
}

describe('VACUUM of the whole embedded database past JOBS_VACUUM_FREEZE_AGE', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let svc: Running;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { JOBS_VACUUM_FREEZE_AGE: '1', JOBS_VACUUM_INTERVAL_SECONDS: '1' });
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('vacuums every table, so the transaction ids are frozen before they could wrap around', async () => {
    const sql = (svc.service.store as SqlStore).db;
    // schema_migration is written only by migrations: no dead row would bring a VACUUM of it alone.
    const s = await waitFor('a VACUUM of schema_migration', async () => (await statsOf(sql, 'schema_migration')).vacuumed);
    assert.ok(s instanceof Date);
    const age = await sql.query<{ age: number }>('SELECT age(datfrozenxid)::int AS age FROM pg_database WHERE datname = current_database()');
    assert.ok(age.rows[0].age < 1_000_000, `age of the oldest unfrozen id: ${age.rows[0].age}`);
  });
});
