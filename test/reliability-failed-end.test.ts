/**
 * A worker killed (kill -9) right after a failed run's end is written, before its failure
 * record and its retry: the sweep of another process writes both, once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, startService, stores, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { workerCrashingAt } from './support/crashing-worker.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores) {
  describe(`a failed run's end cut off from its failure record and retry by kill -9 (${name})`, { skip }, () => {
    let db: TestDatabase;
    let scripts: string;
    before(async () => {
      db = await testDatabase(name);
      scripts = await tempDir('scripts');
      await fs.writeFile(path.join(scripts, 'fail.sh'), '#!/bin/sh\necho "failing"\nexit 3\n', { mode: 0o755 });
      // The script handler reads its folder from the process's environment.
      process.env.JOBS_SCRIPTS_DIR = scripts;
    });
    after(async () => {
      await db.drop();
      await fs.rm(scripts, { recursive: true, force: true });
    });

    it('has its failure record and its one retry written by the sweep of another process', async () => {
      const env = { JOBS_SCRIPTS_DIR: scripts };
      // An API-only process makes the job and queues one run; a worker takes the run, writes
      // its failed end and kills itself before anything that follows it.
      const apiOnly = await startService(db, { ...env, JOBS_WORKER: 'false' });
      await apiOnly.http
        .post(`${api}/jobs`)
        .send({ handler: 'run-script', job_id: 'flaky', kwargs: { script: 'fail.sh' }, retries: 1, retry_backoff: 0, when: '2099-01-01T00:00:00Z' })
        .expect((r) => assert.equal(r.status, 201, JSON.stringify(r.body)));
      const first = (await apiOnly.http.post(`${api}/jobs/flaky/executions`).expect(202)).body.execution_ids[0] as string;
      await apiOnly.close();

      const crashed = await workerCrashingAt(db, 'failed-end', env);
      assert.equal(crashed.signal, 'SIGKILL', `the worker killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      const s = await startService(db, { ...env, JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)), JOBS_CHAIN_SWEEP_MS: '200' });
      try {
        const { store } = s.service;
        const ended = (await store.getExecution(first))!;
        assert.equal(ended.status, 'failed', 'the end was written before the kill');
        assert.equal((await store.listFailures(null, 10)).items.length, 0, 'the kill came before the failure record');

        // The retry (attempt 2) runs and fails too; with retries 1 nothing follows it.
        const runs = await waitFor(
          'the retry to end',
          async () => {
            const r = (await store.listExecutions({ job_id: 'flaky' }, null, 10)).items;
            return r.some((e) => e.attempt === 2 && e.status === 'failed') ? r : undefined;
          },
          30_000,
          100,
        );
        // Sweeps go on meanwhile: nothing is written twice.
        await sleep(scaled(1500));
        const all = (await store.listExecutions({ job_id: 'flaky' }, null, 10)).items;
        assert.equal(all.length, 2, `one run and one retry: ${JSON.stringify(runs.map((r) => [r.id, r.attempt, r.status]))}`);
        const retry = all.find((e) => e.attempt === 2)!;
        assert.notEqual(retry.id, first);
        const failures = (await store.listFailures(null, 10)).items;
        assert.deepEqual(failures.map((f) => f.execution_id).sort(), [first, retry.id].sort(), 'one failure record per failed run');
        assert.match(failures.find((f) => f.execution_id === first)!.error, /exit/);
        assert.equal((await store.getExecution(first))!.chains_pending, false, 'the sweep cleared the flag');
        assert.equal((await store.getExecution(retry.id))!.chains_pending, false);
        assert.equal((await store.getJob('flaky'))!.last_status, 'failed');
      } finally {
        await s.close();
      }
    });
  });
}
