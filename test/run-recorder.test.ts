/**
 * The run wrapper's record of runs that end together (one write for all of them): a run whose
 * end the database refuses fails alone, and the others are recorded as if it were not there.
 * On every store, with the database's own refusal (see refuseEndOf).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import type { EngineBackend } from '../src/engine/index.js';
import { blankExecution } from '../src/scheduling/run/blank-execution.js';
import type { RunDeps } from '../src/scheduling/run/deps.js';
import type { Ran } from '../src/scheduling/run/execute.js';
import { RunRecorder } from '../src/scheduling/run/record.js';
import { openStore } from '../src/service/backend.js';
import { RunEndsError, type ExecutionRecord, type Store } from '../src/store/types.js';
import { capturedLogger, noticeSkippedStores, stores, testDatabase, type TestDatabase } from './helpers.js';
import { refuseEndOf } from './store/run-ends.js';

noticeSkippedStores();

for (const { name, skip } of stores) {
  describe(`runs ending together on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let store: Store;
    let backend: EngineBackend;
    let undo: (() => Promise<void>) | undefined;
    const captured = capturedLogger('info');

    before(async () => {
      db = await testDatabase(name);
      ({ store, engine: backend } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' })));
      await store.bootLock(() => store.migrate());
    });
    after(async () => {
      await undo?.();
      await store?.close();
      await db?.drop();
    });

    it('a run whose end the database refuses fails alone; the others are recorded', async () => {
      const started = new Date(Date.now() - 1000);
      const runs: ExecutionRecord[] = ['rr-a', 'rr-b', 'rr-c'].map((id) => ({
        ...blankExecution(),
        id,
        job_id: null,
        handler: 'echo',
        trigger: 'manual',
        status: 'running',
        scheduled_at: started,
        started_at: started,
        created_at: started,
      }));
      await store.insertExecutions(runs);
      undo = await refuseEndOf(backend, 'rr-b');
      const deps: RunDeps = {
        store,
        log: captured.log,
        options: { maxOutputLines: 100, maxOutputBytes: 4096, cancelGraceMs: 1000, defaultTimeoutSeconds: 60, undispatchedAgeMs: 10_000, endRetryMaxMs: 100 },
        // Succeeded runs of no job queue nothing: the engine's rows are not touched.
        rows: {
          queue: () => Promise.reject(new Error('no retry was expected')),
          removeRun: () => Promise.reject(new Error('no removal was expected')),
        },
        active: new Map(),
        newExecution: () => assert.fail('no new run was expected'),
        worker: () => ({ id: null, token: null }),
        finishRuns: (ends, maxLines, maxBytes) => store.finishExecutions(ends, maxLines, maxBytes),
        stopped: () => false,
        fenced: () => assert.fail('no fenced write was expected'),
      };
      const recorder = new RunRecorder(deps);
      const ran = (id: string): Ran => ({ outcome: { error: null, abortedFirst: false }, signal: new AbortController().signal, output: [`${id} done`], started, began: true });
      // Called in one turn of the event loop, the three ends go to the store in one write.
      const results = await Promise.allSettled(runs.map((r) => recorder.record(r, ran(r.id))));
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual([(results[0] as PromiseFulfilledResult<string>).value, (results[2] as PromiseFulfilledResult<string>).value], ['succeeded', 'succeeded']);
      const refused = (results[1] as PromiseRejectedResult).reason;
      assert.ok(refused instanceof Error && !(refused instanceof RunEndsError), `the database's own error for rr-b, not ${String(refused)}`);
      for (const id of ['rr-a', 'rr-c']) {
        const e = await store.getExecution(id);
        assert.deepEqual([e?.status, e?.output], ['succeeded', [`${id} done`]], `${id} recorded`);
      }
      assert.equal((await store.getExecution('rr-b'))?.status, 'running', 'rr-b is still to be recorded');
      const logged = captured.records();
      assert.deepEqual(
        logged
          .filter((l) => l.msg === 'run finished')
          .map((l) => l.execution_id)
          .sort(),
        ['rr-a', 'rr-c'],
      );
      assert.deepEqual(
        logged.filter((l) => String(l.msg).includes('settled as lost')),
        [],
        'no run taken for settled by someone else',
      );
      await undo();
      undo = undefined;
      assert.equal(await recorder.record(runs[1], ran('rr-b')), 'succeeded', 'recorded once the database takes it');
      assert.equal((await store.getExecution('rr-b'))?.status, 'succeeded');
    });
  });
}
