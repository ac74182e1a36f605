import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

for (const { name, skip } of stores) {
  describe(`smoke on ${name}`, { skip }, () => {
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
    it('runs a flow job and records parent and child runs', async () => {
      const res = await svc.http
        .post('/api/v1/jobs/flow-scheduling?state=running')
        .send({ flow_name: 'echo', flow_arguments: [{ a: 1 }, { a: 2 }] })
        .expect(201);
      const jobId = res.body.job.job_id as string;
      const runs = await waitFor('three finished runs', async () => {
        const r = await svc.http.get(`/api/v1/executions?job_id=${jobId}`).expect(200);
        const done = r.body.executions.filter((e: { status: string }) => e.status === 'succeeded');
        return done.length === 3 ? r.body.executions : undefined;
      });
      assert.equal(runs.filter((e: { trigger: string }) => e.trigger === 'flow').length, 2);
    });
  });
}
