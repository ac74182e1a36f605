import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { serviceUrl } from '../src/service/default-jobs.js';
import { capturedLogger, closedPort, noticeSkippedStores, startService, stores, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';

// What a new user meets first: the shipped default jobs, a paused service, a bad default-job
// file, and http-request's request timeout. Embedded store, real service.

const api = '/api/v1';
noticeSkippedStores();

async function runToEnd(http: Awaited<ReturnType<typeof startService>>['http'], id: string) {
  return waitFor(
    `run ${id} to end`,
    async () => {
      const run = (await http.get(`${api}/executions/${id}`).expect(200)).body;
      return ['queued', 'running'].includes(run.status) ? null : run;
    },
    30_000,
  );
}

describe('first run: default jobs and http-request', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase('embedded');
  });
  after(async () => {
    await db.drop();
  });

  it('${SERVICE_URL} is the service itself: a dialable host, its port, /api/v1', () => {
    assert.equal(serviceUrl('127.0.0.1', 35000), 'http://127.0.0.1:35000/api/v1');
    assert.equal(serviceUrl('0.0.0.0', 35000), 'http://127.0.0.1:35000/api/v1');
    assert.equal(serviceUrl('::', 35000), 'http://[::1]:35000/api/v1');
    assert.equal(serviceUrl('::1', 35000), 'http://[::1]:35000/api/v1');
    assert.equal(serviceUrl('localhost', 80), 'http://localhost:80/api/v1');
  });

  it('the shipped self-check calls the service on its own port, whatever PORT is, and succeeds', async () => {
    const svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_DEFAULT_JOBS_DIR: path.join(projectRoot, 'default-jobs') });
    try {
      const port = await svc.service.listen();
      assert.notEqual(port, 34000);
      const job = (await svc.http.get(`${api}/jobs/self-check`).expect(200)).body;
      assert.equal(job.kwargs.url, `http://127.0.0.1:${port}/api/v1/liveness`);
      const id = (await svc.http.post(`${api}/jobs/self-check/executions`).expect(202)).body.execution_ids[0];
      const run = await runToEnd(svc.http, id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      const output = (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body;
      assert.match(JSON.stringify(output), new RegExp(`GET http://127\\.0\\.0\\.1:${port}/api/v1/liveness -> 200`));
    } finally {
      await svc.close();
    }
  });

  it('an unknown ${NAME} in a default-job file stops the boot naming the file and field', async () => {
    const dir = await tempDir('vars');
    await fs.writeFile(path.join(dir, 'ping.yaml'), 'job_id: ping\nhandler: http-request\nkwargs:\n  url: ${SERVICE_ULR}/liveness\n');
    await assert.rejects(
      startService(db, { JOBS_DEFAULT_JOBS_DIR: dir }),
      /ping\.yaml: kwargs\.url: uses \$\{SERVICE_ULR\}, which is not a default-jobs variable \(known: SERVICE_URL\)/,
    );
  });

  it('http-request waits request_timeout seconds for an answer; timeout is still read as its old name', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    const svc = await startService(db);
    try {
      for (const [jobId, kwargs] of [
        ['slow-new-name', { url, request_timeout: 0.3 }],
        ['slow-old-name', { url, timeout: 0.3 }],
      ] as const) {
        await svc.http.post(`${api}/jobs/http-request?job_id=${jobId}&when=2099-01-01T00:00:00Z`).send(kwargs).expect(201);
        const id = (await svc.http.post(`${api}/jobs/${jobId}/executions`).expect(202)).body.execution_ids[0];
        const run = await runToEnd(svc.http, id);
        assert.equal(run.status, 'failed', jobId);
        assert.match(run.error, /no answer within 0\.3 s/, jobId);
      }
      const bad = await svc.http.post(`${api}/jobs/http-request`).send({ url, request_timeout: 0 });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].field, 'body.request_timeout');
    } finally {
      await svc.close();
      silent.closeAllConnections();
      silent.close();
    }
  });
});

