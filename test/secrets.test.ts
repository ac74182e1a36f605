/**
 * Secrets and redaction, on the real service with tokens per role: values sealed at rest and
 * never answered, opened only in the worker (a listener on 127.0.0.1 gets the real value),
 * shown as [secret:NAME] in what the run writes; rotation, deletion, no key; inline
 * credentials redacted in every read, the log, the audit, metrics and export files.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { main } from '../src/cli/program.js';
import { createClient, ProblemError } from '../src/client/index.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { exportJobs } from '../src/transfer/transfer.js';
import { capturedLogger, noticeSkippedStores, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const random = () => randomBytes(18).toString('base64url');
const T = { reader: random(), writer: random(), admin: random() };
const tokens = `reader:${T.reader}:read, writer:${T.writer}:write, admin:${T.admin}:admin`;
const key = randomBytes(32).toString('base64');
const bearer = (who: keyof typeof T) => ({ Authorization: `Bearer ${T[who]}` });

/** A listener on 127.0.0.1 that keeps the headers of every request and answers them back in its body. */
async function recordingListener() {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ you_sent: req.headers }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function assertProblem(res: Response, status: number, title?: string) {
  assert.equal(res.status, status, `${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  if (title) assert.equal(res.body.title, title, res.text);
}

describe('JOBS_SECRETS_KEY at boot', () => {
  it('takes 32 bytes as hex or base64 and keeps no key material in the configuration', () => {
    const raw = randomBytes(32);
    for (const written of [raw.toString('hex'), raw.toString('base64')]) {
      const config = loadConfig({ JOBS_SECRETS_KEY: written });
      assert.ok(config.secretsKeyring);
      const dump = JSON.stringify(config);
      assert.ok(!dump.includes(written) && !dump.includes(raw.toString('base64')) && !dump.includes(raw.toString('hex')), dump);
      const sealed = config.secretsKeyring.seal('n', 'value-1');
      assert.equal(config.secretsKeyring.open('n', sealed), 'value-1');
      assert.throws(() => config.secretsKeyring!.open('other-name', sealed), /does not open/);
    }
    assert.equal(loadConfig({}).secretsKeyring, null);
  });

  it('refuses a key of the wrong size, naming the variable and not the value', () => {
    for (const bad of ['short', randomBytes(16).toString('hex'), randomBytes(31).toString('base64')]) {
      assert.throws(
        () => loadConfig({ JOBS_SECRETS_KEY: bad }),
        (err: unknown) => err instanceof ConfigError && err.variable === 'JOBS_SECRETS_KEY' && !err.message.includes(bad),
      );
    }
    assert.throws(
      () => loadConfig({ JOBS_SECRETS_OLD_KEYS: key }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'JOBS_SECRETS_OLD_KEYS',
    );
  });

  it('opens values sealed with a key listed in JOBS_SECRETS_OLD_KEYS after a key change', () => {
    const old = loadConfig({ JOBS_SECRETS_KEY: key }).secretsKeyring!;
    const sealed = old.seal('n', 'kept');
    const next = randomBytes(32).toString('hex');
    assert.throws(() => loadConfig({ JOBS_SECRETS_KEY: next }).secretsKeyring!.open('n', sealed), /neither JOBS_SECRETS_KEY nor JOBS_SECRETS_OLD_KEYS/);
    const rotated = loadConfig({ JOBS_SECRETS_KEY: next, JOBS_SECRETS_OLD_KEYS: key }).secretsKeyring!;
    assert.equal(rotated.open('n', sealed), 'kept');
    assert.notEqual(rotated.seal('n', 'x').key_id, sealed.key_id);
  });
});

for (const { name, skip } of stores) {
  describe(`secrets on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    let listener: Awaited<ReturnType<typeof recordingListener>>;
    const captured = capturedLogger('debug');
    const secretValue = `Bearer sv-${random()}`;
    const rotatedValue = `Bearer rv-${random()}`;
    const inlineToken = `it-${random()}`;
    const inlinePassword = `pw-${random()}`;
    let exportDir: string;

    const as = (who: keyof typeof T) => ({
      get: (url: string) => svc.http.get(url).set(bearer(who)),
      post: (url: string, body?: object) => svc.http.post(url).set(bearer(who)).send(body),
      put: (url: string, body?: object) => svc.http.put(url).set(bearer(who)).send(body),
      delete: (url: string) => svc.http.delete(url).set(bearer(who)),
    });

    /** Runs a job now and waits for its run to end; the run as GET /executions/{id} answers it. */
    async function runToEnd(jobId: string) {
      const queued = await as('writer').post(`${api}/jobs/${jobId}/executions`).expect(202);
      const id = queued.body.execution_ids[0] as string;
      return waitFor(`run ${id} of ${jobId} to end`, async () => {
        const e = (await as('reader').get(`${api}/executions/${id}`).expect(200)).body;
        return ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'].includes(e.status) ? e : null;
      });
    }

    before(async () => {
      db = await testDatabase(name);
      listener = await recordingListener();
      exportDir = path.join(await tempDir('secrets-export'), 'out');
      svc = await startService(db, { JOBS_API_TOKENS: tokens, JOBS_SECRETS_KEY: key, LOG_LEVEL: 'debug' }, { log: captured.log });
    });

    after(async () => {
      await svc?.close();
      await listener?.close();
      await db?.drop();
    });

    it('only admin may list, read, create, change or delete secrets', async () => {
      for (const who of ['reader', 'writer'] as const) {
        assertProblem(await as(who).get(`${api}/secrets`), 403);
        assertProblem(await as(who).post(`${api}/secrets`, { name: 'api-token', value: 'x' }), 403);
        assertProblem(await as(who).get(`${api}/secrets/api-token`), 403);
        assertProblem(await as(who).put(`${api}/secrets/api-token`, { value: 'x' }), 403);
        assertProblem(await as(who).delete(`${api}/secrets/api-token`), 403);
      }
      assertProblem(await svc.http.get(`${api}/secrets`), 401);
      assert.deepEqual((await as('admin').get(`${api}/secrets`).expect(200)).body, { secrets: [], next_cursor: null });
    });

    it('creates a secret (201, no value in the answer); a taken name is 409; bad input is 400 naming the field', async () => {
      const created = await as('admin').post(`${api}/secrets`, { name: 'api-token', value: secretValue }).expect(201);
      assert.equal(created.headers.location, '/api/v1/secrets/api-token');
      assert.equal(created.body.name, 'api-token');
      assert.equal(created.body.created_by, 'admin');
      assert.ok(!created.text.includes(secretValue));
      const taken = await as('admin').post(`${api}/secrets`, { name: 'api-token', value: 'other' });
      assertProblem(taken, 409, 'Secret exists');
      assert.deepEqual(taken.body.errors, [{ field: 'body.name', reason: 'is taken' }]);
      for (const [body, field] of [
        [{ name: '../etc', value: 'v' }, 'body.name'],
        [{ name: 'x'.repeat(101), value: 'v' }, 'body.name'],
        [{ name: 'ok-name', value: '' }, 'body.value'],
        [{ name: 'ok-name', value: 'x'.repeat(65537) }, 'body.value'],
        [{ name: 'ok-name' }, 'body.value'],
        [{ name: 'ok-name', value: 'v', extra: 1 }, 'body.extra'],
      ] as const) {
        const res = await as('admin').post(`${api}/secrets`, body);
        assertProblem(res, 400);
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.body.errors)}`,
        );
      }
      assertProblem(await as('admin').get(`${api}/secrets/none-such`), 404, 'Secret not found');
      assertProblem(await as('admin').delete(`${api}/secrets/none-such`), 404, 'Secret not found');
      const listed = await as('admin').get(`${api}/secrets`).expect(200);
      assert.deepEqual(
        listed.body.secrets.map((s: { name: string }) => s.name),
        ['api-token'],
      );
      assert.ok(!listed.text.includes(secretValue));
      const one = await as('admin').get(`${api}/secrets/api-token`).expect(200);
      assert.deepEqual(Object.keys(one.body).sort(), ['created_at', 'created_by', 'key_id', 'name', 'updated_at', 'updated_by']);
    });

    it('keeps only ciphertext at rest: the stored record holds neither the value nor its base64', async () => {
      const [stored] = await svc.service.store.getSecrets(['api-token']);
      const forms = [secretValue, Buffer.from(secretValue).toString('base64'), Buffer.from(secretValue).toString('hex')];
      const dump = JSON.stringify(stored);
      for (const f of forms) assert.ok(!dump.includes(f), `stored record holds ${f}`);
      assert.equal(stored.key_id, svc.config.secretsKeyring!.keyId);
      if (svc.service.store instanceof SqlStore) {
        // The row as PostgreSQL holds it, every column as text.
        const rows = (await svc.service.store.db.query('SELECT secret::text AS row FROM secret')).rows as Array<{ row: string }>;
        assert.equal(rows.length, 1);
        for (const f of forms) assert.ok(!rows[0].row.includes(f), `the secret table holds ${f}`);
      }
    });

    it('a job may refer to a secret only when it exists (400 naming the field), and only with an admin token', async () => {
      const kwargs = { url: `${listener.url}/ok`, headers: { Authorization: { $secret: 'api-token' } } };
      const byWriter = await as('writer').post(`${api}/jobs`, { job_id: 'by-writer', handler: 'http-request', kwargs, state: 'paused' });
      assertProblem(byWriter, 403);
      assert.equal(byWriter.body.errors[0].field, 'body.kwargs.headers.Authorization');
      const missing = await as('admin').post(`${api}/jobs`, {
        job_id: 'missing-ref',
        handler: 'http-request',
        kwargs: { url: `${listener.url}/ok`, headers: { 'X-Key': { $secret: 'no-such-secret' } } },
      });
      assertProblem(missing, 400);
      assert.equal(missing.body.errors[0].field, 'body.kwargs.headers.X-Key');
      assert.match(missing.body.errors[0].reason, /no-such-secret.*does not exist/);
      const onRoute = await as('admin').post(`${api}/jobs/run-script?job_id=missing-env&state=paused`, { script: 'hello.sh', env: { API_KEY: { $secret: 'nope' } } });
      assertProblem(onRoute, 400);
      assert.equal(onRoute.body.errors[0].field, 'body.env.API_KEY');
      const badRef = await as('admin').post(`${api}/jobs`, {
        job_id: 'bad-ref',
        handler: 'http-request',
        kwargs: { url: `${listener.url}/ok`, headers: { A: { $secret: '../x' } } },
      });
      assertProblem(badRef, 400);
      assertProblem(await as('reader').get(`${api}/jobs/missing-ref`), 404);
    });

    it('the worker sends the real value; output, error and failure record show only [secret:NAME]', async () => {
      // Created paused: the runs below are the only ones.
      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'with-secret',
          handler: 'http-request',
          // capture_body: the listener echoes the headers it got, so the output would hold the value.
          kwargs: { url: `${listener.url}/ok`, headers: { Authorization: { $secret: 'api-token' } }, capture_body: true },
          state: 'paused',
        })
        .expect(201);
      const ok = await runToEnd('with-secret');
      assert.equal(ok.status, 'succeeded', JSON.stringify(ok));
      assert.equal(listener.seen.at(-1)!.authorization, secretValue, 'the listener got the value');
      const output = await as('reader').get(`${api}/executions/${ok.id}/output`).expect(200);
      assert.ok(!output.text.includes(secretValue), output.text);
      assert.ok(output.text.includes('[secret:api-token]'), `the output shows the marker where the listener echoed the value: ${output.text}`);
      assert.deepEqual(ok.kwargs.headers, { Authorization: { $secret: 'api-token' } }, 'the run keeps the reference');

      // A failing run: the error and the failure record, too.
      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'secret-fails',
          handler: 'echo',
          kwargs: { note: { $secret: 'api-token' }, nested: [{ again: { $secret: 'api-token' } }] },
          state: 'paused',
        })
        .expect(201);
      const echoed = await runToEnd('secret-fails');
      assert.equal(echoed.status, 'succeeded');
      const echoOut = await as('reader').get(`${api}/executions/${echoed.id}/output`).expect(200);
      assert.ok(!echoOut.text.includes(secretValue) && !echoOut.text.includes(secretValue.slice(7)), echoOut.text);
      assert.match(echoOut.body.lines.join('\n'), /"note":"\[secret:api-token\]","nested":\[\{"again":"\[secret:api-token\]"\}\]/);

      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'secret-500',
          handler: 'http-request',
          kwargs: { url: `${listener.url}/fail`, headers: { Authorization: { $secret: 'api-token' } }, capture_body: true },
          state: 'paused',
        })
        .expect(201);
      const failed = await runToEnd('secret-500');
      assert.equal(failed.status, 'failed');
      const failure = await waitFor('the failure record', async () => {
        const list = (await as('reader').get(`${api}/jobs?job_type=failed`).expect(200)).body;
        return list.jobs.find((f: { execution_id: string }) => f.execution_id === failed.id);
      });
      assert.deepEqual(failure.kwargs.headers, { Authorization: { $secret: 'api-token' } });
      const failedOut = await as('reader').get(`${api}/executions/${failed.id}/output`).expect(200);
      assert.ok(failedOut.text.includes('[secret:api-token]'), failedOut.text);
      for (const text of [JSON.stringify(failure), JSON.stringify(failed), failedOut.text]) assert.ok(!text.includes(secretValue), text);
    });

    it('a write token may run a job that refers to a secret, but not with kwargs of its own', async () => {
      const plain = await as('writer').post(`${api}/jobs/with-secret/executions`).expect(202);
      assert.equal(plain.body.execution_ids.length, 1);
      const redirected = await as('writer').post(`${api}/jobs/with-secret/executions`, { kwargs: { url: `${listener.url}/elsewhere` } });
      assertProblem(redirected, 403);
      assert.equal(redirected.body.errors[0].field, 'body.kwargs');
      await as('admin')
        .post(`${api}/jobs/with-secret/executions`, { kwargs: { request_timeout: 5 } })
        .expect(202);
      // A job without secrets takes a write token's kwargs as before.
      await as('writer')
        .post(`${api}/jobs/inline-none/executions`, { kwargs: { message: 'x' } })
        .expect(404);
      const wholeRef = await as('admin').post(`${api}/jobs`, { job_id: 'whole-ref', handler: 'echo', kwargs: { $secret: 'api-token' } });
      assertProblem(wholeRef, 400);
      assert.equal(wholeRef.body.errors[0].field, 'body.kwargs');
      await waitFor('the runs above to end', async () => {
        const runs = (await as('reader').get(`${api}/jobs/with-secret/executions`).expect(200)).body.executions;
        return runs.every((e: { status: string }) => !['queued', 'running'].includes(e.status));
      });
    });

    it('a flow hands its children the reference, not the value', async () => {
      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'flow-secret',
          handler: 'flow-scheduling',
          kwargs: { flow_name: 'echo', flow_arguments: [{ token_for_child: { $secret: 'api-token' } }] },
          state: 'paused',
        })
        .expect(201);
      const parent = await runToEnd('flow-secret');
      const child = await waitFor('the child run', async () => {
        const list = (await as('reader').get(`${api}/executions?parent_id=${parent.id}`).expect(200)).body;
        const c = list.executions[0];
        return c && c.status === 'succeeded' ? c : null;
      });
      assert.deepEqual(child.kwargs, { token_for_child: { $secret: 'api-token' } });
      const rows = await svc.service.store.getExecutions([child.id]);
      assert.ok(!JSON.stringify(rows).includes(secretValue), 'the stored child run holds the reference only');
      const out = await as('reader').get(`${api}/executions/${child.id}/output`).expect(200);
      assert.ok(out.text.includes('[secret:api-token]') && !out.text.includes(secretValue), out.text);
    });

    it('run-script takes a secret as an argument: the script gets the value, its output shows the marker', async () => {
      await as('admin')
        .post(`${api}/jobs/run-script?job_id=script-secret&state=paused`, { script: 'hello.sh', args: [{ $secret: 'api-token' }] })
        .expect(201);
      const run = await runToEnd('script-secret');
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      const out = (await as('reader').get(`${api}/executions/${run.id}/output`).expect(200)).body.lines.join('\n');
      // hello.sh prints its argument: the worker put the value there, and its marker here.
      assert.match(out, /Hello, \[secret:api-token\]!/);
      assert.ok(!out.includes(secretValue));
    });

    it('a changed value reaches the next run; a deleted secret fails the next run with an error naming it', async () => {
      const put = await as('admin').put(`${api}/secrets/api-token`, { value: rotatedValue }).expect(200);
      assert.equal(put.body.updated_by, 'admin');
      assert.ok(!put.text.includes(rotatedValue));
      const run = await runToEnd('with-secret');
      assert.equal(run.status, 'succeeded');
      assert.equal(listener.seen.at(-1)!.authorization, rotatedValue);

      // PUT creates a secret that does not exist.
      await as('admin').put(`${api}/secrets/made-by-put`, { value: 'value-made-by-put' }).expect(201);

      await as('admin').delete(`${api}/secrets/api-token`).expect(204);
      const seen = listener.seen.length;
      const lost = await runToEnd('with-secret');
      assert.equal(lost.status, 'failed');
      assert.match(lost.error, /secret 'api-token' does not exist/);
      assert.equal(listener.seen.length, seen, 'nothing was sent');
      assert.deepEqual(
        (await as('reader').get(`${api}/jobs/with-secret`).expect(200)).body.kwargs.headers,
        { Authorization: { $secret: 'api-token' } },
        'the job keeps its reference',
      );
      // Created again, the job works again.
      await as('admin').post(`${api}/secrets`, { name: 'api-token', value: secretValue }).expect(201);
      assert.equal((await runToEnd('with-secret')).status, 'succeeded');
    });

    it('inline credentials still work for runs, and every read shows them redacted', async () => {
      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'inline-creds',
          handler: 'http-request',
          kwargs: {
            url: `${listener.url}/ok`,
            capture_body: true,
            method: 'POST',
            headers: { 'X-Api-Key': inlineToken, Cookie: `sid=${inlineToken}`, 'X-Plain': 'visible' },
            body: { password: inlinePassword, user: 'u' },
          },
          state: 'paused',
        })
        .expect(201);
      const run = await runToEnd('inline-creds');
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      const got = listener.seen.at(-1)!;
      assert.equal(got['x-api-key'], inlineToken, 'the stored value is sent');
      assert.equal(got.cookie, `sid=${inlineToken}`);
      const job = (await as('reader').get(`${api}/jobs/inline-creds`).expect(200)).body;
      assert.deepEqual(job.kwargs, {
        url: `${listener.url}/ok`,
        capture_body: true,
        method: 'POST',
        headers: { 'X-Api-Key': '[redacted]', Cookie: '[redacted]', 'X-Plain': 'visible' },
        body: { password: '[redacted]', user: 'u' },
      });
      const out = await as('reader').get(`${api}/executions/${run.id}/output`).expect(200);
      assert.ok(out.text.includes('[redacted]') && out.text.includes('visible'), out.text);

      // A URL's password, in kwargs, in the run's output and in its error.
      const dsn = `postgres://report:${inlinePassword}@db.internal:5432/reports`;
      await as('admin')
        .post(`${api}/jobs`, {
          job_id: 'inline-url',
          handler: 'echo',
          kwargs: { dsn, Authorization: `Basic ${inlineToken}`, hook: `https://hooks.example/x?page=2&access_token=${inlineToken}` },
          state: 'paused',
        })
        .expect(201);
      const echoed = await runToEnd('inline-url');
      const echoJob = (await as('reader').get(`${api}/jobs/inline-url`).expect(200)).body;
      assert.deepEqual(echoJob.kwargs, {
        dsn: 'postgres://report:[redacted]@db.internal:5432/reports',
        Authorization: '[redacted]',
        hook: 'https://hooks.example/x?page=2&access_token=[redacted]',
      });
      const echoOut = (await as('reader').get(`${api}/executions/${echoed.id}/output`).expect(200)).text;
      assert.ok(echoOut.includes('report:[redacted]@db.internal'), echoOut);
      await as('admin')
        .post(`${api}/jobs`, { job_id: 'inline-url-fails', handler: 'http-request', kwargs: { url: `http://svc:${inlinePassword}@127.0.0.1:1/` }, state: 'paused' })
        .expect(201);
      const failed = await runToEnd('inline-url-fails');
      assert.equal(failed.status, 'failed');
      assert.match(failed.error, /svc:\[redacted\]@127\.0\.0\.1/);
    });

    it('a read token finds no secret or inline credential anywhere: jobs, runs, failures, output, audit, metrics, log, export', async () => {
      const values = [secretValue, rotatedValue, inlineToken, inlinePassword, 'value-made-by-put', key, T.admin];
      const reads: Array<[string, string]> = [];
      const read = async (url: string, who: keyof typeof T = 'reader') => {
        const res = await as(who).get(url).expect(200);
        reads.push([url, res.text]);
        return res.body;
      };
      await read(`${api}/jobs?job_type=all`);
      for (const id of ['with-secret', 'secret-fails', 'secret-500', 'flow-secret', 'inline-creds', 'inline-url', 'inline-url-fails']) {
        await read(`${api}/jobs/${id}`);
        const runs = await read(`${api}/jobs/${id}/executions`);
        for (const e of runs.executions) {
          await read(`${api}/executions/${e.id}`);
          await read(`${api}/executions/${e.id}/output`);
        }
      }
      await read(`${api}/executions?limit=1000`);
      await read(`${api}/audit?limit=1000`, 'admin');
      await read(`${api}/secrets`, 'admin');
      reads.push(['metrics', (await svc.http.get(`${api}/metrics`).expect(200)).text]);
      reads.push(['log', captured.lines.join('\n')]);
      const exported = await exportJobs(svc.service.store, exportDir);
      assert.ok(exported.files.length >= 5);
      assert.equal((await fs.stat(exportDir)).mode & 0o777, 0o700);
      for (const { file } of exported.files) {
        const p = path.join(exportDir, file);
        assert.equal((await fs.stat(p)).mode & 0o777, 0o600, `${file} is readable by its owner only`);
        reads.push([p, await fs.readFile(p, 'utf8')]);
      }
      const inlineFile = await fs.readFile(path.join(exportDir, 'inline-creds.yaml'), 'utf8');
      assert.match(inlineFile, /X-Api-Key: "?\[redacted\]"?/);
      assert.match(inlineFile, /# Credentials its kwargs held inline are written as \[redacted\]/);
      assert.match(await fs.readFile(path.join(exportDir, 'with-secret.yaml'), 'utf8'), /\$secret: api-token/);
      assert.ok(captured.lines.length > 10, 'the log was captured');
      for (const [where, text] of reads) {
        for (const v of values) assert.ok(!text.includes(v), `${where} shows ${v.slice(0, 6)}...`);
      }
    });
  });
}

