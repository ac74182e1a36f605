/**
 * What a target gets to refuse duplicates: every attempt of one fire or request carries the
 * same idempotency key and a fencing token larger than the attempt before it, as HTTP headers
 * (http-request), environment variables (run-script) and on the execution record.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Run {
  id: string;
  status: string;
  attempt: number;
  idempotency_key: string;
  fencing_token: number | null;
}

for (const { name, skip } of stores) {
  describe(`idempotency keys and fencing tokens for targets on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    let scripts: string;
    let server: http.Server;
    const seen: Array<{ key: string | undefined; token: string | undefined }> = [];

    before(async () => {
      scripts = await tempDir('scripts');
      // Prints what it was handed, then fails, so the job retries.
      await fs.writeFile(path.join(scripts, 'keyed.sh'), '#!/bin/sh\necho "key=$JOBS_IDEMPOTENCY_KEY token=$JOBS_FENCING_TOKEN"\nexit 1\n', { mode: 0o755 });
      process.env.JOBS_SCRIPTS_DIR = scripts;
      // Answers 500 to the first request and 200 to the next, keeping each request's headers.
      server = http.createServer((req, res) => {
        seen.push({ key: req.headers['idempotency-key'] as string | undefined, token: req.headers['x-jobs-fencing-token'] as string | undefined });
        res.statusCode = seen.length === 1 ? 500 : 200;
        res.end('ok');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      db = await testDatabase(name);
      svc = await startService(db);
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
      await new Promise((r) => server?.close(r));
      await fs.rm(scripts, { recursive: true, force: true });
    });

    async function attempts(jobId: string, n: number): Promise<Run[]> {
      return waitFor(
        `${n} finished attempts of ${jobId}`,
        async () => {
          const runs = (await svc.http.get(`${api}/jobs/${jobId}/executions`).expect(200)).body.executions as Run[];
          return runs.length === n && runs.every((r) => !['queued', 'running'].includes(r.status)) ? runs.sort((a, b) => a.attempt - b.attempt) : undefined;
        },
        30_000,
        100,
      );
    }

    it('a script sees the key and token in its environment; a retry keeps the key and gets a larger token', async () => {
      await svc.http.post(`${api}/jobs/run-script?job_id=keyed&state=paused&retries=2&retry_backoff=0`).send({ script: 'keyed.sh' }).expect(201);
      const first = (await svc.http.post(`${api}/jobs/keyed/executions`).expect(202)).body.execution_ids[0] as string;
      const runs = await attempts('keyed', 3);
      assert.deepEqual(
        runs.map((r) => [r.attempt, r.status]),
        [
          [1, 'failed'],
          [2, 'failed'],
          [3, 'failed'],
        ],
      );
      assert.equal(runs[0].id, first);
      for (const r of runs) {
        assert.equal(r.idempotency_key, first, `attempt ${r.attempt} keeps the first attempt's key`);
        assert.equal(typeof r.fencing_token, 'number');
        const output = (await svc.http.get(`${api}/executions/${r.id}/output`).expect(200)).body.lines as string[];
        assert.ok(
          output.some((l) => l.endsWith(`key=${first} token=${r.fencing_token}`)),
          `attempt ${r.attempt} printed its key and token: ${output.join(' | ')}`,
        );
      }
      assert.ok(runs[0].fencing_token! < runs[1].fencing_token! && runs[1].fencing_token! < runs[2].fencing_token!, JSON.stringify(runs.map((r) => r.fencing_token)));
    });

    it('an HTTP target gets the key and token as headers, over headers of the same name in kwargs', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      await svc.http
        .post(`${api}/jobs/http-request?job_id=hooked&state=paused&retries=1&retry_backoff=0`)
        .send({ url, expected_status: 200, headers: { 'idempotency-key': 'forged', 'X-Jobs-Fencing-Token': '999999999' } })
        .expect(201);
      const first = (await svc.http.post(`${api}/jobs/hooked/executions`).expect(202)).body.execution_ids[0] as string;
      const runs = await attempts('hooked', 2);
      assert.deepEqual(
        runs.map((r) => r.status),
        ['failed', 'succeeded'],
      );
      assert.deepEqual(
        seen,
        runs.map((r) => ({ key: first, token: String(r.fencing_token) })),
      );
      assert.ok(Number(seen[1].token) > Number(seen[0].token));
    });
  });
}
