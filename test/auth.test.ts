import yaml from 'js-yaml';
/**
 * Bearer tokens and roles, on the real service: configuration at boot (JOBS_API_TOKENS,
 * JOBS_AUTH, HOST), then 401 / 403 / success per role across the route families, open
 * routes, the log lines, and the request id.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { capturedLogger, noticeSkippedStores, scaled, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { reader: secret(), writer: secret(), admin: secret() };
const tokenList = `reader:${T.reader}:read, writer:${T.writer}:write, admin:${T.admin}:admin`;
type Who = keyof typeof T | 'none' | 'unknown';

function assertProblem(res: Response, status: number) {
  assert.equal(res.status, status, `${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.detail, 'string');
}

/** A ConfigError about `variable` whose message matches `pattern` and holds none of `secrets`. */
function configError(variable: string, pattern: RegExp, secrets: string[] = []) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.variable, variable);
    assert.match(err.message, pattern);
    for (const s of secrets) assert.ok(!err.message.includes(s), `the message names a token: ${err.message}`);
    return true;
  };
}

describe('JOBS_API_TOKENS, JOBS_AUTH and HOST at boot', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('tokens');
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('reads name:token:role entries and keeps only names, roles and hashes', () => {
    const config = loadConfig({ JOBS_API_TOKENS: tokenList });
    assert.equal(config.auth.mode, 'tokens');
    assert.deepEqual(
      config.auth.tokens.map((t) => [t.name, t.role, t.hash.length]),
      [
        ['reader', 'read', 32],
        ['writer', 'write', 32],
        ['admin', 'admin', 32],
      ],
    );
    const dump = JSON.stringify(config);
    for (const s of Object.values(T)) assert.ok(!dump.includes(s), 'the configuration holds no token');
    // A token may hold ':' (the role is after the last one).
    assert.equal(loadConfig({ JOBS_API_TOKENS: 'svc:abc:def:0123456789abcdef:write' }).auth.tokens[0].role, 'write');
  });

  it('refuses a bad entry, naming its number and never its token', () => {
    const long = 'x'.repeat(20);
    const cases: Array<[string, RegExp, string[]]> = [
      [`ok:${T.reader}:read,${T.writer}`, /entry 2 must be name:token:role/, [T.reader, T.writer]],
      [`ok:${T.reader}:read,only:${T.writer}`, /entry 2 must be name:token:role/, [T.writer]],
      [`ok:${T.reader}:superuser`, /entry 1: the role \(after the last ':'\) must be read, write or admin$/, [T.reader, 'superuser']],
      // Name and token swapped, or role and token: the token is not shown back.
      [`ok:write:${T.reader}`, /entry 1: the role/, [T.reader, T.reader.slice(0, 8)]],
      [`Zq4swapped0token0secret:ok:write`, /entry 1: the token must be at least 16 characters$/, ['Zq4swapped']],
      ['ok:short:read', /entry 1: the token must be at least 16 characters/, ['short']],
      [`bad name:${long}:read`, /entry 1: the name must be/, [long]],
      [`:${long}:read`, /entry 1: the name must be/, [long]],
      [`a:${long}:read,a:${T.admin}:admin`, /entry 2: the name is used by an earlier entry/, [long, T.admin]],
      [`a:${long}:read,b:${long}:admin`, /entry 2: the token is used by an earlier entry/, [long]],
      [' , ,', /holds no token entry/, []],
    ];
    for (const [value, pattern, secrets] of cases) {
      assert.throws(() => loadConfig({ JOBS_API_TOKENS: value }), configError('JOBS_API_TOKENS', pattern, secrets), value);
    }
  });

  it('reads @file: one entry per line or comma-separated, # comments, blank lines', async () => {
    const file = path.join(dir, 'tokens');
    await fs.writeFile(file, `# API tokens\nreader:${T.reader}:read   # dashboards\n\nwriter:${T.writer}:write, admin:${T.admin}:admin\n`);
    const config = loadConfig({ JOBS_API_TOKENS: `@${file}` });
    assert.deepEqual(
      config.auth.tokens.map((t) => `${t.name}:${t.role}`),
      ['reader:read', 'writer:write', 'admin:admin'],
    );
    await fs.writeFile(file, `reader:${T.reader}:read\nwriter:${T.writer}:owner\n`);
    assert.throws(() => loadConfig({ JOBS_API_TOKENS: `@${file}` }), configError('JOBS_API_TOKENS', new RegExp(`entry 2 of ${file}: the role`), [T.writer]));
    await fs.writeFile(file, '# nothing yet\n');
    assert.throws(() => loadConfig({ JOBS_API_TOKENS: `@${file}` }), configError('JOBS_API_TOKENS', /holds no token entry of/));
    assert.throws(() => loadConfig({ JOBS_API_TOKENS: `@${path.join(dir, 'missing')}` }), configError('JOBS_API_TOKENS', /cannot read the token file .*missing: ENOENT/));
  });

  it('without tokens: loopback addresses serve without checks; any other address refuses the boot', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.equal(loadConfig({ HOST: host }).auth.mode, 'open', host);
    }
    assert.equal(loadConfig({}).auth.mode, 'open', 'the default HOST is loopback');
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.10', 'jobs.example.org', '128.0.0.1']) {
      assert.throws(() => loadConfig({ HOST: host }), configError('JOBS_API_TOKENS', /is not set, so the API would be open to anyone .*JOBS_AUTH=off/), host);
    }
    assert.equal(loadConfig({ HOST: '0.0.0.0', JOBS_API_TOKENS: tokenList }).auth.mode, 'tokens');
    assert.equal(loadConfig({ HOST: '0.0.0.0', JOBS_AUTH: 'off' }).auth.mode, 'off');
    assert.deepEqual(loadConfig({ HOST: '0.0.0.0', JOBS_AUTH: 'OFF', JOBS_API_TOKENS: tokenList }).auth, { mode: 'off', tokens: [] });
    assert.throws(() => loadConfig({ JOBS_AUTH: 'on' }), configError('JOBS_AUTH', /is on, but JOBS_API_TOKENS holds no token/));
    assert.throws(() => loadConfig({ JOBS_AUTH: 'maybe' }), configError('JOBS_AUTH', /must be on or off, got 'maybe'/));
    assert.throws(() => loadConfig({ JOBS_METRICS_AUTH: 'sometimes' }), configError('JOBS_METRICS_AUTH', /must be true or false/));
    assert.throws(() => loadConfig({ JOBS_HEALTH_AUTH: 'later' }), configError('JOBS_HEALTH_AUTH', /must be true or false/));
  });
});

