import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, sleep, stores, waitFor, type Running } from './helpers.js';
import { startScriptService, type ScriptService } from './support/script-service.js';

/**
 * A failed run is retried by the job that made it only: a job deleted while its run ran and
 * made again under the same id (another handler, retries of its own) does not run the old
 * run's kwargs, which may hold an admin's secrets, under its handler.
 */
noticeSkippedStores();
for (const { name, skip } of stores) {
  describe(`a retry after the job was made again on ${name}`, { skip }, () => {
    let svc: Running;
    let service: ScriptService;

    before(async () => {
      service = await startScriptService(name, { 'fail-late.sh': '#!/bin/sh\nsleep 1\nexit 1\n' });
      svc = service.svc;
    });

    after(() => service?.close());

    it('is not made by the new job', async () => {
      const api = '/api/v1';
      await svc.http.post(`${api}/jobs/run-script?job_id=zp&state=paused`).send({ script: 'fail-late.sh' }).expect(201);
      const id = (await svc.http.post(`${api}/jobs/zp/executions`).send({}).expect(202)).body.execution_ids[0] as string;
      await waitFor('the run to start', async () => (await svc.http.get(`${api}/executions/${id}`).expect(200)).body.status === 'running');
      await svc.http.delete(`${api}/jobs/zp`).expect(200);
      await svc.http.post(`${api}/jobs/echo?job_id=zp&state=paused&retries=1`).send({}).expect(201);
      await waitFor('the run to fail', async () => (await svc.http.get(`${api}/executions/${id}`).expect(200)).body.status === 'failed');
      await sleep(500);
      const runs = (await svc.http.get(`${api}/executions?job_id=zp&limit=10`).expect(200)).body.executions as Array<{ id: string; attempt: number; handler: string }>;
      assert.deepEqual(
        runs.map((r) => [r.id, r.attempt, r.handler]),
        [[id, 1, 'run-script']],
        'no retry under the new job',
      );
    });
  });
}
