/**
 * Roles that hold, on the real service with tokens: a run may override only the kwargs its
 * handler declares (never where a job's credentials go), each handler's required role holds
 * on every path (create, change, run, as a flow child), and the override given is audited.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { capturedLogger, noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { reader: secret(), writer: secret(), admin: secret() };
const tokenList = `reader:${T.reader}:read, writer:${T.writer}:write, admin:${T.admin}:admin`;
type Who = keyof typeof T;

function assertProblem(res: Response, status: number, field?: string | RegExp) {
  assert.equal(res.status, status, `${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  if (typeof field === 'string')
    assert.ok(
      (res.body.errors ?? []).some((e: { field: string }) => e.field === field),
      `no error naming ${field}: ${res.text}`,
    );
  else if (field) assert.match(res.body.detail, field);
}

for (const { name, skip } of stores) {
  describe(`handler roles and run-time overrides on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let port: number;
    let listener: http.Server;
    const hits: Array<{ method: string; url: string; authorization: string | undefined }> = [];

    const send = (who: Who, method: 'get' | 'post' | 'put' | 'delete', url: string, body?: unknown) => {
      const req = svc.http[method](`${api}${url}`).set('Authorization', `Bearer ${T[who]}`);
      return body === undefined ? req : req.send(body as object);
    };

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_API_TOKENS: tokenList });
      port = await svc.service.listen();
      listener = http.createServer((req, res) => {
        hits.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
        res.end('ok');
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      await svc?.close();
      await new Promise((resolve) => listener?.close(resolve));
      await db?.drop();
    });

    it('a write token cannot re-point an admin job holding the admin token at the service', async () => {
      const target = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/hook`;
      await send('admin', 'post', '/jobs/http-request?job_id=admin-hook&when=2099-01-01T00:00:00Z', {
        url: target,
        method: 'PUT',
        headers: { Authorization: `Bearer ${T.admin}` },
        expected_status: 200,
      }).expect(201);

      // The attack: the stored headers go wherever the override's url says.
      const attack = { kwargs: { url: `http://127.0.0.1:${port}${api}/service/state?state=paused` } };
      assertProblem(await send('writer', 'post', '/jobs/admin-hook/executions', attack), 400, 'body.kwargs.url');
      for (const field of ['headers', 'method', 'body']) {
        assertProblem(await send('writer', 'post', '/jobs/admin-hook/executions', { kwargs: { [field]: field === 'headers' ? {} : 'PUT' } }), 400, `body.kwargs.${field}`);
      }
      // Nothing was queued, and after a while the service still runs.
      await sleep(scaled(500));
      assert.deepEqual((await send('reader', 'get', '/jobs/admin-hook/executions').expect(200)).body.executions, []);
      assert.equal((await send('reader', 'get', '/service/state').expect(200)).body.state, 'running');

      // An override the handler allows works, and the audit keeps it, the refused ones too.
      const ok = await send('writer', 'post', '/jobs/admin-hook/executions', { kwargs: { request_timeout: 5 } }).expect(202);
      const runId = ok.body.execution_ids[0];
      const run = await waitFor('the allowed run', async () => {
        const r = (await send('reader', 'get', `/executions/${runId}`).expect(200)).body;
        return ['succeeded', 'failed'].includes(r.status) && r;
      });
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      assert.equal(run.kwargs.request_timeout, 5);
      assert.equal(run.kwargs.url, target);
      assert.ok(hits.some((h) => h.url === '/hook' && h.method === 'PUT'));
      const audit = (await send('admin', 'get', '/audit?operation=runJob&token=writer&limit=100').expect(200)).body.audit as Array<{
        status: number;
        overrides: Record<string, unknown> | null;
        job_id: string;
      }>;
      const accepted = audit.find((a) => a.status === 202 && a.job_id === 'admin-hook');
      assert.deepEqual(accepted?.overrides, { request_timeout: 5 });
      const refused = audit.find((a) => a.status === 400 && a.overrides && 'url' in a.overrides);
      assert.equal(refused?.overrides?.url, attack.kwargs.url);
      assert.equal(refused?.job_id, 'admin-hook');
    });

    it('echo lets a run override any field; run-script none', async () => {
      await send('writer', 'post', '/jobs/echo?job_id=free-echo&when=2099-01-01T00:00:00Z', { message: 'stored' }).expect(201);
      await send('writer', 'post', '/jobs/free-echo/executions', { kwargs: { message: 'given', other: 1 } }).expect(202);
      // The audit keeps 50 overrides and counts the rest; a large value is kept as its size.
      const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
      await send('writer', 'post', '/jobs/free-echo/executions', { kwargs: { big: 'x'.repeat(5000), ...many } }).expect(202);
      const [last] = (await send('admin', 'get', '/audit?operation=runJob&limit=1').expect(200)).body.audit;
      assert.equal(Object.keys(last.overrides).length, 51);
      assert.equal(last.overrides.k0, 0);
      assert.equal(last.overrides.big, '(5002 characters of JSON, not kept)');
      assert.equal(last.overrides['(more)'], '11 more overrides, not kept');
      await send('admin', 'post', '/jobs/run-script?job_id=stored-script&when=2099-01-01T00:00:00Z', { script: 'hello.sh', args: ['a'] }).expect(201);
      assertProblem(await send('admin', 'post', '/jobs/stored-script/executions', { kwargs: { args: ['b'] } }), 400, 'body.kwargs.args');
      assertProblem(await send('admin', 'post', '/jobs/stored-script/executions', { kwargs: { script: 'other.sh' } }), 400, 'body.kwargs.script');
    });

    it('cleanup-executions needs admin: to create, as a flow child, to run, to change', async () => {
      const create = await send('writer', 'post', '/jobs', { handler: 'cleanup-executions', job_id: 'wipe', kwargs: { older_than: '1 second' } });
      assertProblem(create, 403, /cleanup-executions.*role admin/);
      assertProblem(await send('writer', 'post', '/jobs/cleanup-executions?job_id=wipe2', { older_than: '1 second' }), 403, /role admin/);
      // As the child of a flow, and of a flow of a flow.
      assertProblem(
        await send('writer', 'post', '/jobs/flow-scheduling?job_id=wipe-flow', { flow_name: 'cleanup-executions', flow_arguments: [{ older_than: '1 second' }] }),
        403,
        /cleanup-executions' \(started by flow-scheduling\) need a token of role admin or above; token role write/,
      );
      assertProblem(
        await send('writer', 'post', '/jobs/selective-flow-scheduling?job_id=wipe-sflow', {
          flow_name: 'cleanup-executions',
          task_names: ['failures'],
          flow_arguments: [{ older_than: '1 second' }],
        }),
        403,
        /role admin/,
      );
      assertProblem(
        await send('writer', 'post', '/jobs', {
          handler: 'flow-scheduling',
          job_id: 'wipe-nested',
          kwargs: {
            flow_name: 'flow-scheduling',
            flow_arguments: [
              { flow_name: 'echo', flow_arguments: [{}] },
              { flow_name: 'cleanup-executions', flow_arguments: [{}] },
            ],
          },
        }),
        403,
        /cleanup-executions.*role admin/,
      );
      for (const id of ['wipe', 'wipe2', 'wipe-flow', 'wipe-sflow', 'wipe-nested']) assertProblem(await send('reader', 'get', `/jobs/${id}`), 404);

      // Admin may; then a write token can neither run, pause nor delete the job, nor a flow of it.
      await send('admin', 'post', '/jobs', { handler: 'cleanup-executions', job_id: 'wipe', kwargs: { older_than: '90 days' }, state: 'paused' }).expect(201);
      await send('admin', 'post', '/jobs/flow-scheduling?job_id=wipe-flow&state=paused', { flow_name: 'cleanup-executions', flow_arguments: [{}] }).expect(201);
      for (const id of ['wipe', 'wipe-flow']) {
        assertProblem(await send('writer', 'post', `/jobs/${id}/executions`, {}), 403, /role admin/);
        assertProblem(await send('writer', 'put', `/jobs/${id}?state=running`), 403, /role admin/);
        assertProblem(await send('writer', 'delete', `/jobs/${id}`), 403, /role admin/);
      }
      // The flow's children: a write token overriding flow_arguments still needs the children's role.
      assertProblem(await send('writer', 'post', `/jobs/wipe-flow/executions`, { kwargs: { flow_arguments: [{ older_than: '1 second' }] } }), 403);
      assert.equal((await send('reader', 'get', '/jobs/wipe').expect(200)).body.state, 'paused');
      assert.deepEqual((await send('reader', 'get', '/executions?handler=cleanup-executions').expect(200)).body.executions, []);

      // Admin runs it, with its allowed override; a write token cannot cancel that run; admin deletes the job.
      const wipeRun = (await send('admin', 'post', '/jobs/wipe/executions', { kwargs: { older_than: '3650 days' } }).expect(202)).body.execution_ids[0];
      assertProblem(await send('writer', 'post', `/executions/${wipeRun}/cancel`), 403, /role admin/);
      await send('admin', 'delete', '/jobs/wipe').expect(200);
      await send('admin', 'delete', '/jobs/wipe-flow').expect(200);
      // A write token still creates, runs, pauses and deletes jobs of write handlers, flows of them too.
      await send('writer', 'post', '/jobs/flow-scheduling?job_id=echo-flow&state=paused', { flow_name: 'echo', flow_arguments: [{}] }).expect(201);
      await send('writer', 'post', '/jobs/echo-flow/executions', { kwargs: { flow_arguments: [{ n: 1 }, { n: 2 }] } }).expect(202);
      await send('writer', 'put', '/jobs/echo-flow?state=running').expect(200);
      await send('writer', 'delete', '/jobs/echo-flow').expect(200);
      // A flow of flows: the overrides' children are checked too.
      await send('writer', 'post', '/jobs/flow-scheduling?job_id=flow-of-flows&state=paused', {
        flow_name: 'flow-scheduling',
        flow_arguments: [{ flow_name: 'echo', flow_arguments: [{}] }],
      }).expect(201);
      assertProblem(
        await send('writer', 'post', '/jobs/flow-of-flows/executions', { kwargs: { flow_arguments: [{ flow_name: 'cleanup-executions', flow_arguments: [{}] }] } }),
        403,
        /cleanup-executions' \(started by flow-scheduling\)/,
      );
      await send('writer', 'post', '/jobs/flow-of-flows/executions', { kwargs: { flow_arguments: [{ flow_name: 'echo', flow_arguments: [{ n: 3 }] }] } }).expect(202);
    });

    it('the catalog shows each handler role and overridable kwargs', async () => {
      const handlers = (await send('reader', 'get', '/handlers').expect(200)).body.handlers as Array<{ name: string; kwargs_schema: Record<string, unknown> }>;
      const of = (n: string) => handlers.find((h) => h.name === n)!.kwargs_schema;
      assert.equal(of('cleanup-executions')['x-role'], 'admin');
      assert.deepEqual(of('http-request')['x-run-overridable'], ['expected_status', 'request_timeout', 'timeout']);
    });
  });
}

/** A raw HTTP/1.1 request with exactly the Host given (or none), as a rebinding page's browser would send it. */
function rawRequest(port: number, method: string, path: string, host: string | null): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, setHost: false, headers: host === null ? {} : { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Host rule without tokens (DNS rebinding)', { timeout: scaled(60_000) }, () => {
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { JOBS_ALLOWED_HOSTS: 'jobs.internal' });
    port = await svc.service.listen();
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('refuses a foreign Host with 403 naming it, before anything runs', async () => {
    for (const [method, path] of [
      ['PUT', `${api}/service/state?state=paused`],
      ['GET', `${api}/jobs`],
      ['GET', `${api}/liveness`],
      ['GET', '/'],
    ]) {
      const res = await rawRequest(port, method, path, 'evil.example');
      assert.equal(res.status, 403, `${method} ${path}: ${res.status} ${res.body}`);
      assert.match(res.type, /^application\/problem\+json/);
      const problem = JSON.parse(res.body);
      assert.match(problem.detail, /Host "evil\.example" is not a loopback name/);
    }
    for (const host of ['evil.example:34000', 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]', '10.0.0.1']) {
      assert.equal((await rawRequest(port, 'GET', `${api}/jobs`, host)).status, 403, host);
    }
    // Node's HTTP server itself answers 400 to an HTTP/1.1 request without Host.
    assert.equal((await rawRequest(port, 'GET', `${api}/jobs`, null)).status, 400);
    assert.equal((await svc.http.get(`${api}/service/state`).expect(200)).body.state, 'running');
  });

  it('serves loopback names with any port, and JOBS_ALLOWED_HOSTS', async () => {
    for (const host of ['localhost', 'LOCALHOST:8080', `127.0.0.1:${port}`, '127.5.6.7', '[::1]', `[::1]:${port}`, 'jobs.internal', 'jobs.internal:443']) {
      const res = await rawRequest(port, 'GET', `${api}/jobs`, host);
      assert.equal(res.status, 200, `${host}: ${res.body}`);
    }
  });

  it('JOBS_ALLOWED_HOSTS takes host names only', () => {
    assert.deepEqual(loadConfig({ JOBS_ALLOWED_HOSTS: ' Jobs.Internal , box ' }).allowedHosts, ['jobs.internal', 'box']);
    assert.deepEqual(loadConfig({}).allowedHosts, []);
    for (const bad of ['jobs.internal:8080', 'http://x', '*.example', 'a b', '-x']) {
      assert.throws(
        () => loadConfig({ JOBS_ALLOWED_HOSTS: bad }),
        (err: unknown) => err instanceof ConfigError && /JOBS_ALLOWED_HOSTS/.test(err.message),
        bad,
      );
    }
  });

  it('checks no Host with tokens or with JOBS_AUTH=off', async () => {
    const db2 = await testDatabase('embedded');
    for (const env of [{ JOBS_API_TOKENS: tokenList }, { JOBS_AUTH: 'off' }] as Array<Record<string, string>>) {
      const other = await startService(db2, env);
      try {
        const p = await other.service.listen();
        const res = await rawRequest(p, 'GET', `${api}/liveness`, 'evil.example');
        assert.equal(res.status, 200, `${JSON.stringify(env)}: ${res.body}`);
      } finally {
        await other.close();
      }
    }
    await db2.drop();
  });
});

