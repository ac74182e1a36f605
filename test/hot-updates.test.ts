/**
 * The job and execution tables leave room in their pages (migrations 10 and 25), so the
 * updates that touch no indexed column (a job's next and last run, and since migration 25 a
 * run's start and end) stay HOT; execution_active, kept by a trigger, holds the runs under
 * way that the indexes on status used to find.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { SqlExecutionStore } from '../src/store/sql/executions.js';
import { blankExecution } from '../src/scheduling/run/blank-execution.js';
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

    it('job has a fillfactor of 80, execution and execution_active of 50', async () => {
      const r = await sql.query<{ relname: string; reloptions: string[] | null }>(
        `SELECT relname, reloptions FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname IN ('job', 'execution', 'execution_active') ORDER BY relname`,
      );
      assert.deepEqual(
        r.rows.map((x) => [x.relname, x.reloptions]),
        [
          ['execution', ['fillfactor=50']],
          ['execution_active', ['fillfactor=50']],
          ['job', ['fillfactor=80']],
        ],
      );
    });

    // What a run's start (transitionExecution), its writes while running and its end
    // (finishExecutions) set: an index naming any of these, as key, expression or condition,
    // would make them non-HOT.
    const writtenByARun = [
      'status',
      'worker_id',
      'started_at',
      'finished_at',
      'duration_ms',
      'error',
      'stack',
      'progress',
      'output',
      'output_truncated',
      'output_lines',
      'fencing_token',
    ];

    it('no index of execution names a column that a run writes after its insert', async () => {
      // pg_depend records every column an index names, in its keys, expressions or condition.
      const r = await sql.query<{ index: string; column: string }>(
        `SELECT i.relname AS index, a.attname AS column
           FROM pg_depend d JOIN pg_class i ON i.oid = d.objid
           JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
            AND d.refobjid = 'execution'::regclass AND i.relkind = 'i'
          UNION
         SELECT i.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey::int2[])
          WHERE x.indrelid = 'execution'::regclass`,
      );
      const named = r.rows.filter((x) => writtenByARun.includes(x.column)).map((x) => `${x.index} (${x.column})`);
      assert.ok(
        r.rows.some((x) => x.index === 'execution_created_idx' && x.column === 'created_at'),
        'the query reads index columns',
      );
      assert.deepEqual(named, []);
    });

    it("a run's start and end are HOT updates, and execution_active follows the run", async () => {
      const run = { ...blankExecution(), job_id: 'transitions', handler: 'echo' };
      const active = async (q: SqlClient) =>
        (await q.query<{ status: string; worker_id: string | null }>('SELECT status, worker_id FROM execution_active WHERE id = $1', [run.id])).rows;
      // The counts of this transaction's updates (pending statistics, read before any flush).
      const counts = await sql.transaction(async (tx) => {
        const store = new SqlExecutionStore(tx);
        await store.insertExecution(run);
        assert.deepEqual(await active(tx), [{ status: 'queued', worker_id: null }]);
        assert.equal(await store.transitionExecution(run.id, 'queued', { status: 'running', worker_id: 'w-hot', started_at: new Date() }), true);
        assert.deepEqual(await active(tx), [{ status: 'running', worker_id: 'w-hot' }]);
        assert.deepEqual(
          (await store.activeExecutions('transitions')).map((e) => e.id),
          [run.id],
        );
        const ended = await store.finishExecutions(
          [{ id: run.id, status: 'succeeded', finished_at: new Date(), duration_ms: 5, error: null, stack: null, progress: 100, output: ['done'], job_id: null }],
          100,
          1_000_000,
        );
        assert.deepEqual(ended, [run.id]);
        assert.deepEqual(await active(tx), []);
        const r = await tx.query<{ upd: string; hot: string }>(
          `SELECT pg_stat_get_xact_tuples_updated('execution'::regclass) AS upd, pg_stat_get_xact_tuples_hot_updated('execution'::regclass) AS hot`,
        );
        return { upd: Number(r.rows[0].upd), hot: Number(r.rows[0].hot) };
      });
      assert.equal(counts.upd, 2, 'the start and the end');
      assert.equal(counts.hot, 2, `${counts.hot} of ${counts.upd} updates HOT`);
      assert.deepEqual(await new SqlExecutionStore(sql).activeExecutions('transitions'), []);
    });

    it('execution_active follows cancel requests, other writers and deletes of runs under way', async () => {
      const store = new SqlExecutionStore(sql);
      const queued = { ...blankExecution(), job_id: 'transitions-other', handler: 'echo' };
      const running = { ...blankExecution(), job_id: 'transitions-other', handler: 'echo', status: 'running' as const, worker_id: 'w-other', started_at: new Date() };
      await store.insertExecutions([queued, running]);
      assert.equal(await store.queuedCount(), 1);
      assert.equal(await store.requestCancel(running.id, new Date()), true);
      assert.deepEqual(await store.cancelRequested('w-other'), [running.id]);
      assert.deepEqual(await store.cancelRequested('w-else'), []);
      // A statement of another writer (by hand, an older release) is followed too.
      await sql.query(`UPDATE execution SET status = 'cancelled', finished_at = now() WHERE id = $1`, [running.id]);
      assert.deepEqual(await store.cancelRequested('w-other'), []);
      assert.deepEqual(
        (await store.activeExecutions('transitions-other')).map((e) => e.id),
        [queued.id],
      );
      const listed = await store.listExecutions({ status: 'queued', job_id: 'transitions-other' }, null, 10);
      assert.deepEqual(
        listed.items.map((e) => e.id),
        [queued.id],
      );
      await sql.query('DELETE FROM execution WHERE id = $1', [queued.id]);
      assert.equal(await store.queuedCount(), 0);
      const left = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution_active WHERE job_id = 'transitions-other'`);
      assert.equal(left.rows[0].n, 0);
    });

    it('execution_active follows statements that write many runs at once, each run its own way', async () => {
      const store = new SqlExecutionStore(sql);
      const run = (status: 'queued' | 'running' | 'succeeded') => ({
        ...blankExecution(),
        job_id: 'transitions-many',
        handler: 'echo',
        status,
        ...(status === 'queued' ? {} : { worker_id: 'w-a', started_at: new Date() }),
        ...(status === 'succeeded' ? { finished_at: new Date() } : {}),
      });
      const [starts, ends, moves, stays, done] = [run('queued'), run('running'), run('running'), run('running'), run('succeeded')];
      await store.insertExecutions([starts, ends, moves, stays, done]);
      const active = async () =>
        (
          await sql.query<{ id: string; status: string; worker_id: string | null }>(
            `SELECT id, status, worker_id FROM execution_active WHERE job_id = 'transitions-many' ORDER BY id`,
          )
        ).rows;
      const expect = (rows: Array<[{ id: string }, string, string | null]>) =>
        rows.map(([r, status, worker_id]) => ({ id: r.id, status, worker_id })).sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.deepEqual(
        await active(),
        expect([
          [starts, 'queued', null],
          [ends, 'running', 'w-a'],
          [moves, 'running', 'w-a'],
          [stays, 'running', 'w-a'],
        ]),
      );
      // One statement: a start, an end, a move to another worker, and an output that changes
      // nothing execution_active holds.
      await sql.query(
        `UPDATE execution SET
           status = CASE id WHEN $1 THEN 'running' WHEN $2 THEN 'failed' ELSE status END,
           worker_id = CASE id WHEN $1 THEN 'w-b' WHEN $3 THEN 'w-c' ELSE worker_id END,
           output = CASE id WHEN $4 THEN ARRAY['a line'] ELSE output END
         WHERE id = ANY($5::text[])`,
        [starts.id, ends.id, moves.id, stays.id, [starts.id, ends.id, moves.id, stays.id, done.id]],
      );
      assert.deepEqual(
        await active(),
        expect([
          [starts, 'running', 'w-b'],
          [moves, 'running', 'w-c'],
          [stays, 'running', 'w-a'],
        ]),
      );
      // A run put back under way (a restart by hand) is under way again; deletes of many runs
      // remove theirs.
      await sql.query(`UPDATE execution SET status = 'queued', worker_id = NULL, finished_at = NULL WHERE id = $1`, [done.id]);
      assert.equal((await active()).length, 4);
      await sql.query(`DELETE FROM execution WHERE job_id = 'transitions-many' AND id <> $1`, [stays.id]);
      assert.deepEqual(await active(), expect([[stays, 'running', 'w-a']]));
      await sql.query(`DELETE FROM execution WHERE id = $1`, [stays.id]);
      assert.deepEqual(await active(), []);
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
      // fencing token and updated once, by its end (no index names status). Jobs fired together
      // fill their pages' room at once, so not every update finds it; a good share does (about
      // half of the job updates, 80 to 95% of the run updates, when measured).
      const job = counts.get('job')!;
      const run = counts.get('execution')!;
      assert.ok(job.hot >= job.upd / 4, `job: ${job.hot} of ${job.upd} updates HOT`);
      // The tests before this one wrote a few updates of their own; a start that wrote the run
      // again would make it 100 and more.
      assert.ok(run.upd < 70, `execution: ${run.upd} updates for 50 runs, one end each`);
      assert.ok(run.hot >= run.upd / 2, `execution: ${run.hot} of ${run.upd} updates HOT`);
    });
  });
}