describe('secrets without JOBS_SECRETS_KEY', () => {
  let db: TestDatabase;
  let svc: Running;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db);
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('the service runs; storing a secret answers 409 saying the key is not configured; listing works', async () => {
    const res = await svc.http.post(`${api}/secrets`).send({ name: 'x', value: 'y' });
    assertProblem(res, 409, 'Secrets key not configured');
    assert.match(res.body.detail, /JOBS_SECRETS_KEY is not set/);
    assertProblem(await svc.http.put(`${api}/secrets/x`).send({ value: 'y' }), 409, 'Secrets key not configured');
    assert.deepEqual((await svc.http.get(`${api}/secrets`).expect(200)).body, { secrets: [], next_cursor: null });
    await svc.http.get(`${api}/liveness`).expect(200);
    await svc.http.post(`${api}/jobs/echo?job_id=plain`).send({ message: 'hi' }).expect(201);
  });

  it('a run that refers to a secret fails, naming it and the missing key', async () => {
    // Stored by a process that had the key, then read by this one that has none.
    const sealed = loadConfig({ JOBS_SECRETS_KEY: key }).secretsKeyring!.seal('kept', 'v');
    const now = new Date();
    await svc.service.store.insertSecret({ name: 'kept', ...sealed, created_at: now, updated_at: now, created_by: null, updated_by: null });
    await svc.http
      .post(`${api}/jobs`)
      .send({ job_id: 'needs-key', handler: 'echo', kwargs: { v: { $secret: 'kept' } }, state: 'paused' })
      .expect(201);
    const queued = await svc.http.post(`${api}/jobs/needs-key/executions`).expect(202);
    const run = await waitFor('the run to fail', async () => {
      const e = (await svc.http.get(`${api}/executions/${queued.body.execution_ids[0]}`).expect(200)).body;
      return e.status === 'failed' ? e : null;
    });
    assert.match(run.error, /secret 'kept' cannot be opened: JOBS_SECRETS_KEY is not set/);
  });
});

