/**
 * A stop that meets a heartbeat under way: the heartbeat ends first, and the stop neither
 * registers the worker again nor leaves a session lock behind. The heartbeat is held on a row
 * lock of the worker's row, taken by a transaction of the test's own, while the worker is
 * declared gone (as another process's sweep would) and the service closes. On PostgreSQL,
 * where a worker holds a session lock on a connection of its own: a registration made during
 * the stop kept that connection, and with it the process, alive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { scaled, sleep, startService, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

const skip = process.env.TEST_POSTGRES_URL ? false : 'TEST_POSTGRES_URL is not set: a worker holds a session lock on PostgreSQL only';
if (skip) console.log(`# SKIPPED worker stop tests: ${skip}`);

describe('a stop during a heartbeat on postgres', { skip }, () => {
  let db: TestDatabase;
  let svc: Running | undefined;
  let schema: string;
  const holder = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
  const probe = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
  before(async () => {
    db = await testDatabase('postgres');
    schema = new URL(db.env.DATABASE_URL).searchParams.get('schema')!;
    await holder.connect();
    await probe.connect();
    for (const c of [holder, probe]) await c.query(`SET search_path TO "${schema}"`);
  });
  after(async () => {
    await svc?.close();
    await holder.end();
    await probe.end();
    await db?.drop();
  });

  it('waits for the heartbeat: no second registration, no session lock left', async () => {
    svc = await startService(db);
    const workers = async () => (await probe.query<{ id: string; state: string }>('SELECT id, state FROM worker ORDER BY started_at')).rows;
    const [worker] = await workers();
    assert.ok(worker, 'the service registered its worker');

    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM worker WHERE id = $1 FOR UPDATE', [worker.id]);
    await waitFor('a heartbeat waiting on the worker row', async () => {
      const r = await probe.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE worker SET heartbeat_at%' AND datname = current_database()",
      );
      return r.rowCount;
    });
    // Declared gone while its heartbeat waits, then the service stops.
    await holder.query("UPDATE worker SET state = 'gone' WHERE id = $1", [worker.id]);
    const closing = svc.close();
    await sleep(scaled(300));
    await holder.query('COMMIT');
    await closing;
    svc = undefined;
    // What a heartbeat still under way would write comes within moments of the stop.
    await sleep(scaled(1500));

    assert.deepEqual(
      (await workers()).map((w) => [w.id, w.state]),
      [[worker.id, 'gone']],
      'the heartbeat that found the worker gone did not register it again',
    );
    const locks = await probe.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = hashtext('jobs-service:' || current_schema())::oid",
    );
    assert.equal(locks.rows[0].n, 0, 'no session lock of this deployment is held after the stop');
  });
});
