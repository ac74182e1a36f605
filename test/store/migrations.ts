/** The numbered SQL migrations (src/store/sql/migrate.ts), each test on a database of its own. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { openStore } from '../../src/service/backend.js';
import { MigrationError, runMigrations } from '../../src/store/sql/migrate.js';
import { migrations } from '../../src/store/sql/migrations/index.js';
import { executionToRow, jobColumns, jobSelectList, jobToRow, json, rowToJob, type Row } from '../../src/store/sql/rows.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { insertSql } from '../../src/store/sql/statements.js';
import { testDatabase, type StoreName, type TestDatabase } from '../helpers.js';
import { ddlBeforeMigrations } from './ddl-before-migrations.js';
import { execution, job, worker } from './fixtures.js';

const latest = migrations[migrations.length - 1].version;

async function applied(db: SqlClient): Promise<number[]> {
  const r = await db.query<{ version: number }>('SELECT version FROM schema_migration ORDER BY version');
  return r.rows.map((x) => Number(x.version));
}

async function tableExists(db: SqlClient, table: string): Promise<boolean> {
  const r = await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
  return r.rows[0].found !== null;
}

/** The migration tests on one SQL store (embedded or postgres). */
export function sqlMigrationContract(name: Extract<StoreName, 'embedded' | 'postgres'>): void {
  describe('numbered migrations', () => {
    const opened: Array<{ db: TestDatabase; stores: SqlStore[] }> = [];
    /** A database of its own, and `n` stores open on it (only PostgreSQL takes more than one). */
    const fresh = async (n = 1) => {
      const db = await testDatabase(name);
      const entry = { db, stores: [] as SqlStore[] };
      opened.push(entry);
      for (let i = 0; i < n; i++) {
        const { store } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' }));
        assert.ok(store instanceof SqlStore);
        entry.stores.push(store);
      }
      return entry.stores;
    };

    after(async () => {
      for (const { db, stores } of opened) {
        for (const s of stores) await s.close();
        await db.drop();
      }
    });

    it('a new database runs every migration once; a second boot runs nothing', async () => {
      const [store] = await fresh();
      assert.deepEqual(
        await runMigrations(store.db),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(
        await applied(store.db),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(await runMigrations(store.db), []);
      await store.migrate();
      assert.deepEqual(
        await applied(store.db),
        migrations.map((m) => m.version),
      );
    });

    it("jobColumns names every column of job, in the table's order", async () => {
      const [store] = await fresh();
      await runMigrations(store.db);
      const r = await store.db.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'job' ORDER BY ordinal_position",
      );
      assert.deepEqual(
        r.rows.map((x) => x.column_name),
        [...jobColumns],
      );
      // The select list of lists reads a job as SELECT * does.
      await store.upsertJob(job('listed', 0, { kwargs: {}, notify: [], on_success: [], on_failure: [], on_finish: [], after_all: [] }));
      await store.upsertJob(job('chained', 0, { kwargs: { a: 1 }, on_success: [{ job_id: 'listed' }], after_all: ['listed'] }));
      for (const id of ['chained', 'listed']) {
        const star = await store.db.query<Row>('SELECT * FROM job WHERE job_id = $1', [id]);
        const listed = await store.db.query<Row>(`SELECT ${jobSelectList} FROM job WHERE job_id = $1`, [id]);
        assert.deepEqual(rowToJob(listed.rows[0]), rowToJob(star.rows[0]));
      }
    });

    it('a database made by the DDL of before numbered migrations is recognised and upgraded without loss', async () => {
      const [store] = await fresh();
      // What every boot ran before migrations were numbered: the DDL, no migration table.
      await store.db.exec(ddlBeforeMigrations);
      assert.equal(await tableExists(store.db, 'schema_migration'), false);
      const j = job('mg-old', 1);
      const e = execution('mg-run', 1, 0, { job_id: 'mg-old', status: 'succeeded' });
      const w = worker('mg-w', 1, 0);
      // The job, the run and the worker as that release wrote them: without the columns of
      // 000006 (an old run reads as its own first attempt, not yet fenced), 000013 (a job at its
      // first version, a run of no known version), 000021 (an old job has no catch-up, window,
      // max runs or jitter; an old run no jitter), 000016 (no notifications), 000019 (no chains)
      // and 000023 (no image status: null when read).
      const { version: _version, catch_up: _catchUp, start_at: _start, end_at: _end, max_runs: _max, jitter: _jitter, ...job1 } = j;
      const { notify: _notify, pause_after_failures: _pause, deadline: _deadline, failure_streak: _streak, ...job2 } = job1;
      const { on_success: _s, on_failure: _f, on_finish: _e, after_all: _a, ...job3 } = job2;
      const { image_status: _status, image_error: _error, ...oldJob } = job3;
      const { idempotency_key: _key, fencing_token: _token, job_version: _jv, active_execution_id: _active, jitter_ms: _jitterMs, ...run1 } = e;
      const { notifies: _notifies, ...run2 } = run1;
      const { restarted_from: _r, triggered_by: _t, chains_pending: _p, ...oldRun } = run2;
      for (const [table, row] of [
        ['job', jobToRow(oldJob)],
        ['execution', executionToRow(oldRun)],
        ['worker', { ...w, memory: json(w.memory) }],
      ] as const) {
        const { text, params } = insertSql(table, row);
        await store.db.query(text, params);
      }
      // Paused as that release paused: its table has no pause columns yet.
      await store.db.query("INSERT INTO service_state (id, state, updated_at) VALUES ('service', 'paused', now())");

      await store.migrate();
      assert.deepEqual(
        await applied(store.db),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(await store.getJob('mg-old'), j);
      assert.deepEqual(await store.getExecution('mg-run'), e);
      assert.deepEqual(await store.getWorker('mg-w'), w);
      assert.equal(await store.getServiceState(), 'paused');
      assert.deepEqual(await store.getServicePause(), { paused_at: null, paused_by: null }, 'a pause older than its record says nothing of when or who');
      assert.deepEqual(await runMigrations(store.db), []);
    });

    it('a later migration runs after the earlier ones; one that fails leaves nothing behind and is not recorded', async () => {
      const [store] = await fresh();
      const next = latest + 1;
      const added = { version: next, name: 'test-table', sql: 'CREATE TABLE mg_added (id integer PRIMARY KEY); INSERT INTO mg_added VALUES (1);' };
      assert.deepEqual(await runMigrations(store.db, [...migrations, added]), [...migrations.map((m) => m.version), next]);
      assert.equal(await tableExists(store.db, 'mg_added'), true);

      const failing = { version: next + 1, name: 'fails', sql: 'CREATE TABLE mg_partial (id integer); SELECT no_such_function();' };
      await assert.rejects(runMigrations(store.db, [...migrations, added, failing]), /no_such_function/);
      assert.equal(await tableExists(store.db, 'mg_partial'), false, 'the failed migration was rolled back');
      assert.deepEqual(await applied(store.db), [...migrations.map((m) => m.version), next]);
    });

    it('a database a newer release migrated additively still boots this release (rolling upgrade, rollback)', async () => {
      const [store] = await fresh();
      const added = { version: latest + 1, name: 'newer-additive', sql: 'CREATE TABLE mg_newer (id integer);' };
      await runMigrations(store.db, [...migrations, added]);
      assert.deepEqual(await runMigrations(store.db), []);
      await store.migrate();
      assert.deepEqual(await applied(store.db), [...migrations.map((m) => m.version), latest + 1]);
    });

    it('a database a newer release migrated with a breaking migration is refused', async () => {
      const [store] = await fresh();
      const added = { version: latest + 1, name: 'newer', sql: 'SELECT 1;' };
      const breaking = { version: latest + 2, name: 'newer-breaking', sql: 'SELECT 1;', breaking: true };
      await runMigrations(store.db, [...migrations, added, breaking]);
      // Only the breaking one is named: the additive one alone would not stop the boot.
      const names = (err: unknown) => err instanceof MigrationError && /newer release/.test(err.message) && err.message.includes(`migration ${latest + 2},`);
      await assert.rejects(runMigrations(store.db), names);
    });

    it('migration 25 moves the runs under way of an existing database into execution_active', async () => {
      const [store] = await fresh();
      await runMigrations(
        store.db,
        migrations.filter((m) => m.version < 25),
      );
      const runs = [
        execution('m25-queued', 1, 0, { job_id: 'm25', status: 'queued' }),
        execution('m25-running', 1, 1, { job_id: 'm25', status: 'running', worker_id: 'm25-w', started_at: new Date(), cancel_requested_at: new Date() }),
        execution('m25-done', 1, 2, { job_id: 'm25', status: 'succeeded', finished_at: new Date() }),
      ];
      for (const e of runs) {
        const { text, params } = insertSql('execution', executionToRow(e));
        await store.db.query(text, params);
      }
      assert.deepEqual(
        await runMigrations(
          store.db,
          migrations.filter((m) => m.version <= 25),
        ),
        [25],
      );
      const r = await store.db.query<{ id: string; status: string; worker_id: string | null }>('SELECT id, status, worker_id FROM execution_active ORDER BY id');
      assert.deepEqual(r.rows, [
        { id: 'm25-queued', status: 'queued', worker_id: null },
        { id: 'm25-running', status: 'running', worker_id: 'm25-w' },
      ]);
      assert.deepEqual((await store.activeExecutions('m25')).map((e) => e.id).sort(), ['m25-queued', 'm25-running']);
      assert.deepEqual(await store.cancelRequested('m25-w'), ['m25-running']);
      assert.equal(await store.queuedCount(), 1);
      // From here on the trigger keeps it: the queued run ends, and leaves the table.
      assert.equal(await store.transitionExecution('m25-queued', 'queued', { status: 'cancelled', finished_at: new Date() }), true);
      assert.equal(await store.queuedCount(), 0);
    });

    it('migration 29 counts the ended runs of an existing database; the triggers keep the counts from then on', async () => {
      const [store] = await fresh();
      await runMigrations(
        store.db,
        migrations.filter((m) => m.version < 29),
      );
      await store.insertJobs([job('m29', 1)]);
      const runs = [
        execution('m29-a', 1, 0, { job_id: 'm29', status: 'succeeded', finished_at: new Date(), duration_ms: 100 }),
        execution('m29-b', 1, 1, { job_id: 'm29', status: 'succeeded', finished_at: new Date(), duration_ms: 300 }),
        execution('m29-c', 1, 2, { job_id: 'm29', status: 'timed_out', finished_at: new Date(), duration_ms: 900 }),
        execution('m29-d', 1, 3, { job_id: 'm29', status: 'running', worker_id: 'm29-w', started_at: new Date() }),
        execution('m29-e', 1, 4, { job_id: null, status: 'cancelled', finished_at: new Date() }),
      ];
      await store.insertExecutions(runs);
      assert.deepEqual(
        await runMigrations(
          store.db,
          migrations.filter((m) => m.version <= 29),
        ),
        [29],
      );
      const counts = await store.db.query<{ job_id: string; status: string; executions: string; timed: string; duration_ms: string }>(
        'SELECT job_id, status, executions::text, timed::text, duration_ms::text FROM execution_count ORDER BY job_id, status',
      );
      assert.deepEqual(counts.rows, [
        { job_id: '', status: 'cancelled', executions: '1', timed: '0', duration_ms: '0' },
        { job_id: 'm29', status: 'succeeded', executions: '2', timed: '2', duration_ms: '400' },
        { job_id: 'm29', status: 'timed_out', executions: '1', timed: '1', duration_ms: '900' },
      ]);
      const stats = async () => {
        const { total, succeeded, failed, average_duration_ms } = (await store.getJobWithStats('m29'))!.stats;
        return { total, succeeded, failed, average_duration_ms };
      };
      assert.deepEqual(await stats(), { total: 4, succeeded: 2, failed: 1, average_duration_ms: 200 });
      assert.deepEqual((await store.stats()).executions, { cancelled: 1, succeeded: 2, timed_out: 1, running: 1 });
      // From here on the triggers keep them: the running run ends.
      assert.equal(await store.transitionExecution('m29-d', 'running', { status: 'succeeded', finished_at: new Date(), duration_ms: 500 }), true);
      assert.deepEqual(await stats(), { total: 4, succeeded: 3, failed: 1, average_duration_ms: 300 });
      assert.deepEqual((await store.stats()).executions, { cancelled: 1, succeeded: 3, timed_out: 1 });
    });

    it(
      'two processes migrating one database at once do not conflict: the migrations run once',
      { skip: name === 'embedded' ? 'one process owns an embedded database: there are no concurrent boots to order' : false },
      async () => {
        const stores = await fresh(4);
        const runs = await Promise.all(stores.map((s) => runMigrations(s.db)));
        assert.deepEqual(
          runs.flat().sort((a, b) => a - b),
          migrations.map((m) => m.version),
          `each migration ran once: ${JSON.stringify(runs)}`,
        );
        assert.deepEqual(
          await applied(stores[0].db),
          migrations.map((m) => m.version),
        );
        // Through Store.migrate, as boots call it, without the boot lock.
        await Promise.all(stores.map((s) => s.migrate()));
        assert.deepEqual(
          await applied(stores[0].db),
          migrations.map((m) => m.version),
        );
      },
    );
  });
}
