/**
 * Migration 000026 moves the rows a release before it left in Agenda's agenda_jobs (the table
 * as Agenda's PostgreSQL backend creates it) into the service's dispatch table, locks and all,
 * and drops agenda_jobs; a release before it then refuses the database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { loadConfig } from '../src/config/config.js';
import { agendaReady, newAgenda } from '../src/engine/agenda.js';
import type { SqlClient } from '../src/db/sql-client.js';
import { openStore } from '../src/service/backend.js';
import { MigrationError, runMigrations } from '../src/store/sql/migrate.js';
import { migrations } from '../src/store/sql/migrations/index.js';
import type { Store } from '../src/store/types.js';
import { noticeSkippedStores, stores, testDatabase, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const before26 = migrations.filter((m) => m.version < 26);

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`the move to the dispatch table on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let store: Store;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      const opened = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' }));
      store = opened.store;
      if (opened.engine.kind !== 'sql') throw new Error('a SQL store was expected');
      sql = opened.engine.sql;
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    it("moves the service's rows of agenda_jobs with their locks, drops the table, and an older release refuses the database", async () => {
      await runMigrations(sql, before26);
      const agenda = newAgenda(new PostgresBackend({ pool: sql.agendaPool, disableNotifications: true }), {
        name: 'older-release',
        pollIntervalMs: 1000,
        lockLifetimeMs: 30_000,
        maxConcurrency: 4,
        onError: () => undefined,
      });
      await agendaReady(agenda);
      await agenda.stop(false);
      const claim = new Date('2026-11-30T10:00:00.000Z');
      await sql.query(
        `INSERT INTO agenda_jobs (name, next_run_at, data, disabled, locked_at, last_modified_by, last_run_at) VALUES
           ('echo', '2030-01-01T00:00:00.123456Z', '{"job_id": "nightly"}', FALSE, NULL, 'worker-a', $1),
           ('echo', '2030-01-02T00:00:00Z', '{"job_id": "paused"}', TRUE, NULL, NULL, NULL),
           ('sleep', '2026-11-30T09:59:00Z', '{"execution_id": "run-1"}', FALSE, $1, 'worker-b', $1),
           ('echo', NULL, '{"job_id": "never"}', FALSE, NULL, NULL, NULL),
           ('echo', '2026-11-30T09:00:00Z', '{}', FALSE, NULL, NULL, NULL)`,
        [claim],
      );

      assert.deepEqual(
        await runMigrations(
          sql,
          migrations.filter((m) => m.version <= 26),
        ),
        [26],
      );
      const rows = await sql.query<Record<string, unknown>>(
        `SELECT handler, job_id, execution_id, next_run_at, disabled, locked_by, locked_at, claimed_at FROM dispatch ORDER BY coalesce(job_id, execution_id)`,
      );
      assert.deepEqual(
        rows.rows.map((r) => ({ ...r, next_run_at: (r.next_run_at as Date).toISOString() })),
        [
          // Milliseconds: a Date read from the row compares equal to it.
          { handler: 'echo', job_id: 'nightly', execution_id: null, next_run_at: '2030-01-01T00:00:00.123Z', disabled: false, locked_by: null, locked_at: null, claimed_at: null },
          { handler: 'echo', job_id: 'paused', execution_id: null, next_run_at: '2030-01-02T00:00:00.000Z', disabled: true, locked_by: null, locked_at: null, claimed_at: null },
          {
            handler: 'sleep',
            job_id: null,
            execution_id: 'run-1',
            next_run_at: '2026-11-30T09:59:00.000Z',
            disabled: false,
            locked_by: 'worker-b',
            locked_at: claim,
            claimed_at: claim,
          },
        ],
      );
      const gone = await sql.query<{ t: string | null; f: number }>(
        `SELECT to_regclass('agenda_jobs')::text AS t, (SELECT count(*)::int FROM pg_proc WHERE proname = 'update_agenda_jobs_updated_at') AS f`,
      );
      assert.deepEqual(gone.rows[0], { t: null, f: 0 });

      await assert.rejects(runMigrations(sql, before26), (err: Error) => err instanceof MigrationError && /26/.test(err.message) && /newer release/.test(err.message));
      // This release boots on it.
      assert.ok(!(await runMigrations(sql)).includes(26));
    });
  });
}