for (const { name, skip } of stores) {
  describe(`first run: a paused service on ${name}`, { skip, timeout: 180_000 }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(async () => {
      await db?.drop();
    });

    it('a paused service says so at every boot, and since when and by whom', async () => {
      const token = 'ops-token-0123456789abcdef';
      const boot = async (env: Record<string, string>) => {
        const captured = capturedLogger('info');
        const svc = await startService(db, env, { log: captured.log });
        const warnings = captured.records().filter((r) => r.level === 40 && /paused/.test(String(r.msg)));
        return { svc, warnings };
      };
      const isoRecent = (v: unknown) => typeof v === 'string' && Date.now() - Date.parse(v) < 120_000;

      // Paused at boot by JOB_SERVICE_PAUSED.
      let { svc, warnings } = await boot({ JOB_SERVICE_PAUSED: 'true' });
      try {
        assert.equal(warnings.length, 1, 'one warning at boot');
        assert.match(String(warnings[0].msg), /no run will start .*state=running.*jobsctl service resume/);
        const state = (await svc.http.get(`${api}/service/state`).expect(200)).body;
        assert.equal(state.state, 'paused');
        assert.equal(state.paused_by, 'JOB_SERVICE_PAUSED');
        assert.ok(isoRecent(state.paused_at), state.paused_at);
        assert.equal(warnings[0].paused_by, 'JOB_SERVICE_PAUSED');
        await svc.http.get(`${api}/readiness`).expect(200);
        const stats = (await svc.http.get(`${api}/stats`).expect(200)).body;
        assert.equal(stats.paused_by, 'JOB_SERVICE_PAUSED');
        assert.equal(stats.paused_at, state.paused_at);
      } finally {
        await svc.close();
      }

      // The pause survives a restart, and the restart warns again.
      ({ svc, warnings } = await boot({}));
      try {
        assert.equal(warnings.length, 1, 'the next boot warns too');
        assert.equal((await svc.http.get(`${api}/service/state`).expect(200)).body.paused_by, 'JOB_SERVICE_PAUSED');
      } finally {
        await svc.close();
      }

      // Paused through the API with a token: its name; resumed: no pause fields, no warning.
      ({ svc } = await boot({ JOBS_API_TOKENS: `ops:${token}:admin` }));
      try {
        const auth = { Authorization: `Bearer ${token}` };
        await svc.http.put(`${api}/service/state?state=running`).set(auth).expect(200);
        assert.deepEqual((await svc.http.get(`${api}/service/state`).set(auth).expect(200)).body, { state: 'running' });
        const stats = (await svc.http.get(`${api}/stats`).set(auth).expect(200)).body;
        assert.ok(!('paused_at' in stats) && !('paused_by' in stats), JSON.stringify(stats));
        await svc.http.put(`${api}/service/state?state=paused`).set(auth).expect(200);
        const state = (await svc.http.get(`${api}/service/state`).set(auth).expect(200)).body;
        assert.equal(state.paused_by, 'ops');
        assert.ok(isoRecent(state.paused_at), state.paused_at);
        assert.equal((await svc.http.get(`${api}/stats`).set(auth).expect(200)).body.paused_by, 'ops');
        await svc.http.put(`${api}/service/state?state=running`).set(auth).expect(200);
      } finally {
        await svc.close();
      }
      ({ svc, warnings } = await boot({}));
      try {
        assert.equal(warnings.length, 0, 'a running service boots without the warning');
      } finally {
        await svc.close();
      }
    });
  });
}

describe('first run: a bad default-job file stops the boot before the store opens', { timeout: 120_000 }, () => {
  it('exits non-zero within seconds, printing each problem once, without a stack', async () => {
    const dir = await tempDir('bad-defaults');
    const data = path.join(await tempDir('untouched'), 'data');
    await fs.writeFile(path.join(dir, 'a.yaml'), 'job_id: bad-one\nhandler: nope\nperiodically: now and then\n');
    await fs.writeFile(path.join(dir, 'b.yaml'), 'job_id: good\nhandler: echo\n');
    await fs.writeFile(path.join(dir, 'c.yaml'), 'job_id: good\nhandler: echo\ncolour: red\n');
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
      cwd: projectRoot,
      env: { ...process.env, PORT: String(await closedPort()), JOBS_DATA_DIR: data, JOBS_DEFAULT_JOBS_DIR: dir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(code, 1, out);
    const expected = ["a.yaml: handler: no handler named 'nope'", "a.yaml: periodically: cannot read 'now and then'", 'c.yaml: colour: is not a job option'];
    for (const line of expected) assert.equal(out.split(line).length - 1, 1, `'${line}' once in:\n${out}`);
    assert.doesNotMatch(out, /^\s+at /m, 'no stack');
    assert.doesNotMatch(out, /b\.yaml/, 'a good file is not mentioned');
    await assert.rejects(fs.stat(data), { code: 'ENOENT' }, 'the store was never opened');
    // tsx compiles the sources first; the old boot needed 12 s and more on the embedded store.
    assert.ok(seconds < 15, `took ${seconds} s`);
  });
});