describe('durations named with their unit', () => {
  it('reads JOBS_DEFAULT_TIMEOUT_SECONDS and JOBS_SHUTDOWN_GRACE_SECONDS, and the old names as aliases', () => {
    assert.equal(loadConfig({}).defaultTimeoutSeconds, 3600);
    assert.equal(loadConfig({}).shutdownGraceSeconds, 30);
    const current = loadConfig({ JOBS_DEFAULT_TIMEOUT_SECONDS: '120', JOBS_SHUTDOWN_GRACE_SECONDS: '7' });
    assert.equal(current.defaultTimeoutSeconds, 120);
    assert.equal(current.shutdownGraceSeconds, 7);
    const old = loadConfig({ JOBS_DEFAULT_TIMEOUT: '90', JOBS_SHUTDOWN_GRACE: '5' });
    assert.equal(old.defaultTimeoutSeconds, 90);
    assert.equal(old.shutdownGraceSeconds, 5);
    const both = loadConfig({ JOBS_DEFAULT_TIMEOUT_SECONDS: '120', JOBS_DEFAULT_TIMEOUT: '90', JOBS_SHUTDOWN_GRACE_SECONDS: '7', JOBS_SHUTDOWN_GRACE: '5' });
    assert.equal(both.defaultTimeoutSeconds, 120, 'the new name wins');
    assert.equal(both.shutdownGraceSeconds, 7, 'the new name wins');
    assert.throws(() => loadConfig({ JOBS_DEFAULT_TIMEOUT_SECONDS: 'soon' }), configError('JOBS_DEFAULT_TIMEOUT_SECONDS', /must be a whole number/));
    assert.throws(() => loadConfig({ JOBS_SHUTDOWN_GRACE: 'soon' }), configError('JOBS_SHUTDOWN_GRACE', /must be a whole number/));
  });
});