describe('secrets through the client SDK and jobsctl', () => {
  let db: TestDatabase;
  let svc: Running;
  let baseUrl: string;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { JOBS_API_TOKENS: tokens, JOBS_SECRETS_KEY: key });
    baseUrl = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  /** Runs jobsctl in this process with `stdin`; resolves with its exit code and what it wrote. */
  async function jobsctl(args: string[], stdin = '') {
    const text = { out: '', err: '' };
    const sink = (k: 'out' | 'err') => new Writable({ write: (c, _e, done) => ((text[k] += c.toString()), done()) });
    const code = await main(['--url', baseUrl, '--token', T.admin, ...args], { stdout: sink('out'), stderr: sink('err'), stdin: Readable.from([stdin]) });
    return { code, ...text };
  }

  it('the client creates, lists, rotates and deletes; a read token is refused', async () => {
    const admin = createClient({ baseUrl, token: T.admin });
    const created = await admin.secrets.create('sdk-secret', 'sdk-value-1');
    assert.equal(created.name, 'sdk-secret');
    assert.deepEqual(
      (await admin.secrets.list()).secrets.map((s) => s.name),
      ['sdk-secret'],
    );
    assert.equal((await admin.secrets.set('sdk-secret', 'sdk-value-2')).updated_by, 'admin');
    await assert.rejects(admin.secrets.create('sdk-secret', 'x'), (e: unknown) => e instanceof ProblemError && e.status === 409);
    await assert.rejects(createClient({ baseUrl, token: T.reader }).secrets.list(), (e: unknown) => e instanceof ProblemError && e.status === 403);
    await admin.secrets.delete('sdk-secret');
    await assert.rejects(admin.secrets.get('sdk-secret'), (e: unknown) => e instanceof ProblemError && e.status === 404);
  });

  it('jobsctl reads the value from stdin and never prints it', async () => {
    const value = `cli-${random()}`;
    const set = await jobsctl(['secrets', 'create', 'cli-secret'], `${value}\n`);
    assert.equal(set.code, 0, set.err);
    assert.equal(set.out, 'secret cli-secret created\n');
    const list = await jobsctl(['secrets', 'list']);
    assert.match(list.out, /^SECRET +UPDATED +UPDATED BY +CREATED +KEY\ncli-secret +\S+ \S+ +admin +/);
    const shown = await jobsctl(['--json', 'secrets', 'get', 'cli-secret']);
    assert.equal(JSON.parse(shown.out).name, 'cli-secret');
    for (const r of [set, list, shown]) assert.ok(!r.out.includes(value) && !r.err.includes(value));
    const [stored] = await svc.service.store.getSecrets(['cli-secret']);
    assert.equal(svc.config.secretsKeyring!.open('cli-secret', stored), value, 'stored without the final newline');
    assert.equal((await jobsctl(['secrets', 'set', 'cli-secret'], 'rotated')).code, 0);
    assert.equal((await jobsctl(['secrets', 'delete', 'cli-secret'])).out, 'secret cli-secret deleted\n');
    const again = await jobsctl(['secrets', 'delete', 'cli-secret']);
    assert.equal(again.code, 1);
    assert.match(again.err, /Secret not found \(404\)/);
  });
});
