/**
 * The client SDK against the real service listening on a real port: every route family
 * through the SDK, one error answer per family, and the error for a service that cannot be
 * reached.
 */
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, finalStatuses, operationRoutes, ProblemError, ServiceUnreachableError, WaitTimeoutError, type JobsClient } from '../src/client/index.js';
import { projectRoot } from '../src/config/config.js';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import { closedPort, noticeSkippedStores, scaled, startService, stores, testDatabase, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const wait = { intervalMs: 100, timeoutMs: scaled(15_000) };
const adminToken = 'sdk-admin-token-0123456789';
const readToken = 'sdk-read-token-0123456789';

/** The ProblemError a call rejects with; fails the test when it resolves or throws anything else. */
async function problem(call: Promise<unknown>): Promise<ProblemError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ProblemError, `expected a ProblemError, got ${(err as Error)?.stack ?? String(err)}`);
    return err;
  }
  assert.fail('expected the service to answer with an error');
}

for (const { name, skip } of stores) {
  describe(`client SDK on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let client: JobsClient;
    let baseUrl: string;
    /** Every request the client sent, as seen by the fetch it was given. */
    const sent: Request[] = [];
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_API_TOKENS: `ops:${adminToken}:admin,viewer:${readToken}:read` });
      const port = await svc.service.listen();
      baseUrl = `http://127.0.0.1:${port}/api/v1`;
      client = createClient({
        baseUrl,
        token: adminToken,
        fetch: (request) => {
          sent.push(request.clone());
          return fetch(request);
        },
      });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('sends the token as a bearer Authorization header with every request', async () => {
      sent.length = 0;
      await client.service.liveness();
      await client.jobs.list();
      assert.equal(sent.length, 2);
      for (const r of sent) assert.equal(r.headers.get('authorization'), `Bearer ${adminToken}`);
    });

    it('jobs: create, schedule, list, get, pause, resume, delete, and their errors', async () => {
      const { job } = await client.jobs.create({ job_id: 'sdk-echo', handler: 'echo', kwargs: { message: 'hi' }, periodically: '1 hour', misfire_grace_time: 60 });
      assert.equal(job.job_id, 'sdk-echo');
      assert.equal(job.periodically, '1 hour');
      assert.equal(job.misfire_grace_time, 60);
      assert.ok(job.next_run_time, 'a periodic job has its next run');

      const scheduled = await client.jobs.schedule(
        'http-request',
        { url: `${baseUrl}/liveness`, expected_status: 200 },
        { job_id: 'sdk-ping', cron: '0 3 * * *', timezone: 'Europe/Prague', state: 'paused' },
      );
      assert.equal(scheduled.job.handler, 'http-request');
      assert.equal(scheduled.job.cron, '0 3 * * *');
      assert.equal(scheduled.job.state, 'paused');

      const page = await client.jobs.list({ job_type: 'user', limit: 1 });
      assert.equal(page.jobs_count, 1);
      assert.ok(page.next_cursor);
      const rest = await client.jobs.list({ job_type: 'user', cursor: page.next_cursor! });
      const ids = [...page.jobs, ...rest.jobs].map((j) => ('job_id' in j ? j.job_id : null));
      assert.deepEqual(ids, ['sdk-echo', 'sdk-ping']);

      assert.deepEqual(await client.jobs.pause('sdk-echo'), { job_id: 'sdk-echo', state: 'paused' });
      assert.equal((await client.jobs.get('sdk-echo')).next_run_time, null);
      assert.deepEqual(await client.jobs.resume('sdk-echo'), { job_id: 'sdk-echo', state: 'running' });
      const detail = await client.jobs.get('sdk-echo');
      assert.equal(detail.state, 'running');
      assert.equal(detail.stats.total, 0);

      const missing = await problem(client.jobs.get('no-such-job'));
      assert.equal(missing.status, 404);
      assert.equal(missing.title, 'Job not found');
      assert.match(missing.detail, /no-such-job/);

      const taken = await problem(client.jobs.create({ job_id: 'sdk-echo', handler: 'echo' }));
      assert.equal(taken.status, 409);
      assert.deepEqual(
        taken.errors.map((e) => e.field),
        ['body.job_id'],
      );

      const invalid = await problem(client.jobs.create({ handler: 'http-request', kwargs: { url: 'ftp://example.org' }, periodically: '0 seconds' }));
      assert.equal(invalid.status, 400);
      assert.deepEqual(invalid.errors.map((e) => e.field).sort(), ['body.kwargs.url', 'body.periodically']);
      assert.equal(invalid.problem.status, 400);
      assert.equal(invalid.operationId, 'createJob');

      const unknownHandler = await problem(client.jobs.create({ handler: 'no-such-handler' }));
      assert.equal(unknownHandler.status, 400);
      assert.ok(
        unknownHandler.errors.some((e) => e.field === 'body.handler'),
        JSON.stringify(unknownHandler.problem),
      );

      const notAllowed = await problem(client.call('deleteAllJobs'));
      assert.equal(notAllowed.status, 405);

      assert.deepEqual(await client.jobs.delete('sdk-ping'), { removed: ['sdk-ping'] });
      assert.equal((await problem(client.jobs.delete('sdk-ping'))).status, 410);
    });

    it('runs: run once and wait, read the output, run a batch and wait, list, and their errors', async () => {
      await client.jobs.create({ job_id: 'sdk-run', handler: 'echo', kwargs: { message: 'from the job' } });
      // The one-shot job runs once at creation; wait for it so the counts below are the manual runs'.
      const first = await client.jobs.executions('sdk-run');
      if (first.executions[0]) await client.waitForExecution(first.executions[0].id, wait);

      const once = await client.runJob('sdk-run', 1, { message: 'run now' });
      assert.equal(once.batch_id, null);
      assert.equal(once.execution_ids.length, 1);
      const seen: string[] = [];
      const run = await client.waitForExecution(once.execution_ids[0], { ...wait, onUpdate: (e) => seen.push(e.status) });
      assert.equal(run.status, 'succeeded');
      assert.equal(seen.at(-1), 'succeeded');
      assert.deepEqual(run.kwargs, { message: 'run now' });
      const output = await client.executions.output(run.id);
      assert.equal(output.execution_id, run.id);
      assert.ok(
        output.lines.some((l) => l.includes('run now')),
        output.lines.join('\n'),
      );

      const accepted = await client.jobs.run('sdk-run', { times: 3 });
      assert.equal(accepted.execution_ids.length, 3);
      assert.ok(accepted.batch_id);
      const batch = await client.waitForBatch(accepted.batch_id!, wait);
      assert.equal(batch.total, 3);
      assert.equal(batch.counts.succeeded, 3);
      assert.ok(batch.finished_at);
      const inBatch = await client.executions.list({ batch_id: accepted.batch_id!, status: 'succeeded' });
      assert.deepEqual(inBatch.executions.map((e) => e.id).sort(), [...accepted.execution_ids].sort());
      const ofJob = await client.jobs.executions('sdk-run', { limit: 2 });
      assert.equal(ofJob.executions.length, 2);
      assert.ok(ofJob.next_cursor);
      for (const e of ofJob.executions) assert.ok(finalStatuses.includes(e.status));

      const ended = await problem(client.executions.cancel(run.id));
      assert.equal(ended.status, 409);
      assert.equal(ended.title, 'Run has ended');
      assert.equal((await problem(client.executions.get('no-such-run'))).status, 404);
      assert.equal((await problem(client.executions.output('no-such-run'))).status, 404);
      assert.equal((await problem(client.batches.get('no-such-batch'))).status, 404);
      const tooMany = await problem(client.runJob('sdk-run', 1001));
      assert.equal(tooMany.status, 400);
      assert.deepEqual(
        tooMany.errors.map((e) => e.field),
        ['body.times'],
      );
      const badFilter = await problem(client.executions.list({ since: 'yesterday' }));
      assert.equal(badFilter.status, 400);
      assert.deepEqual(
        badFilter.errors.map((e) => e.field),
        ['query.since'],
      );
    });

    it('service: status, pause (a run stays queued and can be cancelled), resume, stats, health, and a bad state', async () => {
      assert.deepEqual(await client.service.status(), { state: 'running' });
      assert.deepEqual(await client.service.pause(), { state: 'paused' });
      try {
        await client.jobs.create({ job_id: 'sdk-queued', handler: 'echo', state: 'paused' });
        const queued = await client.runJob('sdk-queued');
        const gaveUp = await client.waitForExecution(queued.execution_ids[0], { intervalMs: 100, timeoutMs: 500 }).then(
          () => assert.fail('a run started while the service was paused'),
          (err: unknown) => err,
        );
        assert.ok(gaveUp instanceof WaitTimeoutError);
        assert.equal(gaveUp.last.status, 'queued');
        const cancelled = await client.executions.cancel(queued.execution_ids[0]);
        assert.equal(cancelled.status, 'cancelled');
      } finally {
        assert.deepEqual(await client.service.resume(), { state: 'running' });
      }
      const stats = await client.service.stats();
      assert.equal(stats.workers.active, 1);
      assert.ok(stats.jobs >= 1);
      assert.ok((stats.executions.cancelled ?? 0) >= 1);
      assert.deepEqual(await client.service.liveness(), {});
      assert.deepEqual(await client.service.readiness(), {});
      const bad = await problem(client.service.setState('asleep' as never));
      assert.equal(bad.status, 400);
      assert.deepEqual(
        bad.errors.map((e) => e.field),
        ['query.state'],
      );
    });

    it('workers: list, get, block and unblock, and an unknown worker', async () => {
      const { workers } = await client.workers.list();
      const me = workers.find((w) => w.id === svc.service.worker!.id);
      assert.ok(me, 'this process is a worker');
      assert.equal(me.state, 'active');
      assert.equal((await client.workers.get(me.id)).pid, process.pid);
      assert.equal((await client.workers.setState(me.id, 'blocked')).state, 'blocked');
      assert.equal((await client.workers.setState(me.id, 'active')).state, 'active');
      const missing = await problem(client.workers.get('no-such-worker'));
      assert.equal(missing.status, 404);
      assert.equal(missing.title, 'Worker not found');
    });

    it('handlers and the document: the catalog, the OpenAPI document, and a schedule route refusing bad kwargs', async () => {
      const { handlers } = await client.handlers.list();
      const echo = handlers.find((h) => h.name === 'echo');
      assert.ok(echo);
      assert.equal(typeof echo.kwargs_schema, 'object');
      const doc = (await client.openapi()) as { paths: Record<string, unknown> };
      assert.ok(doc.paths['/jobs/{job_id}']);
      // Answers that are not JSON are read as the document says: text, or a Blob.
      const asYaml = await client.call('getOpenApiYaml');
      assert.equal(typeof asYaml, 'string');
      assert.deepEqual(yaml.load(asYaml as string), doc);
      assert.match((await client.call('getSwaggerUi')) as string, /<html/i);
      const asset = await client.call('getSwaggerUiAsset', { params: { path: { asset: 'swagger-ui.css' } } });
      assert.ok((asset as unknown) instanceof Blob && (asset as unknown as Blob).size > 1000);
      const noAsset = await problem(client.call('getSwaggerUiAsset', { params: { path: { asset: 'nothing-here.js' } } }));
      assert.equal(noAsset.status, 404);
      const bad = await problem(client.jobs.schedule('flow-scheduling', { flow_name: 'echo', flow_arguments: [] }));
      assert.equal(bad.status, 400);
      assert.deepEqual(
        bad.errors.map((e) => e.field),
        ['body.flow_arguments'],
      );
    });

    it('auth, audit and metrics: 401 without a token, 403 for a small role, the audit log, the Prometheus text', async () => {
      const anonymous = createClient({ baseUrl });
      const reader = createClient({ baseUrl, token: readToken });
      const refused = async (p: Promise<unknown>, status: number) => {
        const err = await p.then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof ProblemError, String(err));
        assert.equal(err.status, status);
        assert.equal(err.problem.status, status);
      };
      await refused(anonymous.jobs.list(), 401);
      assert.ok((await reader.jobs.list()).jobs, 'read may list');
      await refused(reader.jobs.create({ job_id: 'sdk-refused', handler: 'echo', kwargs: {} }), 403);
      await refused(reader.audit.list(), 403);
      assert.ok((await anonymous.service.liveness()) !== undefined, 'health stays open');

      await client.jobs.create({ job_id: 'sdk-audited', handler: 'echo', kwargs: {} });
      const log = await client.audit.list({ operation: 'createJob', limit: 50 });
      const entry = log.audit.find((e) => e.job_id === 'sdk-audited');
      assert.ok(entry, JSON.stringify(log));
      assert.equal(entry.token_name, 'ops');
      assert.equal(entry.status, 201);
      assert.ok(
        log.audit.some((e) => e.token_name === 'viewer' && e.status === 403),
        'the refused create is audited too',
      );

      const text = await anonymous.metrics();
      assert.match(text, /^jobs_http_requests_total\{operation="createJob",status="201"\} \d+$/m);
      assert.match(text, /^jobs_runs_finished_total\{handler="echo",status="succeeded"\} \d+$/m);
    });

    it('reaches every operation by its operationId, and the raw openapi-fetch client by path', async () => {
      assert.deepEqual(await client.call('getServiceState'), { state: 'running' });
      const { data, response } = await client.api.GET('/jobs/{job_id}', { params: { path: { job_id: 'sdk-echo' } } });
      assert.equal(response.status, 200);
      assert.equal(data?.handler, 'echo');
    });
  });
}