for (const { name, skip } of stores) {
  describe(`boot without tokens off loopback on ${name}`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(async () => db?.drop());

    it('refuses to boot on a non-loopback HOST without tokens', async () => {
      await assert.rejects(startService(db, { HOST: '0.0.0.0' }), configError('JOBS_API_TOKENS', /would be open to anyone who reaches 0\.0\.0\.0/));
    });

    it('JOBS_AUTH=off boots there with a warning and checks nothing', async () => {
      const captured = capturedLogger('info');
      const svc = await startService(db, { HOST: '0.0.0.0', JOBS_AUTH: 'off', JOBS_API_TOKENS: tokenList }, { log: captured.log });
      try {
        const warning = captured.records().find((r) => r.level === 40 && /JOBS_AUTH=off/.test(String(r.msg)));
        assert.ok(warning, `no warning in ${captured.lines.join('\n')}`);
        assert.equal(warning.host, '0.0.0.0');
        await svc.http.post(`${api}/jobs/echo?job_id=auth-off`).send({}).expect(201);
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
        // Configured tokens are ignored, not checked: a wrong one passes too.
        await svc.http.get(`${api}/audit`).set('Authorization', 'Bearer not-a-token-of-this-service').expect(200);
        const audit = (await svc.http.get(`${api}/audit?operation=scheduleEcho`).expect(200)).body.audit;
        assert.equal(audit[0].token_name, null);
        assert.equal(audit[0].job_id, 'auth-off');
      } finally {
        await svc.close();
      }
    });
  });

  describe(`roles on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    const captured = capturedLogger('debug');
    let workerId: string;
    let runId: string;
    let batchId: string;
    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${++seq}`;

    const send = (who: Who, method: string, url: string, body?: unknown) => {
      const m = method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
      let req = svc.http[m](`${api}${url}`);
      if (who === 'unknown') req = req.set('Authorization', `Bearer ${secret()}`);
      else if (who !== 'none') req = req.set('Authorization', `Bearer ${T[who]}`);
      return body === undefined ? req : req.send(body as object);
    };

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_API_TOKENS: tokenList }, { log: captured.log });
      await send('admin', 'POST', '/jobs/echo?job_id=roles-job&when=2099-01-01T00:00:00Z').send({ message: 'fixture' }).expect(201);
      const run = await send('writer', 'POST', '/jobs/roles-job/executions', { times: 2 }).expect(202);
      [runId] = run.body.execution_ids;
      batchId = run.body.batch_id;
      workerId = (await send('reader', 'GET', '/workers').expect(200)).body.workers[0].id;
      await waitFor('the fixture runs', async () => (await send('reader', 'GET', `/batches/${batchId}`)).body.counts?.succeeded === 2);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('401 without a token, with an unknown one and with another scheme; WWW-Authenticate says Bearer', async () => {
      let res = await send('none', 'GET', '/jobs');
      assertProblem(res, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="jobs-service"');
      assert.match(res.body.detail, /listJobs needs a token/);
      res = await send('unknown', 'POST', '/jobs', { handler: 'echo' });
      assertProblem(res, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="jobs-service", error="invalid_token"');
      res = await svc.http.get(`${api}/jobs`).set('Authorization', `Basic ${Buffer.from(`admin:${T.admin}`).toString('base64')}`);
      assertProblem(res, 401);
      assert.match(res.body.detail, /must be "Bearer <token>"/);
      // The token's secret alone, without the scheme, is no token either.
      assertProblem(await svc.http.get(`${api}/jobs`).set('Authorization', T.admin), 401);
      // Before validation: an unauthenticated caller learns nothing of the input rules.
      assertProblem(await send('none', 'POST', '/jobs/echo?periodically=0%20seconds', { x: 1 }), 401);
      assertProblem(await send('none', 'PUT', '/service/state?state=bogus'), 401);
      // A known scheme in another case is still Bearer.
      await svc.http.get(`${api}/jobs`).set('Authorization', `bearer ${T.reader}`).expect(200);
    });

    it('each route family: every role below the one it needs gets 403, that role and above get through', async () => {
      type Call = { method: string; url: () => string; body?: () => unknown; need: 'read' | 'write' | 'admin'; ok: number | number[] };
      const calls: Call[] = [
        // jobs
        { method: 'GET', url: () => '/jobs', need: 'read', ok: 200 },
        { method: 'GET', url: () => '/jobs/roles-job', need: 'read', ok: 200 },
        { method: 'POST', url: () => '/jobs', body: () => ({ handler: 'echo', job_id: unique('roles-create'), when: '2099-01-01T00:00:00Z' }), need: 'write', ok: 201 },
        { method: 'POST', url: () => `/jobs/echo?job_id=${unique('roles-echo')}&when=2099-01-01T00:00:00Z`, body: () => ({}), need: 'write', ok: 201 },
        { method: 'PUT', url: () => '/jobs/roles-job?state=running', need: 'write', ok: 200 },
        { method: 'DELETE', url: () => '/jobs', need: 'write', ok: 405 },
        { method: 'DELETE', url: () => `/jobs/${unique('roles-gone')}`, need: 'write', ok: 410 },
        { method: 'DELETE', url: () => '/jobs/clean-failed', need: 'admin', ok: 200 },
        // executions and batches
        { method: 'GET', url: () => '/jobs/roles-job/executions', need: 'read', ok: 200 },
        { method: 'POST', url: () => '/jobs/roles-job/executions', body: () => ({}), need: 'write', ok: 202 },
        { method: 'GET', url: () => '/executions', need: 'read', ok: 200 },
        { method: 'GET', url: () => `/executions/${runId}`, need: 'read', ok: 200 },
        { method: 'GET', url: () => `/executions/${runId}/output`, need: 'read', ok: 200 },
        { method: 'POST', url: () => `/executions/${runId}/cancel`, need: 'write', ok: 409 },
        { method: 'GET', url: () => `/batches/${batchId}`, need: 'read', ok: 200 },
        // workers, stats, handlers
        { method: 'GET', url: () => '/workers', need: 'read', ok: 200 },
        { method: 'GET', url: () => `/workers/${workerId}`, need: 'read', ok: 200 },
        { method: 'PUT', url: () => `/workers/${workerId}/state?state=active`, need: 'admin', ok: 200 },
        { method: 'GET', url: () => '/stats', need: 'read', ok: 200 },
        { method: 'GET', url: () => '/handlers', need: 'read', ok: 200 },
        // the service and the audit log
        { method: 'GET', url: () => '/service/state', need: 'read', ok: 200 },
        { method: 'PUT', url: () => '/service/state?state=running', need: 'admin', ok: 200 },
        { method: 'GET', url: () => '/audit', need: 'admin', ok: 200 },
      ];
      const order = ['read', 'write', 'admin'] as const;
      const holder = { read: 'reader', write: 'writer', admin: 'admin' } as const;
      for (const c of calls) {
        const what = `${c.method} ${c.url()}`;
        assertProblem(await send('none', c.method, c.url(), c.body?.()), 401);
        for (const role of order) {
          const res = await send(holder[role], c.method, c.url(), c.body?.());
          if (order.indexOf(role) < order.indexOf(c.need)) {
            assertProblem(res, 403);
            assert.equal(res.headers['www-authenticate'], 'Bearer realm="jobs-service", error="insufficient_scope"', what);
            assert.match(res.body.detail, new RegExp(`needs a token of role ${c.need} or above; token '${holder[role]}' has role ${role}`), what);
          } else {
            assert.ok(([] as number[]).concat(c.ok).includes(res.status), `${what} as ${role}: ${res.status} ${res.text}`);
          }
        }
      }
    });

    it('health, /metrics and the document are open; the UI shows the Authorize button for bearerAuth', async () => {
      for (const url of ['/liveness', '/readiness', '/metrics', '/openapi.json', '/openapi.yaml', '/ui', '/ui/swagger-ui.css']) {
        const res = await send('none', 'GET', url);
        assert.equal(res.status, 200, `${url}: ${res.status}`);
        // A wrong token on an open route is not checked either.
        assert.equal((await send('unknown', 'GET', url)).status, 200, url);
      }
      const doc = (await send('none', 'GET', '/openapi.json').expect(200)).body;
      assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: 'An API token from JOBS_API_TOKENS.' });
      assert.deepEqual(doc.paths['/metrics'].get.security, []);
    });

    it('logs the token names, never the tokens', async () => {
      await send('reader', 'GET', '/jobs').expect(200);
      await svc.http.get(`${api}/jobs`).set('Authorization', `Bearer ${T.admin}x`).expect(401);
      await svc.http.get(`${api}/jobs`).set('Authorization', `Token ${T.writer}`).expect(401);
      const text = captured.lines.join('\n');
      assert.ok(captured.lines.length > 50, `${captured.lines.length} lines`);
      for (const [who, s] of Object.entries(T)) {
        assert.ok(!text.includes(s), `the token of ${who} is in the log`);
        assert.ok(!text.includes(s.slice(0, 12)), `a part of the token of ${who} is in the log`);
      }
      const requests = captured.records().filter((r) => r.msg === 'request');
      const byToken = (token: string | null, status: number) => requests.some((r) => r.token === token && r.status === status);
      assert.ok(byToken('reader', 200) && byToken('writer', 202) && byToken('admin', 200), 'request lines name the token');
      assert.ok(byToken('reader', 403), 'a denied request names the token that was refused');
      assert.ok(byToken(null, 401), 'an unauthenticated request has token null');
      assert.ok(requests.every((r) => 'operation' in r && 'request_id' in r));
      assert.ok(requests.some((r) => r.operation === 'scheduleEcho' && r.status === 201));
      const boot = captured.records().find((r) => r.msg === 'API tokens loaded');
      assert.deepEqual(boot?.tokens, [
        { name: 'reader', role: 'read' },
        { name: 'writer', role: 'write' },
        { name: 'admin', role: 'admin' },
      ]);
    });

    it('X-Request-Id: a sane one is echoed, in the log and the audit record; another is replaced', async () => {
      const id = `client-${secret().slice(0, 8)}`;
      const res = await send('writer', 'PUT', '/jobs/roles-job?state=running').set('X-Request-Id', id).expect(200);
      assert.equal(res.headers['x-request-id'], id);
      assert.ok(captured.records().some((r) => r.msg === 'request' && r.request_id === id && r.token === 'writer' && r.operation === 'setJobState'));
      const audit = (await send('admin', 'GET', '/audit?operation=setJobState&limit=1').expect(200)).body.audit;
      assert.equal(audit[0].request_id, id);
      for (const bad of ['has spaces in it', 'x'.repeat(101), '<script>']) {
        const other = await send('reader', 'GET', '/jobs').set('X-Request-Id', bad).expect(200);
        assert.notEqual(other.headers['x-request-id'], bad);
        assert.match(other.headers['x-request-id'], /^[0-9a-f-]{36}$/);
      }
      const fresh = await send('none', 'GET', '/liveness').expect(200);
      assert.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    });
  });
}

