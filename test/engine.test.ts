/**
 * The Engine interface (src/engine/types.ts), tested directly on each store's engine: rows
 * written through its verbs fire as leases of the run function given to `define`, once each,
 * and go or stay as the lease says. The service's own tests cover the same engines under the
 * run wrapper; these pin down what the wrapper may rely on.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { createEngine, type Engine, type EngineBackend, type EngineData, type Lease } from '../src/engine/index.js';
import { renewEveryMs } from '../src/engine/dispatch-loop.js';
import { openStore } from '../src/service/backend.js';
import type { Store } from '../src/store/types.js';
import { MongoClient } from 'mongodb';
import { closedPort, noticeSkippedStores, sleep, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { scaled } from './support/time.js';

noticeSkippedStores();

const pollIntervalMs = 200;
/** Long enough for a row that could be taken to have been taken. */
const settle = () => sleep(4 * pollIntervalMs);
const idOf = (data: EngineData) => ('job_id' in data ? data.job_id : data.execution_id);
const inAnHour = () => new Date(Date.now() + 3_600_000);

for (const { name, skip } of stores) {
  describe(`the dispatch engine on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let store: Store;
    let backend: EngineBackend;
    let engine: Engine;
    /** The id of every lease handed to the run function, in order. */
    const fired: string[] = [];
    /** What the run function does with the lease of a row, by its id; nothing by default (the row goes). */
    const plans = new Map<string, (lease: Lease, fire: number) => Promise<void>>();
    const fires = (id: string) => fired.filter((f) => f === id).length;
    /** The number of leases of each claim handed to the run function, in order. */
    const claims: number[] = [];

    /** The engine's rows whose data holds `key` = `id`, read straight from the database. */
    const rows = async (key: 'job_id' | 'execution_id', id: string): Promise<number> => {
      if (backend.kind === 'sql') {
        const r = await backend.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM dispatch WHERE ${key} = $1`, [id]);
        return r.rows[0].n;
      }
      return backend.db.collection('agenda_jobs').countDocuments({ [`data.${key}`]: id });
    };

    before(async () => {
      db = await testDatabase(name);
      ({ store, engine: backend } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' })));
      // The engine's rows live in the store's schema (on PostgreSQL and PGlite, the dispatch table).
      await store.migrate();
      engine = createEngine(backend, {
        pollIntervalMs,
        lockLifetimeMs: 10_000,
        maxConcurrency: 4,
        name: 'engine-test',
        onError: (err, where) => console.log(`# engine error (${where}): ${err.message}`),
      });
    });

    after(async () => {
      await engine?.close();
      await store?.close();
      await db?.drop();
    });

    it('its rows are indexed by job, by run and by due time, and init says how due rows are heard of', async () => {
      const mode = await engine.init();
      if (backend.kind === 'sql') {
        assert.equal(mode, 'LISTEN/NOTIFY');
        const r = await backend.sql.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'dispatch' AND schemaname = current_schema()`);
        const names = r.rows.map((i) => i.indexname);
        assert.ok(names.includes('dispatch_job_idx') && names.includes('dispatch_run_idx') && names.includes('dispatch_due_idx'), names.join(', '));
      } else {
        assert.equal(mode, backend.changeStreams ? 'change streams' : 'polling');
        const names = (await backend.db.collection('agenda_jobs').indexes()).map((i) => i.name);
        assert.ok(names.includes('agenda_jobs_service_job_idx') && names.includes('agenda_jobs_run_idx'), names.join(', '));
      }
      engine.define(['h'], (leases) => {
        claims.push(leases.length);
        return leases.map(async (lease) => {
          const id = idOf(lease.data);
          fired.push(id);
          await plans.get(id)?.(lease, fires(id));
        });
      });
      assert.equal(engine.isProcessing, false);
      await engine.startProcessing();
      assert.equal(engine.isProcessing, true);
      assert.equal(engine.lockLifetimeMs, 10_000);
    });

    it('a queued run fires once with its execution id, and its row goes', async () => {
      await engine.enqueueRun('h', 'run-1');
      await waitFor('the run fired', async () => fires('run-1') === 1);
      await waitFor('its row removed', async () => (await rows('execution_id', 'run-1')) === 0);
      await settle();
      assert.equal(fires('run-1'), 1);
    });

    it(
      'a run row whose time has microseconds fires once, and its row goes',
      { skip: name === 'mongodb' ? 'MongoDB dates hold milliseconds: no time of a row is finer than the one a run is given' : false },
      async () => {
        // Times the service writes are JavaScript Dates (milliseconds); a row written another way
        // (by hand, by SQL's now()) must still be recognised as the one claimed when its run ends.
        if (backend.kind !== 'sql') throw new Error('a SQL store was expected');
        await backend.sql.query(
          `INSERT INTO dispatch (handler, next_run_at, execution_id)
           VALUES ('h', now() - interval '1 second' + interval '123 microseconds', 'run-micro')`,
        );
        await waitFor('the run fired', async () => fires('run-micro') >= 1);
        await waitFor('its row removed', async () => (await rows('execution_id', 'run-micro')) === 0);
        await settle();
        assert.equal(fires('run-micro'), 1);
      },
    );

    it('a schedule row given a next run by its lease stays and fires again', async () => {
      plans.set('job-1', async (lease, fire) => {
        if (fire > 1) return;
        lease.nextRunAt = new Date(Date.now() + pollIntervalMs);
        await lease.touch();
      });
      await engine.scheduleJob('job-1', 'h', new Date(), false);
      await waitFor('two fires', async () => fires('job-1') === 2);
      await waitFor('its row removed after the second', async () => (await rows('job_id', 'job-1')) === 0);
      await settle();
      assert.equal(fires('job-1'), 2);
    });

    it("a paused job's row waits until the job is resumed", async () => {
      await engine.scheduleJob('job-2', 'h', new Date(), true);
      await settle();
      assert.equal(fires('job-2'), 0);
      assert.equal(await rows('job_id', 'job-2'), 1);
      await engine.scheduleJob('job-2', 'h', new Date(), false);
      await waitFor('the resumed row fired', async () => fires('job-2') === 1);
    });

    it('rows of a handler this process does not run are left alone', async () => {
      await engine.enqueueRun('elsewhere', 'run-2');
      await settle();
      assert.equal(fires('run-2'), 0);
      assert.equal(await rows('execution_id', 'run-2'), 1);
    });

    it('removeJob and removeRun take rows away before they are due', async () => {
      await engine.scheduleJob('job-3', 'h', inAnHour(), false);
      await engine.enqueueRun('h', 'run-3', inAnHour());
      assert.equal(await rows('job_id', 'job-3'), 1);
      assert.equal(await rows('execution_id', 'run-3'), 1);
      await engine.removeJob('job-3');
      await engine.removeRun('run-3');
      assert.equal(await rows('job_id', 'job-3'), 0);
      assert.equal(await rows('execution_id', 'run-3'), 0);
    });

    it('scheduleJobs writes one row per job, the last word winning; no next run means no row', async () => {
      await engine.scheduleJobs([
        { jobId: 'job-4', handler: 'h', nextRunAt: inAnHour(), disabled: false },
        { jobId: 'job-4', handler: 'h', nextRunAt: null, disabled: false },
        { jobId: 'job-5', handler: 'h', nextRunAt: null, disabled: false },
        { jobId: 'job-5', handler: 'h', nextRunAt: inAnHour(), disabled: false },
        { jobId: 'job-5', handler: 'h', nextRunAt: inAnHour(), disabled: true },
      ]);
      assert.equal(await rows('job_id', 'job-4'), 0);
      assert.equal(await rows('job_id', 'job-5'), 1);
      await engine.scheduleJob('job-5', 'h', null, false);
      assert.equal(await rows('job_id', 'job-5'), 0);
    });

    it('a row whose run fails before its handler returned stays and fires again after a poll interval', async () => {
      // The run wrapper rejects when the store failed (it could not start or record the run):
      // the row must not go, or a queued run stays queued and a periodic job stops firing.
      plans.set('run-6', async (_lease, fire) => {
        if (fire === 1) throw new Error('the store is unavailable');
      });
      plans.set('job-6', async (_lease, fire) => {
        if (fire === 1) throw new Error('the store is unavailable');
      });
      await engine.enqueueRun('h', 'run-6');
      await engine.scheduleJob('job-6', 'h', new Date(), false);
      await waitFor('both fired twice', async () => fires('run-6') === 2 && fires('job-6') === 2);
      await waitFor('their rows removed after the second', async () => (await rows('execution_id', 'run-6')) + (await rows('job_id', 'job-6')) === 0);
      await settle();
      assert.deepEqual([fires('run-6'), fires('job-6')], [2, 2]);
    });

    it('a one-shot row rescheduled while its run is in progress fires again at the new time', async () => {
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      let secondAt = 0;
      plans.set('job-7', async (lease, fire) => {
        if (fire === 1) {
          await finished;
          // A lock renewal after the reschedule must not undo it either.
          await lease.touch();
        } else secondAt = Date.now();
      });
      await engine.scheduleJob('job-7', 'h', new Date(), false);
      await waitFor('the first fire', async () => fires('job-7') === 1);
      const again = new Date(Date.now() + 5 * pollIntervalMs);
      await engine.scheduleJob('job-7', 'h', again, false);
      finish();
      await waitFor('the second fire', async () => fires('job-7') === 2);
      assert.ok(secondAt >= again.getTime(), `fired again ${again.getTime() - secondAt} ms before its new time`);
      await waitFor('its row removed after the second', async () => (await rows('job_id', 'job-7')) === 0);
      await settle();
      assert.equal(fires('job-7'), 2);
    });

    it('a lock renewal of a row claimed again since leaves the row to the new claim, at its time', async () => {
      // The first run's lock is taken for dead (its worker stalled past the lock lifetime) and
      // the row is claimed again; the first run's late heartbeat must not renew that claim's
      // lock nor move the row to the time the first run gave it.
      const gates = [0, 1, 2].map(() => {
        let open!: () => void;
        return { opened: new Promise<void>((resolve) => (open = resolve)), open };
      });
      let stale: Lease | undefined;
      plans.set('job-8', async (lease, fire) => {
        if (fire === 1) stale = lease;
        await gates[fire].opened;
      });
      // The first claim's lock, taken for dead; the engine's own renewal may bring it back
      // before the next claim, so it is expired until the row is claimed again (only while the
      // first claim holds it: a second claim's lock is never touched here).
      let first: unknown;
      const expire = async () => {
        const past = new Date(Date.now() - 3_600_000);
        if (backend.kind === 'sql') {
          first ??= (await backend.sql.query<{ claimed_at: Date }>(`SELECT claimed_at FROM dispatch WHERE job_id = 'job-8'`)).rows[0].claimed_at;
          await backend.sql.query(`UPDATE dispatch SET locked_at = $1 WHERE job_id = 'job-8' AND claimed_at = $2`, [past, first]);
        } else {
          const rows = backend.db.collection<{ claimToken?: string }>('agenda_jobs');
          first ??= (await rows.findOne({ 'data.job_id': 'job-8' }))?.claimToken;
          await rows.updateOne({ 'data.job_id': 'job-8', claimToken: first as string }, { $set: { lockedAt: past } });
        }
      };
      // The row's time and the claim holding it (the engine's own renewal of the second claim
      // may move its lock meanwhile, rightly).
      const held = async (): Promise<{ claim: string; nextRunAt: number }> => {
        if (backend.kind === 'sql') {
          const r = await backend.sql.query<{ claimed_at: Date; next_run_at: Date }>(`SELECT claimed_at, next_run_at FROM dispatch WHERE job_id = 'job-8'`);
          return { claim: r.rows[0].claimed_at.toISOString(), nextRunAt: r.rows[0].next_run_at.getTime() };
        }
        const row = await backend.db.collection<{ claimToken: string; nextRunAt: Date }>('agenda_jobs').findOne({ 'data.job_id': 'job-8' });
        return { claim: row!.claimToken, nextRunAt: row!.nextRunAt.getTime() };
      };
      await engine.scheduleJob('job-8', 'h', new Date(), false);
      await waitFor('the first fire', async () => fires('job-8') === 1);
      await waitFor('the row claimed again', async () => {
        if (fires('job-8') < 2) await expire();
        return fires('job-8') === 2;
      });
      const claimedAgain = await held();
      await sleep(20);
      try {
        stale!.nextRunAt = inAnHour();
        await stale!.touch();
        assert.deepEqual(await held(), claimedAgain);
      } finally {
        gates[2].open();
        gates[1].open();
      }
      await waitFor('its row removed after the second', async () => (await rows('job_id', 'job-8')) === 0);
      await settle();
      assert.equal(fires('job-8'), 2);
    });

    it('renews the locks of its runs under way, all in one write and the locks only, so a run outliving the lock lifetime is not started again', async () => {
      const lifetime = scaled(1200);
      const options = (name: string) => ({
        pollIntervalMs,
        lockLifetimeMs: lifetime,
        maxConcurrency: 3,
        name,
        onError: (err: Error, where: string) => console.log(`# engine error (${name}, ${where}): ${err.message}`),
      });
      const holder = createEngine(backend, options('engine-test-holder'));
      const rival = createEngine(backend, options('engine-test-rival'));
      const started: string[] = [];
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const runLong = (leases: Lease[]) =>
        leases.map(async (lease) => {
          started.push(idOf(lease.data));
          // As a fire sets its next run before the fire is written: the renewal must not store it.
          if ('job_id' in lease.data) lease.nextRunAt = inAnHour();
          await finished;
        });
      const nextRunOf = async (jobId: string) => {
        if (backend.kind === 'sql') {
          return (await backend.sql.query<{ at: Date }>(`SELECT next_run_at AS at FROM dispatch WHERE job_id = $1`, [jobId])).rows[0].at.getTime();
        }
        return (await backend.db.collection<{ nextRunAt: Date }>('agenda_jobs').findOne({ 'data.job_id': jobId }))!.nextRunAt.getTime();
      };
      // The renewals are counted on SQL, where both engines share the test's client.
      let renewals = 0;
      const sql = backend.kind === 'sql' ? (backend.sql as { query: typeof backend.sql.query }) : undefined;
      const query = sql?.query;
      if (sql && query) {
        sql.query = ((text: string, ...rest: unknown[]) => {
          if (/UPDATE dispatch a SET locked_at = \$1/.test(text)) renewals += 1;
          return (query as (...a: unknown[]) => unknown).call(sql, text, ...rest);
        }) as typeof query;
      }
      try {
        await holder.init();
        await rival.init();
        holder.define(['long'], runLong);
        rival.define(['long'], runLong);
        await holder.startProcessing();
        const runs = ['run-long-1', 'run-long-2'];
        const due = new Date();
        await engine.enqueueRuns(runs.map((executionId) => ({ handler: 'long', executionId, at: due })));
        await engine.scheduleJob('job-long', 'long', due, false);
        await waitFor('the three runs started', async () => started.length === 3);
        await rival.startProcessing();
        renewals = 0;
        const waited = Date.now();
        await sleep(4 * lifetime);
        const counted = renewals;
        const ticks = Math.ceil((Date.now() - waited) / renewEveryMs(lifetime)) + 1;
        assert.deepEqual(started.sort(), ['job-long', ...runs], 'no run started again while its lock was renewed');
        assert.equal(await nextRunOf('job-long'), due.getTime(), 'the schedule row keeps its time until its fire writes the next');
        if (sql) {
          assert.ok(counted >= 1, 'the locks were renewed');
          assert.ok(counted <= ticks, `${counted} renewals in ${ticks} ticks: one write per renewal for all three runs`);
        }
        finish();
        await waitFor('their rows removed', async () => (await Promise.all(runs.map((id) => rows('execution_id', id)))).every((n) => n === 0));
        assert.equal(started.length, 3);
      } finally {
        finish();
        if (sql && query) sql.query = query;
        await rival.close();
        await holder.close();
        await engine.removeJob('job-long');
      }
    });

    it('stopProcessing takes no new rows; startProcessing takes them again', async () => {
      await engine.stopProcessing();
      assert.equal(engine.isProcessing, false);
      await engine.enqueueRuns([
        { handler: 'h', executionId: 'run-4', at: new Date() },
        { handler: 'h', executionId: 'run-5', at: new Date() },
      ]);
      await settle();
      assert.equal(fires('run-4') + fires('run-5'), 0);
      await engine.startProcessing();
      await waitFor('both runs fired', async () => fires('run-4') === 1 && fires('run-5') === 1);
    });

    it('a claim hands over as many due rows as the free concurrency at once', async () => {
      await engine.stopProcessing();
      const ids = Array.from({ length: 10 }, (_, i) => `run-many-${i}`);
      await engine.enqueueRuns(ids.map((executionId) => ({ handler: 'h', executionId, at: new Date() })));
      claims.length = 0;
      await engine.startProcessing();
      await waitFor('every run fired', async () => ids.every((id) => fires(id) === 1));
      assert.equal(claims[0], 4, `the first claim takes the whole concurrency (claims: ${claims.join(', ')})`);
      await waitFor('their rows removed', async () => (await Promise.all(ids.map((id) => rows('execution_id', id)))).every((n) => n === 0));
      await settle();
      assert.deepEqual(
        ids.map((id) => fires(id)),
        ids.map(() => 1),
      );
    });

    it('two engines on one database start each due row once', async () => {
      const other = createEngine(backend, {
        pollIntervalMs,
        lockLifetimeMs: 10_000,
        maxConcurrency: 3,
        name: 'engine-test-other',
        onError: (err, where) => console.log(`# engine error (other, ${where}): ${err.message}`),
      });
      try {
        await other.init();
        other.define(['h'], (leases) =>
          leases.map(async (lease) => {
            fired.push(idOf(lease.data));
          }),
        );
        await other.startProcessing();
        const ids = Array.from({ length: 40 }, (_, i) => `run-both-${i}`);
        await engine.enqueueRuns(ids.map((executionId) => ({ handler: 'h', executionId, at: new Date() })));
        await waitFor('every run fired', async () => ids.every((id) => fires(id) >= 1));
        await waitFor('their rows removed', async () => (await Promise.all(ids.map((id) => rows('execution_id', id)))).every((n) => n === 0));
        await settle();
        assert.deepEqual(
          ids.filter((id) => fires(id) !== 1),
          [],
          'no row fired twice',
        );
      } finally {
        await other.close();
      }
    });
  });
}

