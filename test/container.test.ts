/**
 * The container handler on a real engine: Podman's Docker-compatible service started by the
 * test on a socket of its own (test/support/podman.ts), driven through the service's API on
 * every store. When the engine cannot start here, every test says it was skipped and why.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { Response } from 'supertest';
import { engineOptions } from '../handlers/_container-engine.js';
import { main } from '../src/cli/program.js';
import { createClient } from '../src/client/index.js';
import { projectRoot } from '../src/config/config.js';
import { closedPort, noticeSkippedStores, scaled, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { waitForListening } from './support/listening.js';
import { startTestEngine, TEST_IMAGE, type TestEngine } from './support/podman.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { writer: secret(), admin: secret() };
const tokens = `writer:${T.writer}:write, admin:${T.admin}:admin`;

const started = await startTestEngine();
const engineSkip: string | false = 'skip' in started ? `SKIPPED container tests: ${started.skip}` : false;
if (engineSkip) console.log(`# ${engineSkip}`);
const engine = 'skip' in started ? undefined : (started as TestEngine);
after(async () => engine?.stop());

/** A stream that keeps what is written to it (jobsctl's output). */
function captured(): Writable & { text: string } {
  const stream = Object.assign(
    new Writable({
      write(chunk: string | Buffer, _encoding, done) {
        stream.text += chunk.toString();
        done();
      },
    }),
    { text: '' },
  );
  return stream;
}