describe('tokens from @file and JOBS_METRICS_AUTH=true on embedded', () => {
  let db: TestDatabase;
  let dir: string;
  let svc: Running;
  before(async () => {
    db = await testDatabase('embedded');
    dir = await tempDir('token-file');
    await fs.writeFile(path.join(dir, 'tokens'), `# one per line\nreader:${T.reader}:read\nadmin:${T.admin}:admin\n`, { mode: 0o600 });
    svc = await startService(db, { JOBS_API_TOKENS: `@${path.join(dir, 'tokens')}`, JOBS_METRICS_AUTH: 'true' });
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the file tokens are the tokens; /metrics needs read; health stays open', async () => {
    await svc.http.get(`${api}/jobs`).set('Authorization', `Bearer ${T.reader}`).expect(200);
    await svc.http.get(`${api}/jobs`).set('Authorization', `Bearer ${T.writer}`).expect(401);
    await svc.http.put(`${api}/service/state?state=running`).set('Authorization', `Bearer ${T.admin}`).expect(200);
    const denied = await svc.http.get(`${api}/metrics`);
    assertProblem(denied, 401);
    assert.equal(denied.headers['www-authenticate'], 'Bearer realm="jobs-service"');
    const metrics = await svc.http.get(`${api}/metrics`).set('Authorization', `Bearer ${T.reader}`).expect(200);
    assert.match(metrics.text, /^jobs_http_requests_total\{operation="getMetrics",status="401"\} 1$/m);
    await svc.http.get(`${api}/readiness`).expect(200);
    // The document served says so too, as JSON and as YAML: /metrics takes the global requirement.
    const doc = (await svc.http.get(`${api}/openapi.json`).expect(200)).body;
    assert.equal(doc.paths['/metrics'].get.security, undefined);
    const asYaml = yaml.load((await svc.http.get(`${api}/openapi.yaml`).expect(200)).text) as typeof doc;
    assert.deepEqual(asYaml, doc);
    assert.deepEqual(doc.paths['/readiness'].get.security, []);
  });
});

describe('JOBS_HEALTH_AUTH=true on embedded', () => {
  let db: TestDatabase;
  let svc: Running;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { JOBS_API_TOKENS: `reader:${T.reader}:read`, JOBS_HEALTH_AUTH: 'true' });
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('liveness and readiness need a read token; /metrics stays open', async () => {
    for (const route of ['liveness', 'readiness']) {
      assertProblem(await svc.http.get(`${api}/${route}`), 401);
      await svc.http.get(`${api}/${route}`).set('Authorization', `Bearer ${T.reader}`).expect(200);
    }
    await svc.http.get(`${api}/metrics`).expect(200);
    const doc = (await svc.http.get(`${api}/openapi.json`).expect(200)).body;
    assert.equal(doc.paths['/liveness'].get.security, undefined);
    assert.deepEqual(doc.paths['/metrics'].get.security, []);
  });
});