describe('no 5xx from odd input', { timeout: scaled(60_000) }, () => {
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  const captured = capturedLogger('info');
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, {}, { log: captured.log });
    port = await svc.service.listen();
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('NUL in a path id or a string query filter answers 400 naming it', async () => {
    for (const [method, url, field] of [
      ['get', '/jobs/a%00b', 'path.job_id'],
      ['put', '/jobs/a%00b?state=paused', 'path.job_id'],
      ['delete', '/jobs/a%00b', 'path.job_id'],
      ['get', '/jobs/a%00b/executions', 'path.job_id'],
      ['post', '/jobs/a%00b/executions', 'path.job_id'],
      ['get', '/executions/a%00b', 'path.execution_id'],
      ['get', '/executions/a%00b/output', 'path.execution_id'],
      ['post', '/executions/a%00b/cancel', 'path.execution_id'],
      ['get', '/batches/a%00b', 'path.batch_id'],
      ['get', '/workers/a%00b', 'path.worker_id'],
      ['put', '/workers/a%00b/state?state=active', 'path.worker_id'],
      ['get', '/executions?job_id=a%00b', 'query.job_id'],
      ['get', '/executions?handler=%00', 'query.handler'],
      ['get', '/executions?batch_id=x%00', 'query.batch_id'],
      ['get', '/executions?parent_id=x%00', 'query.parent_id'],
      ['get', '/audit?operation=a%00b', 'query.operation'],
      ['get', '/audit?token=a%00b', 'query.token'],
      ['get', '/jobs?cursor=user.%00', 'query.cursor'],
      ['post', '/jobs/echo?job_id=a%00b', 'query.job_id'],
    ] as const) {
      assertProblem(await svc.http[method](`${api}${url}`), 400, field);
    }
  });

  it('misfire_grace_time past 2^31 - 1 seconds answers 400, in the query and in a body', async () => {
    assertProblem(await svc.http.post(`${api}/jobs/echo?misfire_grace_time=2147483648&when=2099-01-01T00:00:00Z`).send({}), 400, 'query.misfire_grace_time');
    assertProblem(await svc.http.post(`${api}/jobs/echo?misfire_grace_time=100000%20weeks&when=2099-01-01T00:00:00Z`).send({}), 400, 'query.misfire_grace_time');
    assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', misfire_grace_time: 2 ** 31, when: '2099-01-01T00:00:00Z' }), 400, 'body.misfire_grace_time');
    assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', misfire_grace_time: 1e300, when: '2099-01-01T00:00:00Z' }), 400, 'body.misfire_grace_time');
    const ok = await svc.http
      .post(`${api}/jobs`)
      .send({ handler: 'echo', job_id: 'long-grace', misfire_grace_time: 2 ** 31 - 1, when: '2099-01-01T00:00:00Z' })
      .expect(201);
    assert.equal(ok.body.job.misfire_grace_time, 2 ** 31 - 1);
  });

  it('the job id clean-failed is reserved for DELETE /jobs/clean-failed', async () => {
    assertProblem(await svc.http.post(`${api}/jobs/echo?job_id=clean-failed`).send({}), 400, 'query.job_id');
    assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'clean-failed' }), 400, 'body.job_id');
    assertProblem(await svc.http.get(`${api}/jobs/clean-failed`), 404);
    await svc.http.delete(`${api}/jobs/clean-failed`).expect(200);
  });

  it('a client that leaves mid-body is recorded as 499, not as a database outage', async () => {
    const before = (await svc.http.get(`${api}/metrics`).expect(200)).text;
    assert.doesNotMatch(before, /status="499"/);
    // Closed (FIN) and reset (RST) mid-body.
    for (const leave of ['destroy', 'resetAndDestroy'] as const) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST ${api}/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"handler": "echo", "job_id": "half`);
      await sleep(scaled(200));
      socket[leave]();
    }
    const audit = await waitFor('the audit records of the dropped calls', async () => {
      const rows = (await svc.http.get(`${api}/audit?operation=createJob&limit=10`).expect(200)).body.audit as Array<{ status: number; outcome: string }>;
      const dropped = rows.filter((r) => r.status >= 499);
      return dropped.length >= 2 && dropped;
    });
    assert.deepEqual(
      audit.map((a) => [a.status, a.outcome]),
      [
        [499, 'rejected'],
        [499, 'rejected'],
      ],
    );
    const metrics = (await svc.http.get(`${api}/metrics`).expect(200)).text;
    assert.match(metrics, /jobs_http_requests_total\{operation="createJob",status="499"\} 2/);
    assert.doesNotMatch(metrics, /status="503"/);
    assert.ok(!captured.records().some((r) => r.msg === 'database unavailable'), 'no outage logged');
    assertProblem(await svc.http.get(`${api}/jobs/half`), 404);
  });
});

