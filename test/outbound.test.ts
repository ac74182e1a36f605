/**
 * http-request under the outbound policy, against listeners this test starts on loopback
 * addresses: denied addresses get no connection, redirects are checked hop by hop, headers and
 * bodies stay with their origin, bodies stay out of the output unless asked for, the body is
 * read up to a cap, errors do not tell a closed port from a non-HTTP one, and the request
 * timeout holds through garbage collections.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { outboundPolicy } from '../handlers/_outbound.js';
import { loadConfig, projectRoot } from '../src/config/config.js';
import { closedPort, scaled, startService, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { waitForListening } from './support/listening.js';

const api = '/api/v1';
const POLICY_KEYS = ['JOBS_OUTBOUND_ALLOW', 'JOBS_OUTBOUND_DENY', 'JOBS_OUTBOUND_PORTS', 'JOBS_OUTBOUND_SCHEMES', 'JOBS_OUTBOUND_MAX_BYTES', 'JOBS_OUTBOUND_CAPTURE_BYTES'];

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A listener on `host` that records each connection and request, answering with `answer`. */
async function listener(host: string, answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      answer(req, res, body);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    seen,
    connections: () => connections,
    url: `http://${host}:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

type Listener = Awaited<ReturnType<typeof listener>>;

describe('http-request under the outbound policy', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let svc: Running;
  const open: Listener[] = [];
  let n = 0;

  const listen = async (host: string, answer: Parameters<typeof listener>[1]) => {
    const l = await listener(host, answer);
    open.push(l);
    return l;
  };

  /** Creates a job with these kwargs, runs it once, and returns the ended run and its output. */
  async function runOnce(kwargs: Record<string, unknown>) {
    const jobId = `out-${++n}`;
    await svc.http.post(`${api}/jobs/http-request?job_id=${jobId}&state=paused`).send(kwargs).expect(201);
    const id = (await svc.http.post(`${api}/jobs/${jobId}/executions`).expect(202)).body.execution_ids[0];
    const run = await waitFor(
      `run ${id} to end`,
      async () => {
        const r = (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
        return ['queued', 'running'].includes(r.status) ? null : r;
      },
      30_000,
    );
    const output: string[] = (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body.lines;
    return { run, output, text: output.join('\n') };
  }

  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db);
  });
  beforeEach(() => {
    for (const k of POLICY_KEYS) delete process.env[k];
  });
  after(async () => {
    for (const k of POLICY_KEYS) delete process.env[k];
    await Promise.all(open.map((l) => l.close()));
    await svc?.close();
    await db.drop();
  });

  it('by default calls loopback, and keeps the body out of the output', async () => {
    const target = await listen('127.0.0.1', (_req, res) => res.end('secret body of an internal service'));
    const { run, text } = await runOnce({ url: `${target.url}/status`, expected_status: 200 });
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(target.seen.length, 1);
    assert.match(text, /GET http:\/\/127\.0\.0\.1:\d+\/status -> 200 in \d+ ms, 34 bytes/);
    assert.doesNotMatch(text, /secret body/);
  });

  it('sends user:password of the URL as Basic auth to that origin only', async () => {
    const other = await listen('127.0.0.1', (_req, res) => res.end('there'));
    const first = await listen('127.0.0.1', (_req, res) => res.writeHead(302, { location: `${other.url}/x` }).end());
    const { run } = await runOnce({ url: first.url.replace('http://', 'http://ci%40corp:p%3Ass@') });
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(first.seen[0].headers.authorization, `Basic ${Buffer.from('ci@corp:p:ss').toString('base64')}`);
    assert.equal(other.seen[0].headers.authorization, undefined);
  });

  it('logs the start of the body with capture_body, within JOBS_OUTBOUND_CAPTURE_BYTES', async () => {
    process.env.JOBS_OUTBOUND_CAPTURE_BYTES = '10';
    const target = await listen('127.0.0.1', (_req, res) => res.end('0123456789abcdef'));
    const { run, output } = await runOnce({ url: target.url, capture_body: true });
    assert.equal(run.status, 'succeeded', run.error);
    assert.ok(
      output.some((l) => / info 0123456789$/.test(l)),
      output.join('\n'),
    );
    assert.ok(!output.some((l) => l.includes('abcdef')));
  });

  it('a denied address fails the run with the policy reason, and no connection reaches it', async () => {
    process.env.JOBS_OUTBOUND_DENY = '127.0.0.2';
    const target = await listen('127.0.0.2', (_req, res) => res.end('no'));
    const { run } = await runOnce({ url: `${target.url}/` });
    assert.equal(run.status, 'failed');
    assert.match(run.error, /refused by the outbound policy: address 127\.0\.0\.2 matches JOBS_OUTBOUND_DENY/);
    assert.equal(target.connections(), 0);

    process.env.JOBS_OUTBOUND_DENY = 'loopback';
    const port = Number(new URL(target.url).port);
    // A name is checked on the address it resolves to, and only that address is connected to.
    const byName = await runOnce({ url: `http://localhost:${port}/` });
    assert.match(byName.run.error, /refused by the outbound policy: localhost \((127\.0\.0\.1|::1)\) matches JOBS_OUTBOUND_DENY/);
    assert.equal(target.connections(), 0);
  });

  it('link-local and cloud metadata addresses and names are always denied', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]:8080/',
      'http://metadata.google.internal/computeMetadata/v1/',
    ]) {
      const { run } = await runOnce({ url, request_timeout: 5 });
      assert.equal(run.status, 'failed', url);
      assert.match(run.error, /refused by the outbound policy: .*always denied/, url);
    }
  });

  it('ports, schemes and the allow-list hold', async () => {
    const target = await listen('127.0.0.1', (_req, res) => res.end('ok'));
    const port = Number(new URL(target.url).port);
    process.env.JOBS_OUTBOUND_PORTS = `80,443,${port + 1}-${port + 2}`;
    assert.match((await runOnce({ url: target.url })).run.error, new RegExp(`port ${port} is not in JOBS_OUTBOUND_PORTS`));
    process.env.JOBS_OUTBOUND_PORTS = `${port}`;
    process.env.JOBS_OUTBOUND_SCHEMES = 'https';
    assert.match((await runOnce({ url: target.url })).run.error, /scheme http is not in JOBS_OUTBOUND_SCHEMES/);
    delete process.env.JOBS_OUTBOUND_SCHEMES;
    process.env.JOBS_OUTBOUND_ALLOW = '10.0.0.0/8, *.example.com';
    assert.match((await runOnce({ url: target.url })).run.error, /address 127\.0\.0\.1 is not in JOBS_OUTBOUND_ALLOW/);
    assert.equal(target.connections(), 0);
    process.env.JOBS_OUTBOUND_ALLOW = '127.0.0.0/24';
    assert.equal((await runOnce({ url: target.url })).run.status, 'succeeded');
    assert.equal(target.connections(), 1);
  });

  it('a redirect to a denied address is refused, and that address gets no connection', async () => {
    process.env.JOBS_OUTBOUND_DENY = '127.0.0.2';
    const denied = await listen('127.0.0.2', (_req, res) => res.end('internal'));
    for (const location of [`${denied.url}/admin`, 'http://169.254.169.254/latest/meta-data/']) {
      const allowed = await listen('127.0.0.1', (_req, res) => res.writeHead(302, { location }).end());
      const { run } = await runOnce({ url: allowed.url });
      assert.equal(run.status, 'failed');
      assert.match(run.error, /refused by the outbound policy: address (127\.0\.0\.2 matches JOBS_OUTBOUND_DENY|169\.254\.169\.254 .*always denied)/);
      assert.equal(allowed.seen.length, 1);
    }
    assert.equal(denied.connections(), 0);
  });

  it('a cross-origin redirect drops Authorization and custom headers; a same-origin one keeps them', async () => {
    const other = await listen('127.0.0.1', (_req, res) => res.end('there'));
    const first = await listen('127.0.0.1', (req, res) => {
      if (req.url === '/same') res.writeHead(302, { location: '/moved' }).end();
      else if (req.url === '/moved') res.writeHead(302, { location: `${other.url}/landed` }).end();
      else res.writeHead(404).end();
    });
    const headers = { Authorization: 'Bearer admin-token', 'X-Api-Key': 'k-123', Cookie: 'session=abc' };
    const { run, text } = await runOnce({ url: `${first.url}/same`, headers });
    assert.equal(run.status, 'succeeded', run.error);
    assert.deepEqual(
      first.seen.map((s) => [s.url, s.headers.authorization, s.headers['x-api-key'], s.headers.cookie]),
      [
        ['/same', 'Bearer admin-token', 'k-123', 'session=abc'],
        ['/moved', 'Bearer admin-token', 'k-123', 'session=abc'],
      ],
    );
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].url, '/landed');
    assert.equal(other.seen[0].headers.authorization, undefined);
    assert.equal(other.seen[0].headers['x-api-key'], undefined);
    assert.equal(other.seen[0].headers.cookie, undefined);
    assert.match(text, /after 2 redirects/);
  });

  it('a 307 to another origin is not followed with the body; 303 turns into a GET without it', async () => {
    const other = await listen('127.0.0.1', (_req, res) => res.end('there'));
    const first = await listen('127.0.0.1', (req, res) => res.writeHead(req.url === '/307' ? 307 : 303, { location: `${other.url}/x` }).end());
    const body = { password: 'hunter2' };
    const r307 = await runOnce({ url: `${first.url}/307`, method: 'POST', body });
    assert.equal(r307.run.status, 'failed');
    assert.match(r307.run.error, /answered 307, a redirect to http:\/\/127\.0\.0\.1:\d+ that would send the body to another origin; not followed/);
    assert.equal(other.connections(), 0);
    const r303 = await runOnce({ url: `${first.url}/303`, method: 'POST', body });
    assert.equal(r303.run.status, 'succeeded', r303.run.error);
    assert.deepEqual(
      other.seen.map((s) => [s.method, s.body, s.headers['content-type']]),
      [['GET', '', undefined]],
    );
  });

  it('reads the body up to JOBS_OUTBOUND_MAX_BYTES and stops reading there', async () => {
    process.env.JOBS_OUTBOUND_MAX_BYTES = String(1024 * 1024);
    let sent = 0;
    let closed = false;
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const endless = await listen('127.0.0.1', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => (closed = true));
      const more = () => {
        while (!closed && res.write(chunk)) sent += chunk.length;
        if (!closed) res.once('drain', more);
      };
      more();
    });
    const { run, text } = await runOnce({ url: endless.url, request_timeout: 60 });
    assert.equal(run.status, 'succeeded', run.error);
    assert.match(text, /-> 200 in \d+ ms, 1048576 bytes read, the rest not \(JOBS_OUTBOUND_MAX_BYTES=1048576\)/);
    await waitFor('the server to see the connection closed', async () => closed);
    assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes sent`);
  });

  it('says the same for a closed port, a port that does not speak HTTP and an unknown host', async () => {
    const garbage = net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const hangup = net.createServer((socket) => socket.destroy());
    await new Promise<void>((r) => hangup.listen(0, '127.0.0.1', r));
    try {
      const urls = [
        `http://127.0.0.1:${await closedPort()}/`,
        `http://127.0.0.1:${(garbage.address() as net.AddressInfo).port}/`,
        `http://127.0.0.1:${(hangup.address() as net.AddressInfo).port}/`,
        'http://no-such-host.invalid/',
      ];
      const errors = [];
      for (const url of urls) {
        const { run } = await runOnce({ url, request_timeout: 10 });
        assert.equal(run.status, 'failed', url);
        errors.push(run.error.replace(url, 'URL'));
      }
      assert.deepEqual(
        errors,
        urls.map(() => 'GET URL: could not connect, or the answer was not HTTP'),
      );
    } finally {
      garbage.close();
      hangup.close();
    }
  });

  it('malformed policy settings stop the boot naming the variable', () => {
    for (const [name, value, reason] of [
      ['JOBS_OUTBOUND_ALLOW', '10.0.0.0/33', /prefix length outside 0-32/],
      ['JOBS_OUTBOUND_DENY', 'http://x', /not an address, CIDR block, host name/],
      ['JOBS_OUTBOUND_PORTS', '0-80', /not a port or range/],
      ['JOBS_OUTBOUND_SCHEMES', 'ftp', /'ftp' is not http or https/],
      ['JOBS_OUTBOUND_MAX_BYTES', 'lots', /whole number/],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err.message.includes(name) && reason.test(err.message),
        name,
      );
    }
    // The boot's check and the handler's reading accept and refuse the same values.
    const samples: Array<[string, string]> = [
      ['JOBS_OUTBOUND_ALLOW', '10.0.0.0/8, fd00::/8, api.example.com, *.corp.example, loopback'],
      ['JOBS_OUTBOUND_ALLOW', '10.0.0.0/33'],
      ['JOBS_OUTBOUND_ALLOW', 'fd00::/129'],
      ['JOBS_OUTBOUND_ALLOW', 'exa mple.com'],
      ['JOBS_OUTBOUND_ALLOW', 'host.example/8'],
      ['JOBS_OUTBOUND_DENY', 'private, metadata, 169.254.169.254, ::1'],
      ['JOBS_OUTBOUND_DENY', '*'],
      ['JOBS_OUTBOUND_DENY', 'http://x'],
      ['JOBS_OUTBOUND_PORTS', '*'],
      ['JOBS_OUTBOUND_PORTS', '80, 443, 8000-8999'],
      ['JOBS_OUTBOUND_PORTS', '443-80'],
      ['JOBS_OUTBOUND_PORTS', '65536'],
      ['JOBS_OUTBOUND_SCHEMES', 'https'],
      ['JOBS_OUTBOUND_SCHEMES', 'http, gopher'],
    ];
    const refused = (f: () => unknown) => {
      try {
        f();
        return false;
      } catch {
        return true;
      }
    };
    for (const [name, value] of samples) {
      assert.equal(
        refused(() => outboundPolicy({ [name]: value })),
        refused(() => loadConfig({ [name]: value })),
        `${name}=${value}`,
      );
    }
    assert.doesNotThrow(() =>
      loadConfig({
        JOBS_OUTBOUND_ALLOW: 'private, loopback, api.example.com, *.corp.example, fd00::/8',
        JOBS_OUTBOUND_DENY: 'metadata, 10.1.2.3',
        JOBS_OUTBOUND_PORTS: '80, 443, 8000-8999',
      }),
    );
  });
});