function assertProblem(res: Response, status: number, field: string) {
  assert.equal(res.status, status, `${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  assert.ok(
    (res.body.errors ?? []).some((e: { field: string }) => e.field === field),
    `no error naming ${field}: ${res.text}`,
  );
}

/** The containers the engine holds for a run (by its label), stopped ones included. */
async function containersOf(executionId: string): Promise<string[]> {
  const options = engineOptions(engine!.address);
  assert.ok(!('reason' in options));
  const listed = await new Docker(options).listContainers({ all: true, filters: JSON.stringify({ label: [`jobs-service.execution=${executionId}`] }) });
  return listed.map((c) => c.Id);
}

/**
 * The handler reads its settings from the process environment at every call, as the service
 * it runs in does; startService's settings reach only the service's own configuration.
 */
function useSettings(env: Record<string, string>) {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

const secretsKey = randomBytes(32).toString('base64');

const settings = () => ({
  JOBS_API_TOKENS: tokens,
  JOBS_SECRETS_KEY: secretsKey,
  JOBS_CONTAINER_ENGINE: engine!.address,
  JOBS_CONTAINER_STOP_GRACE_SECONDS: '1',
  JOBS_CONTAINER_PULL_TIMEOUT_SECONDS: String(Math.ceil(scaled(60))),
  // A stopped run is recorded once its handler has stopped and removed the container.
  JOBS_CANCEL_GRACE_MS: String(scaled(20_000)),
});

for (const { name, skip } of stores) {
  describe(`container jobs on ${name}`, { skip: skip || engineSkip, timeout: scaled(300_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    const as = (who: keyof typeof T, method: 'get' | 'post' | 'put', url: string, body?: object) => {
      const req = svc.http[method](`${api}${url}`).set('Authorization', `Bearer ${T[who]}`);
      return body === undefined ? req : req.send(body);
    };
    const run = async (id: string) => (await as('admin', 'get', `/executions/${id}`).expect(200)).body;
    const output = async (id: string): Promise<string[]> => (await as('admin', 'get', `/executions/${id}/output`).expect(200)).body.lines;
    const until = (id: string, statuses: string[], ms = 60_000) =>
      waitFor(
        `run ${id} to end as ${statuses.join(' or ')}`,
        async () => {
          const r = await run(id);
          return statuses.includes(r.status) ? r : undefined;
        },
        ms,
      );
    const createJob = async (jobId: string, kwargs: object, extra: object = {}) => {
      const res = await as('admin', 'post', '/jobs', { handler: 'container', job_id: jobId, state: 'paused', kwargs, ...extra });
      assert.equal(res.status, 201, res.text);
      return res.body.job;
    };
    const runNow = async (jobId: string, body: object = {}) => (await as('admin', 'post', `/jobs/${jobId}/executions`, body).expect(202)).body;
    const imageReady = (jobId: string) =>
      waitFor(`the image of ${jobId} to be ready`, async () => {
        const job = (await as('admin', 'get', `/jobs/${jobId}`).expect(200)).body;
        assert.notEqual(job.image_status, 'error', job.image_error);
        return job.image_status === 'ready' ? job : undefined;
      });

    let restore: () => void;
    before(async () => {
      restore = useSettings(settings());
      db = await testDatabase(name);
      svc = await startService(db, settings());
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
      restore?.();
    });

    it('needs the admin role to create a container job, and says which field is wrong', async () => {
      const kwargs = { image: TEST_IMAGE, command: ['true'] };
      const denied = await as('writer', 'post', '/jobs', { handler: 'container', job_id: 'not-mine', kwargs });
      assert.equal(denied.status, 403, denied.text);
      assert.match(denied.text, /admin/);
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { command: ['true'] } }), 400, 'body.kwargs.image');
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { ...kwargs, network: 'host' } }), 400, 'body.kwargs.network');
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { ...kwargs, env: { JOBS_EXECUTION_ID: 'x' } } }), 400, 'body.kwargs.env.JOBS_EXECUTION_ID');
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { ...kwargs, env: { 'A=B': 'x' } } }), 400, 'body.kwargs.env.A=B');
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { ...kwargs, memory: 1024 } }), 400, 'body.kwargs.memory');
      assertProblem(await as('admin', 'post', '/jobs', { handler: 'container', kwargs: { ...kwargs, pull: 'sometimes' } }), 400, 'body.kwargs.pull');
      // Other handlers' jobs carry no image status.
      const echo = (await as('admin', 'post', '/jobs', { handler: 'echo', job_id: 'plain', state: 'paused', kwargs: {} }).expect(201)).body.job;
      assert.equal(echo.image_status, null);
      assert.equal(echo.image_error, null);
    });

    it('registers an image (importing, then ready) and runs it 5 times as a batch, each run with its output', async () => {
      const created = await createJob('five', {
        image: TEST_IMAGE,
        command: ['sh', '-c', 'echo "hello from $JOBS_EXECUTION_ID"; echo "to stderr" >&2'],
        memory: 64 * 1024 * 1024,
        cpus: 0.5,
        workdir: '/tmp',
        env: { GREETING: 'hi' },
      });
      assert.ok(['importing', 'ready'].includes(created.image_status), created.image_status);
      const ready = await imageReady('five');
      assert.equal(ready.image_error, null);

      const accepted = await runNow('five', { times: 5 });
      assert.equal(accepted.execution_ids.length, 5);
      const batch = await waitFor(
        'the batch to end',
        async () => {
          const b = (await as('admin', 'get', `/batches/${accepted.batch_id}`).expect(200)).body;
          return b.finished_at ? b : undefined;
        },
        120_000,
      );
      assert.deepEqual(batch.counts, { succeeded: 5 }, JSON.stringify(batch));
      assert.equal(batch.total, 5);
      assert.ok(batch.duration_ms >= 0);
      const listed = (await as('admin', 'get', `/executions?batch_id=${accepted.batch_id}&limit=10`).expect(200)).body.executions;
      assert.equal(listed.length, 5);
      for (const r of listed) {
        assert.equal(r.status, 'succeeded');
        assert.ok(r.started_at && r.finished_at && r.duration_ms >= 0, JSON.stringify(r));
        const lines = await output(r.id);
        assert.ok(
          lines.some((l) => l.includes(`hello from ${r.id}`)),
          `run ${r.id} output: ${JSON.stringify(lines)}`,
        );
        assert.ok(
          lines.some((l) => l.includes('to stderr')),
          `run ${r.id} output: ${JSON.stringify(lines)}`,
        );
        assert.deepEqual(await containersOf(r.id), [], 'the container was removed');
      }
    });

    it('shows the image status through the SDK and jobsctl', async () => {
      const port = await svc.service.listen();
      const baseUrl = `http://127.0.0.1:${port}/api/v1`;
      const client = createClient({ baseUrl, token: T.admin });
      const job = await client.jobs.get('five');
      assert.equal(job.image_status, 'ready');
      assert.equal(job.image_error, null);
      const stdout = captured();
      const stderr = captured();
      const code = await main(['--url', baseUrl, '--token', T.admin, 'jobs', 'get', 'five'], { stdout, stderr });
      assert.equal(code, 0, stderr.text);
      assert.match(stdout.text, /image:\s+ready/);
    });

    it('records a non-zero exit as failed, with its code (job made through POST /jobs/container)', async () => {
      const res = await as('admin', 'post', '/jobs/container?job_id=fails&state=paused', { image: TEST_IMAGE, command: ['sh', '-c', 'echo "about to fail" >&2; exit 3'] });
      assert.equal(res.status, 201, res.text);
      assert.ok(['importing', 'ready'].includes(res.body.job.image_status), res.text);
      const id = (await runNow('fails')).execution_ids[0];
      const r = await until(id, ['failed', 'succeeded']);
      assert.equal(r.status, 'failed');
      assert.match(r.error, /exited with code 3: about to fail/);
      assert.deepEqual(await containersOf(id), []);
    });

    it('passes a secret through env without showing it in the output', async () => {
      const value = `s3cr3t-${randomBytes(6).toString('hex')}`;
      await as('admin', 'put', '/secrets/container-token', { value }).expect((r) => assert.ok(r.status === 201 || r.status === 200, r.text));
      await createJob('with-secret', {
        image: TEST_IMAGE,
        command: ['sh', '-c', 'echo "token=$TOKEN"; test "$TOKEN" = "$EXPECTED"'],
        env: { TOKEN: { $secret: 'container-token' }, EXPECTED: value },
      });
      const id = (await runNow('with-secret')).execution_ids[0];
      const r = await until(id, ['succeeded', 'failed']);
      assert.equal(r.status, 'succeeded', r.error);
      const lines = await output(id);
      assert.ok(
        lines.some((l) => l.includes('token=[secret:container-token]')),
        JSON.stringify(lines),
      );
      assert.ok(!lines.some((l) => l.includes(`token=${value}`)));
    });

    it('keeps the output within JOBS_CONTAINER_OUTPUT_LINES: the head, a line on what was left out, the tail', async () => {
      const restoreLines = useSettings({ JOBS_CONTAINER_OUTPUT_LINES: '20' });
      try {
        await createJob('chatty', { image: TEST_IMAGE, command: ['seq', '1', '500'] });
        const id = (await runNow('chatty')).execution_ids[0];
        const r = await until(id, ['succeeded', 'failed']);
        assert.equal(r.status, 'succeeded', r.error);
        const lines = (await output(id)).map((l) => l.replace(/^\S+ \w+ /, ''));
        assert.deepEqual(lines.slice(0, 10), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
        assert.match(lines[10], /\[container\] output of .* beyond .* 20 lines \(JOBS_CONTAINER_OUTPUT_BYTES, JOBS_CONTAINER_OUTPUT_LINES\): 480 lines .* left out/);
        assert.deepEqual(lines.slice(11), ['491', '492', '493', '494', '495', '496', '497', '498', '499', '500']);
      } finally {
        restoreLines();
      }
    });

    it('stops and removes a container running `sleep 600` at the job timeout', async () => {
      await createJob('sleeper', { image: TEST_IMAGE, command: ['sleep', '600'] }, { timeout: 2 });
      const id = (await runNow('sleeper')).execution_ids[0];
      await waitFor('its container', async () => (await containersOf(id)).length === 1);
      const r = await until(id, ['timed_out', 'failed', 'succeeded']);
      assert.equal(r.status, 'timed_out', JSON.stringify(r));
      assert.ok(r.duration_ms < scaled(60_000), `ran ${r.duration_ms} ms, not 600 s`);
      await waitFor('the container to be removed', async () => (await containersOf(id)).length === 0);
    });

    it('streams output while the container runs, and a cancel stops and removes it', async () => {
      await createJob('cancelled', { image: TEST_IMAGE, command: ['sh', '-c', 'echo started; exec sleep 600'] });
      const id = (await runNow('cancelled')).execution_ids[0];
      await waitFor('the first line while the run is running', async () => (await run(id)).status === 'running' && (await output(id)).some((l) => l.includes('started')));
      await as('admin', 'post', `/executions/${id}/cancel`).expect((res) => assert.ok(res.status < 300, res.text));
      const r = await until(id, ['cancelled', 'failed', 'succeeded']);
      assert.equal(r.status, 'cancelled', JSON.stringify(r));
      await waitFor('the container to be removed', async () => (await containersOf(id)).length === 0);
    });

    it('marks an image that cannot be pulled as error quickly, and its runs fail with the reason', async () => {
      const port = await closedPort();
      const image = `127.0.0.1:${port}/nothing/here:1`;
      const t0 = Date.now();
      await createJob('unpullable', { image, command: ['true'] });
      const job = await waitFor(
        'the image error',
        async () => {
          const j = (await as('admin', 'get', '/jobs/unpullable').expect(200)).body;
          return j.image_status === 'error' ? j : undefined;
        },
        30_000,
      );
      assert.ok(Date.now() - t0 < scaled(30_000));
      assert.match(job.image_error, new RegExp(`127\\.0\\.0\\.1:${port}.*(refused|connect)`));
      const id = (await runNow('unpullable')).execution_ids[0];
      const r = await until(id, ['failed', 'succeeded']);
      assert.equal(r.status, 'failed');
      assert.match(r.error, /pulling .* failed/);
      // pull: never fails at once, naming the policy.
      await createJob('never', { image: 'localhost/not-imported:1', pull: 'never' });
      const never = await waitFor('the never-pull error', async () => {
        const j = (await as('admin', 'get', '/jobs/never').expect(200)).body;
        return j.image_status === 'error' ? j : undefined;
      });
      assert.match(never.image_error, /pull is never/);
    });

    it('lets JOBS_CONTAINER_ROLE lower the role container jobs need', async () => {
      const other = await testDatabase(name);
      const restoreRole = useSettings({ JOBS_CONTAINER_ROLE: 'write' });
      const lowered = await startService(other, { ...settings(), JOBS_CONTAINER_ROLE: 'write' }).finally(restoreRole);
      try {
        const res = await lowered.http
          .post(`${api}/jobs`)
          .set('Authorization', `Bearer ${T.writer}`)
          .send({ handler: 'container', job_id: 'by-writer', state: 'paused', kwargs: { image: TEST_IMAGE, command: ['true'] } });
        assert.equal(res.status, 201, res.text);
      } finally {
        await lowered.close();
        await other.drop();
      }
    });
  });

  describe(`containers left by a killed worker on ${name}`, { skip: skip || engineSkip, timeout: scaled(180_000) }, () => {
    it('are removed when a worker next starts', async () => {
      const db = await testDatabase(name);
      const headers = { Authorization: `Bearer ${T.admin}`, 'Content-Type': 'application/json' };
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
        cwd: projectRoot,
        // At level info: it logs the port it listens on.
        env: { ...process.env, ...db.env, ...settings(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', JOBS_DEFAULT_JOBS_DIR: await tempDir('defaults') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const log: string[] = [];
      child.stdout!.on('data', (b: Buffer) => log.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => log.push(b.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let svc: Running | undefined;
      let restore: (() => void) | undefined;
      try {
        const port = await waitForListening(child, log);
        const base = `http://127.0.0.1:${port}${api}`;
        await waitFor(`the service on port ${port}`, async () => (await fetch(`${base}/liveness`)).ok, 60_000, 200);
        const create = await fetch(`${base}/jobs`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ handler: 'container', job_id: 'orphan', state: 'paused', kwargs: { image: TEST_IMAGE, command: ['sleep', '600'] } }),
        });
        assert.equal(create.status, 201, await create.text());
        const accepted = (await (await fetch(`${base}/jobs/orphan/executions`, { method: 'POST', headers, body: '{}' })).json()) as { execution_ids: string[] };
        const id = accepted.execution_ids[0];
        await waitFor('the run to start its container', async () => (await containersOf(id)).length === 1, 60_000);
        child.kill('SIGKILL');
        await exited;
        assert.equal((await containersOf(id)).length, 1, 'the container outlived its worker');

        // The handler reads the engine's address when the boot's look for leftovers runs.
        restore = useSettings(settings());
        svc = await startService(db, settings());
        await waitFor('the leftover container to be removed', async () => (await containersOf(id)).length === 0, 30_000);
      } finally {
        restore?.();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
        await svc?.close();
        await db.drop();
      }
    });
  });
}
