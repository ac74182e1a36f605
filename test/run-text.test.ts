import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, stores, waitFor, type Running } from './helpers.js';
import { startScriptService, type ScriptService } from './support/script-service.js';

/**
 * Text the stores cannot keep as it is (NUL, which PostgreSQL's text and jsonb refuse) in a
 * run's output and error: the run still ends, its text kept with U+FFFD in place.
 */
noticeSkippedStores();
for (const { name, skip } of stores) {
  describe(`a run that prints NUL on ${name}`, { skip }, () => {
    let svc: Running;
    let service: ScriptService;

    before(async () => {
      service = await startScriptService(name, { 'nul.sh': "#!/bin/sh\nprintf 'a\\000b\\n'\nprintf 'c\\000d\\n' >&2\nexit 3\n" });
      svc = service.svc;
    });

    after(() => service?.close());

    it('ends, with its output and error kept and U+FFFD for each NUL', async () => {
      await svc.http.post('/api/v1/jobs/run-script?job_id=nul&state=paused').send({ script: 'nul.sh' }).expect(201);
      const id = (await svc.http.post('/api/v1/jobs/nul/executions').send({}).expect(202)).body.execution_ids[0] as string;
      const run = await waitFor('the run to end', async () => {
        const e = (await svc.http.get(`/api/v1/executions/${id}`).expect(200)).body;
        return e.status === 'queued' || e.status === 'running' ? null : e;
      });
      assert.equal(run.status, 'failed', JSON.stringify(run));
      const lines = (await svc.http.get(`/api/v1/executions/${id}/output`).expect(200)).body.lines as string[];
      assert.ok(
        lines.some((l) => l.endsWith('a\uFFFDb')),
        JSON.stringify(lines),
      );
      assert.ok(
        lines.some((l) => l.includes('c\uFFFDd')),
        JSON.stringify(lines),
      );
    });
  });
}