describe('client SDK: health and metrics behind tokens', { timeout: scaled(60_000) }, () => {
  let db: TestDatabase;
  let svc: Running;
  let baseUrl: string;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_API_TOKENS: `viewer:${readToken}:read`, JOBS_HEALTH_AUTH: 'true', JOBS_METRICS_AUTH: 'true' });
    baseUrl = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('answers 401 as a ProblemError without a token, and the health and metrics with one', async () => {
    const anonymous = createClient({ baseUrl });
    for (const p of [anonymous.service.liveness(), anonymous.service.readiness(), anonymous.metrics()]) {
      const err = await problem(p);
      assert.equal(err.status, 401);
      assert.match(err.detail ?? '', /needs a token/);
    }
    const reader = createClient({ baseUrl, token: readToken });
    assert.deepEqual(await reader.service.readiness(), {});
    assert.match(await reader.metrics(), /^# TYPE jobs_runs_queued gauge$/m);
  });
});

describe('client SDK without a service', () => {
  it('raises ServiceUnreachableError for a closed port', async () => {
    const port = await closedPort();
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1` });
    await assert.rejects(client.jobs.list(), (err: unknown) => {
      assert.ok(err instanceof ServiceUnreachableError, String(err));
      assert.equal(err.baseUrl, `http://127.0.0.1:${port}/api/v1`);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('raises ServiceUnreachableError when no answer comes within timeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const client = createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1`, timeoutMs: 300 });
      await assert.rejects(client.service.status(), (err: unknown) => {
        assert.ok(err instanceof ServiceUnreachableError, String(err));
        assert.match(err.message, /no answer within 300 ms/);
        return true;
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('refuses a baseUrl that is not an http(s) URL', () => {
    assert.throws(() => createClient({ baseUrl: 'localhost:34000' }), TypeError);
  });

  it('knows every operationId of openapi.yaml, and package.json exports it as jobs-service/client', () => {
    const { doc } = loadOpenApi();
    const fromDoc = operationsOf(doc).map((o) => [o.op.operationId, o.method, o.path]);
    assert.deepEqual(
      Object.entries(operationRoutes).map(([id, r]) => [id, r.method, r.path]),
      fromDoc,
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.exports['./client'], { types: './dist/src/client/index.d.ts', default: './dist/src/client/index.js' });
  });

  it('loads by its package name, jobs-service/client (the build in dist/, which npm ci makes)', async () => {
    const viaPackage = (await import('jobs-service/client')) as typeof import('../src/client/index.js');
    assert.equal(typeof viaPackage.createClient, 'function');
    const port = await closedPort();
    const err = await viaPackage
      .createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1` })
      .service.status()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(err instanceof viaPackage.ServiceUnreachableError, String(err));
  });
});
