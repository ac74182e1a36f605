/**
 * The claim's plan does not depend on statistics: with a due backlog of thousands of rows and
 * no ANALYZE ever run (PGlite never analyses; a server may run without autovacuum) it reads
 * about what it takes, not the backlog. And bulk writes are followed by an ANALYZE of the
 * tables they wrote, past JOBS_ANALYZE_AFTER_ROWS. The statement that writes many ends at
 * once reads each of its runs once, whatever the statistics say of the running runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import { claimStatement } from '../src/engine/sql/dispatcher.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { finishRunningExecutions, SqlExecutionStore } from '../src/store/sql/executions.js';
import { eventChannel } from '../src/store/sql/events.js';
import { outputTrimmedNote } from '../src/store/executions.js';
import { blankExecution } from '../src/scheduling/run/blank-execution.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface PlanNode {
  'Node Type': string;
  'CTE Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

/**
 * Rows every scan of `table` read, over all its loops: those it returned and those its filter
 * dropped (EXPLAIN gives both per loop).
 */
function rowsRead(node: PlanNode, table: string): number {
  const perLoop = (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0);
  const own = node['Relation Name'] === table && /Scan/.test(node['Node Type']) ? perLoop * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((a, p) => a + rowsRead(p, table), 0);
}

/** Whether a table of this schema has statistics (only ANALYZE writes pg_stats). */
async function analysed(db: SqlClient, table: string): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1', [table]);
  return r.rows[0].n > 0;
}

/** Rows read from CTEs over all their scans: a CTE scanned once per row of a join reads its rows that many times. */
function cteRowsRead(node: PlanNode): number {
  const own = node['Node Type'] === 'CTE Scan' ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((a, p) => a + cteRowsRead(p), 0);
}

const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;

/**
 * Runs `text` under EXPLAIN ANALYZE in a transaction that is rolled back, and returns its plan.
 * `generic`: as a prepared statement (PREPARE, with `types` when given) executed with the
 * arguments as SQL `literals`, with its generic plan (the one PostgreSQL may settle on for a
 * statement the service prepares), which knows none of the parameters; else with `values`.
 * `inside` looks at what the statement did before the rollback.
 */
