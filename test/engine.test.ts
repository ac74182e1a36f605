/**
 * The Engine interface (src/engine/types.ts), tested directly on each store's engine: rows
 * written through its verbs fire as leases of the run function given to `define`, once each,
 * and go or stay as the lease says. The service's own tests cover the same engines under the
 * run wrapper; these pin down what the wrapper may rely on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { createEngine, type Engine, type EngineBackend, type EngineData, type Lease } from '../src/engine/index.js';
import { openStore } from '../src/service/backend.js';
import type { Store } from '../src/store/types.js';
import { noticeSkippedStores, sleep, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';

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

    /** The engine's rows whose data holds `key` = `id`, read straight from the database. */
    const rows = async (key: 'job_id' | 'execution_id', id: string): Promise<number> => {
      if (backend.kind === 'sql') {
        const r = await backend.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM agenda_jobs WHERE data->>'${key}' = $1`, [id]);
        return r.rows[0].n;
      }
      return backend.db.collection('agenda_jobs').countDocuments({ [`data.${key}`]: id });
    };

    before(async () => {
      db = await testDatabase(name);
      ({ store, engine: backend } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' })));
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

    it('init creates the indexes of its rows and says how due rows are heard of', async () => {
      const mode = await engine.init();
      if (backend.kind === 'sql') {
        assert.equal(mode, 'LISTEN/NOTIFY');
        const r = await backend.sql.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'agenda_jobs' AND schemaname = current_schema()`);
        const names = r.rows.map((i) => i.indexname);
        assert.ok(names.includes('agenda_jobs_service_job_idx') && names.includes('agenda_jobs_run_idx'), names.join(', '));
      } else {
        assert.equal(mode, backend.changeStreams ? 'change streams' : 'polling');
        const names = (await backend.db.collection('agenda_jobs').indexes()).map((i) => i.name);
        assert.ok(names.includes('agenda_jobs_service_job_idx') && names.includes('agenda_jobs_run_idx'), names.join(', '));
      }
      engine.define(['h'], (leases) =>
        leases.map(async (lease) => {
          const id = idOf(lease.data);
          fired.push(id);
          await plans.get(id)?.(lease, fires(id));
        }),
      );
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
  });
}
