import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecutionPatch, ExecutionStatus } from '../src/store/types.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

/**
 * A run's start (queued -> running) whose write lands but whose answer is lost (the connection
 * drops right after the commit): the run must still run here and end, not stay running with
 * no handler. The loss is made in the store's answer, after the database committed.
 */
noticeSkippedStores();
for (const { name, skip } of stores) {
  describe(`a start whose answer is lost on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('runs and ends the run', async () => {
      const { scheduler, store, engine } = svc.service;
      const transition = store.transitionExecutions.bind(store);
      const startRuns = engine.startRuns?.bind(engine);
      let lose = true;
      const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      store.transitionExecutions = async (from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>) => {
        const moved = await transition(from, moves);
        if (lose && from === 'queued' && moves.some((m) => m.patch.status === 'running')) {
          lose = false;
          throw lost();
        }
        return moved;
      };
      // Where the engine writes the whole start (SQL), its answer is the one lost.
      if (startRuns)
        engine.startRuns = async (ids, at, fence) => {
          const moved = await startRuns(ids, at, fence);
          if (lose) {
            lose = false;
            throw lost();
          }
          return moved;
        };
      try {
        await scheduler.postScheduleJob({ handler: 'echo', job_id: 'lost-answer', state: 'paused', kwargs: {} }, { source: 'api' });
        const [run] = (await scheduler.runNow('lost-answer', undefined, 1)).executions;
        const ended = await waitFor('the run to end', async () => {
          const e = await store.getExecution(run.id);
          return e && e.status !== 'queued' && e.status !== 'running' ? e : null;
        });
        assert.equal(ended.status, 'succeeded');
        assert.equal(lose, false, 'the answer of a start was lost');
      } finally {
        store.transitionExecutions = transition;
        if (startRuns) engine.startRuns = startRuns;
      }
    });
  });
}