describe('the statuses the document names', () => {
  const { doc } = loadOpenApi();
  const responses = doc.components!.responses as Record<string, { description: string }>;
  const resolve = (r: { $ref?: string; description?: string }) => (r.$ref ? responses[r.$ref.split('/').pop()!] : r) as { description: string };
  const ops = operationsOf(doc);
  const byId = (id: string) => ops.find((o) => o.op.operationId === id)!.op as unknown as { responses: Record<string, { $ref?: string }> };

  it('each operation answering 409 describes its own conflict', () => {
    const conflict = (id: string) => resolve(byId(id).responses['409']).description;
    assert.match(conflict('createJob'), /job with this job_id exists/);
    assert.match(conflict('scheduleEcho'), /job with this job_id exists/);
    assert.match(conflict('runJob'), /concurrency_policy/);
    assert.doesNotMatch(conflict('runJob'), /job_id exists/);
    assert.match(conflict('cancelExecution'), /run has ended/);
    assert.match(conflict('setWorkerState'), /worker is gone/);
  });

  it('every operation names 400, 403, 413 and 415; the ones that may need a token 401; the ones on the database 503', () => {
    const open = new Set(['getOpenApiJson', 'getSwaggerJson', 'getOpenApiYaml', 'getSwaggerUi', 'getSwaggerUiAsset']);
    for (const { op } of ops) {
      const codes = Object.keys((op as unknown as { responses: object }).responses);
      for (const c of ['400', '403', '413', '415']) assert.ok(codes.includes(c), `${op.operationId} lacks ${c}`);
      if (!open.has(op.operationId!)) assert.ok(codes.includes('401'), `${op.operationId} lacks 401`);
      if (!open.has(op.operationId!) && op.operationId !== 'getLiveness') assert.ok(codes.includes('503'), `${op.operationId} lacks 503`);
    }
    assert.match(resolve(byId('getLiveness').responses['401']).description, /JOBS_HEALTH_AUTH/);
  });
});