describe("the dispatch engine's boot on a MongoDB server that cannot be reached", () => {
  // The real driver against 127.0.0.1 ports where no MongoDB listens: no server is needed.
  const options = (readyTimeoutMs: number) => ({
    pollIntervalMs,
    lockLifetimeMs: 10_000,
    maxConcurrency: 1,
    name: 'engine-test',
    onError: () => undefined,
    readyTimeoutMs,
  });
  let client: MongoClient | undefined;
  let silent: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  after(async () => {
    await client?.close(true);
    for (const s of sockets) s.destroy();
    silent?.close();
  });

  it('init fails with the connection error, not waiting for ever', async () => {
    const port = await closedPort();
    client = new MongoClient(`mongodb://127.0.0.1:${port}/engine_test`, { serverSelectionTimeoutMS: 300, directConnection: true });
    const engine = createEngine({ kind: 'mongo', db: client.db(), changeStreams: false }, options(scaled(20_000)));
    const started = Date.now();
    await assert.rejects(engine.init(), /the dispatch engine cannot connect to its database: /);
    assert.ok(Date.now() - started < scaled(20_000), 'failed before the timeout, on the error itself');
    await engine.close();
    await client.close(true);
    client = undefined;
  });

  it('init fails after readyTimeoutMs when the server accepts and never answers', async () => {
    silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    client = new MongoClient(`mongodb://127.0.0.1:${port}/engine_test`, { serverSelectionTimeoutMS: 600_000, connectTimeoutMS: 600_000, directConnection: true });
    const engine = createEngine({ kind: 'mongo', db: client.db(), changeStreams: false }, options(500));
    await assert.rejects(engine.init(), /did not answer within 500 ms/);
    await engine.close();
  });
});
