/**
 * What the run wrapper itself writes about a run, in one process on a real store: the cancel
 * request time of a running run cancelled here, the log level of a failed run, and the
 * timestamps of the lines it adds to a run's output.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { capturedLogger, closedPort, noticeSkippedStores, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
/** The lines a handler logs: `<ISO time> <level> <message>`. */
const stamped = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (info|warn|error) /;

interface Run {
  id: string;
  status: string;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested_at: string | null;
}

for (const { name, skip } of stores) {
  describe(`the run wrapper's own records on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    let scripts: string;
    const captured = capturedLogger('info');
    before(async () => {
      scripts = await tempDir('scripts');
      await fs.writeFile(path.join(scripts, 'sleep.sh'), '#!/bin/sh\necho "sleeping $1"\nsleep "$1"\necho "woke up"\n', { mode: 0o755 });
      process.env.JOBS_SCRIPTS_DIR = scripts;
      db = await testDatabase(name);
      svc = await startService(db, {}, { log: captured.log });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
      await fs.rm(scripts, { recursive: true, force: true });
    });

    const run = async (id: string): Promise<Run> => (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
    const output = async (id: string): Promise<string[]> => (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body.lines;
    // Long enough for a loaded machine: the cancel grace, then the run's end written.
    const until = (id: string, status: string) =>
      waitFor(
        `run ${id} to be ${status}`,
        async () => {
          const r = await run(id);
          return r.status === status ? r : undefined;
        },
        svc.config.cancelGraceMs + 20_000,
      );

    it('a running run cancelled in this process records when the cancel was asked for', async () => {
      await svc.http
        .post(`${api}/jobs/run-script?job_id=runner-sleeper&state=paused`)
        .send({ script: 'sleep.sh', args: ['30'] })
        .expect(201);
      const id = (await svc.http.post(`${api}/jobs/runner-sleeper/executions`).expect(202)).body.execution_ids[0];
      await until(id, 'running');
      const asked = Date.now();
      const res = await svc.http.post(`${api}/executions/${id}/cancel`).expect(202);
      assert.equal(res.body.status, 'running');
      assert.ok(res.body.cancel_requested_at, 'the answer shows the request');
      const done = await until(id, 'cancelled');
      assert.ok(done.cancel_requested_at, 'the record keeps the request time');
      const at = Date.parse(done.cancel_requested_at);
      assert.ok(at >= asked - 1000 && at <= Date.parse(done.finished_at!), `${done.cancel_requested_at} within [${new Date(asked).toISOString()}, ${done.finished_at}]`);
    });

    it("the lines the wrapper adds to a run's output carry a time like the handler's lines", async () => {
      const id = (await svc.http.post(`${api}/jobs/runner-sleeper/executions`).expect(202)).body.execution_ids[0];
      await until(id, 'running');
      await svc.http.post(`${api}/executions/${id}/cancel`).expect(202);
      await until(id, 'cancelled');
      const lines = await output(id);
      assert.ok(lines.length >= 2, lines.join('\n'));
      for (const line of lines) assert.match(line, stamped);
      assert.match(lines.at(-1)!, /^\S+ warn \[cancelled\] cancelled on request$/);
    });

    it('a failed run is logged at warn with its error, and its [error] line has a time', async () => {
      const port = await closedPort();
      await svc.http
        .post(`${api}/jobs/http-request?job_id=runner-fails&state=paused`)
        .send({ url: `http://127.0.0.1:${port}/`, timeout: 2 })
        .expect(201);
      const id = (await svc.http.post(`${api}/jobs/runner-fails/executions`).expect(202)).body.execution_ids[0];
      const failed = await until(id, 'failed');
      const lines = await output(id);
      for (const line of lines) assert.match(line, stamped);
      assert.equal(lines.at(-1), `${lines.at(-1)!.split(' ')[0]} error [error] ${failed.error}`);

      const logged = await waitFor('the run finished line', async () => captured.records().find((r) => r.msg === 'run finished' && r.execution_id === id));
      assert.equal(logged.level, 40, 'warn');
      assert.equal(logged.status, 'failed');
      assert.equal(logged.error, failed.error);
      assert.match(String(logged.error), /ECONNREFUSED|fetch failed|connect/i);
      const err = logged.err as { message?: string; stack?: string } | undefined;
      assert.equal(err?.message, failed.error, 'the error itself, with its stack');
      assert.match(String(err?.stack), /Error/);
      const cancelled = captured.records().find((r) => r.msg === 'run finished' && r.status === 'cancelled');
      assert.equal(cancelled?.level, 30, 'a run that did not fail stays at info');
    });
  });
}