/** The project's Node and every other Node version found on PATH or in /usr/bin, /usr/local/bin. */
function nodeRuntimes(): Array<{ bin: string; version: string }> {
  const found = new Map<string, string>([[process.version, process.execPath]]);
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir || path.resolve(dir).startsWith(path.join(projectRoot, 'node_modules'))) continue;
    const bin = path.join(dir, 'node');
    try {
      accessSync(bin, fsConstants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version && !found.has(version)) found.set(version, bin);
  }
  return [...found].map(([version, bin]) => ({ bin, version }));
}

describe('http-request timeout after garbage collections', { timeout: 120_000 }, () => {
  // Node 20's AbortSignal.any loses an AbortSignal.timeout source in a full collection, and
  // its timer with it; the handler must not depend on the runtime for its timeout.
  for (const { bin, version } of nodeRuntimes()) {
    it(`the handler's 2 s request_timeout fires under repeated full collections on Node ${version}`, async () => {
      const silent = http.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`;
        const child = spawn(bin, ['--expose-gc', '--import', 'tsx', 'test/support/http-timeout-gc.ts', url, '2'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
        const limit = setTimeout(() => child.kill('SIGKILL'), scaled(15_000));
        await new Promise((r) => child.once('exit', r));
        clearTimeout(limit);
        assert.ok(out.trim(), `no answer within ${scaled(15_000)} ms: the timeout did not fire${err ? `\n${err}` : ''}`);
        const result = JSON.parse(out.trim().split('\n').at(-1)!) as { error: string; ms: number; node: string };
        assert.equal(result.node, version);
        assert.match(result.error, /no answer within 2 s/);
        assert.ok(result.ms >= 1900 && result.ms < 2000 + scaled(3000), `fired after ${result.ms} ms`);
      } finally {
        silent.closeAllConnections();
        silent.close();
      }
    });
  }

  it('a 2 s request_timeout fires on time in a service that collects garbage all along', async () => {
    const db = await testDatabase('embedded');
    const defaults = await tempDir('gc-defaults');
    // Sends its headers, then a byte now and then, never the end.
    const slow = http.createServer((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('.'), 200);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const service = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--import', 'data:text/javascript,setInterval(() => globalThis.gc(), 50).unref()', path.join(projectRoot, 'src/main.ts')],
      {
        cwd: projectRoot,
        // At level info: it logs the port it listens on.
        env: { ...process.env, ...db.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOBS_DEFAULT_JOBS_DIR: defaults, JOBS_POLL_INTERVAL_MS: '100' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const stdout: string[] = [];
    service.stdout!.on('data', (b: Buffer) => stdout.push(b.toString()));
    let stderr = '';
    service.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    let base = '';
    const call = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${base}${route}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, checked by the asserts
      return { status: res.status, body: (await res.json()) as any };
    };
    try {
      const port = await waitForListening(service, stdout, 60_000, () => stderr);
      base = `http://127.0.0.1:${port}${api}`;
      await waitFor('the service', async () => (await fetch(`${base}/readiness`).catch(() => null))?.ok, 60_000, 200);
      const url = `http://127.0.0.1:${(slow.address() as net.AddressInfo).port}/`;
      assert.equal((await call('POST', '/jobs/http-request?job_id=slow&state=paused', { url, request_timeout: 2 })).status, 201);
      const id = (await call('POST', '/jobs/slow/executions')).body.execution_ids[0];
      const run = await waitFor(
        'the slow run to end',
        async () => {
          const r = (await call('GET', `/executions/${id}`)).body;
          return ['queued', 'running'].includes(r.status) ? null : r;
        },
        30_000,
        100,
      );
      assert.equal(run.status, 'failed', stderr);
      assert.match(run.error, /no answer within 2 s/);
      assert.ok(run.duration_ms >= 1900 && run.duration_ms < 2000 + scaled(3000), `the run took ${run.duration_ms} ms`);
    } finally {
      service.kill('SIGKILL');
      slow.closeAllConnections();
      slow.close();
      await fs.rm(defaults, { recursive: true, force: true });
      await db.drop();
    }
  });
});