async function explainRolledBack(
  db: SqlClient,
  statement: { text: string; values: unknown[]; literals: string[]; types?: string },
  generic: boolean,
  inside?: (tx: SqlClient) => Promise<void>,
): Promise<PlanNode> {
  let plan: PlanNode | undefined;
  await db
    .transaction(async (tx) => {
      let r;
      if (generic) {
        await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
        await tx.query(`PREPARE plan_test ${statement.types ? `(${statement.types}) ` : ''}AS ${statement.text}`);
        try {
          r = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_test (${statement.literals.join(', ')})`);
        } finally {
          await tx.query('DEALLOCATE plan_test');
        }
      } else {
        r = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, statement.values);
      }
      const raw = r.rows[0]['QUERY PLAN'];
      plan = (typeof raw === 'string' ? JSON.parse(raw) : raw)[0].Plan as PlanNode;
      await inside?.(tx);
      throw new Error('rollback');
    })
    .catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  assert.ok(plan);
  return plan;
}

/** Runs the claim under EXPLAIN ANALYZE and rolls it back: the rows it claimed and the rows it read. */
async function explainClaim(db: SqlClient, names: string[], limit: number, generic = false): Promise<{ claimed: number; read: number; jobs: number }> {
  const now = new Date();
  const deadline = new Date(now.getTime() - 30_000);
  // Due by a quarter second from now, as with JOBS_CLAIM_EARLY_MS's default.
  const until = new Date(now.getTime() + 250);
  const plan = await explainRolledBack(
    db,
    {
      text: claimStatement,
      values: [names, now, deadline, limit, 'plan-test', until],
      literals: [
        `ARRAY[${names.map(literal).join(', ')}]::text[]`,
        `${literal(now.toISOString())}::timestamptz`,
        `${literal(deadline.toISOString())}::timestamptz`,
        String(limit),
        literal('plan-test'),
        `${literal(until.toISOString())}::timestamptz`,
      ],
      types: 'text[], timestamptz, timestamptz, int, text, timestamptz',
    },
    generic,
  );
  return { claimed: plan['Actual Rows'] ?? 0, read: rowsRead(plan, 'dispatch'), jobs: rowsRead(plan, 'job') };
}

/** Locks the 40 rows due first as a claim under way holds them (committed): returns how many. */
async function holdFirst(db: SqlClient, names: string[], n: number): Promise<number> {
  const r = await db.query(
    `UPDATE dispatch SET locked_at = now(), claimed_at = now(), locked_by = 'another-worker'
      WHERE id IN (SELECT id FROM dispatch WHERE handler = ANY($1::text[]) ORDER BY next_run_at LIMIT $2)`,
    [names, 2 * n],
  );
  return r.rowCount ?? 0;
}

async function releaseHeld(db: SqlClient) {
  await db.query(`UPDATE dispatch SET locked_at = NULL WHERE locked_by = 'another-worker'`);
}

async function bulk(svc: Running, prefix: string, n: number, from = 0) {
  for (let i = from; i < from + n; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, from + n - i) }, (_, k) => ({ job_id: `${prefix}-${i + k}`, handler: 'echo' }));
    await svc.http.post(`${api}/jobs/bulk`).send({ jobs }).expect(201);
  }
}

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  describe(`the claim's plan on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_ANALYZE_AFTER_ROWS: '0' });
      // Paused: the due jobs stay due, for the claim to be looked at.
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('reads about the rows it claims from a backlog of 5,000 due rows, with statistics and without', async () => {
      await bulk(svc, 'due', 5000);
      const names = (await svc.http.get(`${api}/handlers`).expect(200)).body.handlers.map((h: { name: string }) => h.name) as string[];
      assert.ok(names.length > 1, 'several handlers: the claim probes each');
      if (name === 'embedded') assert.equal(await analysed(sql, 'dispatch'), false, 'PGlite has no statistics of its own');
      // Rows held by claims under way sit at the head of the backlog: the probes read past them.
      const held = await holdFirst(sql, names, 20);
      for (const stats of ['without', 'with']) {
        if (stats === 'with') await sql.query('ANALYZE dispatch');
        // 20: a claim at the default concurrency; 100: one with room for more (a higher
        // concurrency, JOBS_CLAIM_AHEAD), which without statistics was planned as a read and
        // sort of the handler's whole backlog whenever the limit came near the rows estimated.
        for (const [limit, generic] of [
          [20, false],
          [20, true],
          [100, false],
          [100, true],
        ] as const) {
          // The service prepares the claim: PostgreSQL may settle on its generic plan, which must read no more.
          const what = `${stats} statistics, limit ${limit}${generic ? ', generic plan' : ''}`;
          const { claimed, read, jobs } = await explainClaim(sql, names, limit, generic);
          assert.equal(claimed, limit, `${what}: ${limit} rows claimed`);
          // One probe per handler, each reading at most the limit and the rows held, rows dropped
          // by a filter counted: the plans before read all 5,000 (a sort of the backlog, then a
          // walk of an index on next_run_at alone through the other handlers' rows).
          assert.ok(read >= limit, `${what}: the claimed rows were read (${read})`);
          assert.ok(read <= limit * names.length + limit + held, `${what}: ${read} rows of dispatch read to claim ${limit} past ${held} held`);
          assert.ok(jobs <= limit, `${what}: ${jobs} jobs read for ${limit} rows claimed`);
        }
      }
      await releaseHeld(sql);
    });
  });

  describe(`ANALYZE after bulk writes on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_ANALYZE_AFTER_ROWS: '1000' });
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('analyses the job and dispatch tables once JOBS_ANALYZE_AFTER_ROWS rows were written to them', async () => {
      await bulk(svc, 'few', 500);
      // PGlite never analyses by itself; a server's autovacuum might, so only PGlite shows the "before".
      if (name === 'embedded') {
        assert.equal(await analysed(sql, 'job'), false);
        assert.equal(await analysed(sql, 'dispatch'), false);
      }
      await bulk(svc, 'more', 500);
      await waitFor('statistics of job and dispatch', async () => (await analysed(sql, 'job')) && (await analysed(sql, 'dispatch')));
    });

    it('analyses execution once as many runs were fired: the prepared statements of ends are planned again for its size', async () => {
      if (name === 'embedded') assert.equal(await analysed(sql, 'execution'), false);
      // The 1,000 jobs of the test before are due: each fire writes one run record.
      await svc.http.put(`${api}/service/state?state=running`).expect(200);
      const ended = async () => (await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM execution WHERE status = 'succeeded'")).rows[0].n;
      await waitFor('1,000 runs ended', async () => (await ended()) === 1000, 60_000);
      await waitFor('statistics of execution', () => analysed(sql, 'execution'));
    });
  });

  describe(`the plan of 1,000 ends written at once on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('reads each run and each job once, with statistics that say no run is running, in a custom and a generic plan', async () => {
      const store = new SqlExecutionStore(sql);
      const n = 1000;
      const run = (status: 'succeeded' | 'running') => ({ ...blankExecution(), job_id: null, handler: 'echo', status, worker_id: 'w', started_at: new Date() });
      // The statistics then know only ended runs; the runs to end come after them.
      await store.insertExecutions(Array.from({ length: n }, () => ({ ...run('succeeded'), finished_at: new Date() })));
      await sql.query('ANALYZE execution');
      const running = Array.from({ length: n }, () => run('running'));
      await store.insertExecutions(running);
      const ends = running.map((r) => ({
        id: r.id,
        status: 'succeeded',
        finished_at: new Date(),
        duration_ms: 1,
        error: null,
        stack: null,
        progress: 100,
        output: [],
        job_id: null,
      }));
      const maxBytes = 65_536;
      const args = [JSON.stringify(ends), 100, new Date(), n, maxBytes, outputTrimmedNote(maxBytes), await eventChannel(sql)];
      const statement = {
        text: finishRunningExecutions(),
        values: args,
        literals: [
          `${literal(args[0] as string)}::jsonb`,
          '100',
          `${literal((args[2] as Date).toISOString())}::timestamptz`,
          String(n),
          String(maxBytes),
          literal(args[5] as string),
          literal(args[6] as string),
        ],
      };
      for (const generic of [false, true]) {
        const plan = await explainRolledBack(sql, statement, generic, async (tx) => {
          const ended = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution WHERE status = 'succeeded'`);
          assert.equal(ended.rows[0].n, 2 * n, 'every run ended');
        });
        // Each CTE is read a few times at most (the update, the events, the answer); a join
        // that scans a CTE once per run reads it 1,000 times: a million rows.
        const read = cteRowsRead(plan);
        assert.ok(read <= 20 * n, `${generic ? 'generic' : 'custom'} plan: ${read} rows read from CTEs to end ${n} runs`);
      }
    });
  });
}
