/**
 * Notifications against receivers this test starts on 127.0.0.1: a webhook receiver that
 * checks each request's signature, a Slack-compatible receiver, a real SMTP server (the
 * smtp-server package); and a target the jobs call, answering 500 or 200 as the test says.
 * A job fails three times, pauses itself, and a signed webhook and an e-mail arrive; a
 * receiver's 500s are tried again until it takes the delivery; late runs are notified once.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { main } from '../src/cli/program.js';
import { createClient } from '../src/client/index.js';
import type { components } from '../src/generated/openapi.js';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

const api = '/api/v1';
type Delivery = components['schemas']['Delivery'];
const signingKey = 'whsec-test-signing-key';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  /** Whether X-Jobs-Signature matched the HMAC of `timestamp.body` under signingKey. */
  verified: boolean;
  status: number;
}

/** Verifies a signed delivery as a receiver would: the timestamp near now, the HMAC in constant time. */
function verify(headers: http.IncomingHttpHeaders, body: string, key: string): boolean {
  const timestamp = headers['x-jobs-timestamp'];
  const given = headers['x-jobs-signature'];
  if (typeof timestamp !== 'string' || typeof given !== 'string' || !given.startsWith('sha256=')) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex'));
  const got = Buffer.from(given.slice('sha256='.length));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** An HTTP receiver: records each request; `answers` (by path) says the status of the next ones, then 200. */
async function receiver() {
  const received: Received[] = [];
  const answers = new Map<string, number[]>();
  let targetStatus = 500;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path.startsWith('/target')) {
        // What the jobs call: fails while targetStatus is 500; /target/slow answers after 3 s.
        const delay = path.startsWith('/target/slow') ? 3000 : 0;
        setTimeout(() => res.writeHead(targetStatus).end(), delay);
        return;
      }
      const status = answers.get(path)?.shift() ?? 200;
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // Recorded as it came.
      }
      received.push({ path, headers: req.headers, body, json, verified: verify(req.headers, body, signingKey), status });
      res.writeHead(status).end(status === 200 ? 'ok' : 'receiver down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    received,
    answers,
    setTarget: (s: number) => (targetStatus = s),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 keeping every message; no TLS, no login. */
async function smtpReceiver() {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as net.AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Runs jobsctl's main in this process with its output kept. */
async function jobsctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const keep = () => {
    const w = Object.assign(
      new Writable({
        write(chunk: Buffer | string, _e, done) {
          w.text += chunk.toString();
          done();
        },
      }),
      { text: '' },
    );
    return w;
  };
  const stdout = keep();
  const stderr = keep();
  const code = await main(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

noticeSkippedStores();

for (const { name, skip } of stores) {
  describe(`notifications on ${name}`, { skip, timeout: 240_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let hooks: Awaited<ReturnType<typeof receiver>>;
    let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
    let n = 0;
    const secretsKey = randomBytes(32).toString('base64');

    before(async () => {
      hooks = await receiver();
      smtp = await smtpReceiver();
      db = await testDatabase(name);
      svc = await startService(db, {
        JOBS_SMTP_HOST: '127.0.0.1',
        JOBS_SMTP_PORT: String(smtp.port),
        JOBS_SMTP_FROM: 'jobs@example.com',
        JOBS_NOTIFY_POLL_MS: '100',
        JOBS_NOTIFY_BACKOFF_MS: '200',
        JOBS_NOTIFY_MAX_ATTEMPTS: '4',
        JOBS_SECRETS_KEY: secretsKey,
      });
    });

    after(async () => {
      await svc?.close();
      await db?.drop();
      await hooks?.close();
      await smtp?.close();
    });

    const jobId = (what: string) => `${what}-${++n}`;
    /** A job that calls the target: it fails while the target answers 500. It fires only when run. */
    const createJob = async (id: string, extra: Record<string, unknown>, path = '/target') =>
      svc.http
        .post(`${api}/jobs`)
        .send({ job_id: id, handler: 'http-request', kwargs: { url: `${hooks.url}${path}`, method: 'POST' }, when: '2099-01-01T00:00:00Z', ...extra })
        .expect(201);
    /** Runs the job once and waits for the run's end. */
    const runOnce = async (id: string) => {
      const runId = (await svc.http.post(`${api}/jobs/${id}/executions`).expect(202)).body.execution_ids[0] as string;
      return waitFor(`run ${runId} to end`, async () => {
        const r = (await svc.http.get(`${api}/executions/${runId}`).expect(200)).body;
        return ['queued', 'running'].includes(r.status) ? null : (r as { id: string; status: string });
      });
    };
    const deliveries = async (id: string) => (await svc.http.get(`${api}/notifications/deliveries?job_id=${id}`).expect(200)).body.deliveries as Delivery[];
    const hooksOf = (path: string) => hooks.received.filter((r) => r.path === path);

    it('refuses bad rules, auto-pause and deadline with 400 naming every field, and stores nothing', async () => {
      const id = jobId('bad');
      const refused = async (body: Record<string, unknown>, expected: string[]) => {
        const res = await svc.http
          .post(`${api}/jobs`)
          .send({ job_id: id, handler: 'echo', ...body })
          .expect(400);
        assert.equal(res.headers['content-type'], 'application/problem+json');
        const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field);
        for (const f of expected) assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
      };
      // What the document's schemas refuse...
      await refused({ notify: [{ on: ['exploded'], webhook: { url: `${hooks.url}/hook` } }], pause_after_failures: 0, deadline: { start_within: 0 } }, [
        'body.notify.0.on.0',
        'body.pause_after_failures',
        'body.deadline.start_within',
      ]);
      // ...and what only the rules' check can tell.
      await refused(
        {
          notify: [
            { on: ['failed'], webhook: { url: `${hooks.url}/hook` }, slack: { url: `${hooks.url}/slack` } },
            { on: ['failed'], email: { to: ['not an address'] } },
            { on: ['late'], webhook: { url: 'ftp://example.com/x' } },
            { on: ['late'] },
          ],
          deadline: {},
        },
        ['body.notify.0', 'body.notify.1.email.to.0', 'body.notify.2.webhook.url', 'body.notify.3', 'body.deadline'],
      );
      await svc.http.get(`${api}/jobs/${id}`).expect(404);
    });

    it('shows the fields in every read, credentials redacted, references kept', async () => {
      await svc.http.put(`${api}/secrets/hook-key`).send({ value: 'from-the-secret-store' }).expect(201);
      const id = jobId('shown');
      const created = await createJob(id, {
        notify: [
          { on: ['failed'], webhook: { url: `${hooks.url}/hook/with-token?key=abc`, secret: 'inline-signing-secret' } },
          { on: ['failed'], webhook: { url: `${hooks.url}/hook`, secret: { $secret: 'hook-key' } } },
          { on: ['late'], email: { to: 'ops@example.com' } },
        ],
        pause_after_failures: 5,
        deadline: { run_within: 60 },
      });
      for (const job of [created.body.job, (await svc.http.get(`${api}/jobs/${id}`).expect(200)).body]) {
        const text = JSON.stringify(job);
        assert.ok(!text.includes('inline-signing-secret') && !text.includes('with-token') && !text.includes('key=abc'), text);
        assert.deepEqual(job.notify[0].webhook, { url: `${hooks.url}/[redacted]`, secret: '[redacted]' });
        assert.deepEqual(job.notify[1].webhook.secret, { $secret: 'hook-key' });
        assert.deepEqual(job.notify[2], { on: ['late'], email: { to: ['ops@example.com'] } });
        assert.equal(job.pause_after_failures, 5);
        assert.deepEqual(job.deadline, { start_within: null, run_within: 60 });
      }
      const plain = (await svc.http.post(`${api}/jobs`).send({ handler: 'echo', when: '2099-01-01T00:00:00Z' }).expect(201)).body.job;
      assert.deepEqual([plain.notify, plain.pause_after_failures, plain.deadline], [[], null, null]);
      const listed = (await svc.http.get(`${api}/jobs?job_type=user`).expect(200)).body.jobs.find((j: { job_id: string }) => j.job_id === id);
      assert.equal(listed.notify.length, 3);
    });

    it('a job fails three times, pauses itself; a signed webhook, a Slack message and an e-mail arrive', async () => {
      hooks.setTarget(500);
      const id = jobId('pausing');
      await createJob(id, {
        notify: [
          { on: ['failed', 'recovered', 'paused'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } },
          { on: ['paused'], slack: { url: `${hooks.url}/slack/${id}` } },
          { on: ['failed'], email: { to: ['ops@example.com', 'oncall@example.com'] } },
        ],
        pause_after_failures: 3,
      });
      for (let i = 1; i <= 3; i++) {
        const run = await runOnce(id);
        assert.equal(run.status, 'failed');
      }
      // The pause is written just after the run's end, so a read can fall between the two.
      const job = await waitFor('the pause', async () => {
        const j = (await svc.http.get(`${api}/jobs/${id}`).expect(200)).body;
        return j.state === 'paused' ? j : null;
      });
      assert.equal(job.next_run_time, null);

      const webhooks = await waitFor('4 webhooks', async () => (hooksOf(`/hook/${id}`).length >= 4 ? hooksOf(`/hook/${id}`) : null));
      assert.deepEqual(webhooks.map((w) => w.json.event).sort(), ['failed', 'failed', 'failed', 'paused']);
      for (const w of webhooks) {
        assert.ok(w.verified, `signature of ${w.body}`);
        assert.equal(w.headers['content-type'], 'application/json');
        assert.equal((w.json.job as { job_id: string }).job_id, id);
      }
      const paused = webhooks.find((w) => w.json.event === 'paused')!;
      assert.match(String(paused.json.message), /paused itself after 3 failed run\(s\) in a row/);
      assert.equal((paused.json.job as { state: string }).state, 'paused');
      const failed = webhooks.find((w) => w.json.event === 'failed')!;
      assert.equal((failed.json.execution as { status: string }).status, 'failed');
      assert.match(String((failed.json.execution as { error: string }).error), /answered 500/);
      // A signature under another key does not verify: the check is real.
      assert.equal(verify(paused.headers, paused.body, 'another-key'), false);

      const slack = await waitFor('the Slack message', async () => hooksOf(`/slack/${id}`)[0]);
      assert.deepEqual(Object.keys(slack.json), ['text']);
      assert.match(String(slack.json.text), new RegExp(`job ${id} \\(http-request\\): paused itself`));

      // The e-mail rule is on failed: it gets the three failures and the pause they caused.
      const mails = await waitFor('4 e-mails', async () => {
        const m = smtp.mails.filter((x) => x.raw.includes(id));
        return m.length >= 4 ? m : null;
      });
      for (const m of mails) {
        assert.equal(m.from, 'jobs@example.com');
        assert.deepEqual(m.to.sort(), ['oncall@example.com', 'ops@example.com']);
      }
      const subjects = mails.map((m) => /^Subject: (.*)$/m.exec(m.raw)![1].trim()).sort();
      assert.deepEqual(subjects, [...Array(3).fill(`[jobs-service] failed: job ${id}`), `[jobs-service] paused: job ${id}`]);
      const listed = await waitFor('every delivery delivered', async () => {
        const d = await deliveries(id);
        return d.length === 9 && d.every((x) => x.status === 'delivered') ? d : null;
      });
      assert.deepEqual(listed.map((d) => d.channel).sort(), ['email', 'email', 'email', 'email', 'slack', 'webhook', 'webhook', 'webhook', 'webhook']);
      for (const d of listed) {
        assert.equal(d.attempts.length, 1);
        assert.equal(d.attempts[0].ok, true);
        assert.ok(!JSON.stringify(d).includes(signingKey));
      }
      assert.equal(listed.find((d) => d.channel === 'webhook')!.target.secret, '[redacted]');
      assert.equal(listed.find((d) => d.channel === 'email')!.attempts[0].code, 250);

      // Resumed, it counts afresh: one more failure does not pause it again.
      await svc.http.put(`${api}/jobs/${id}?state=running`).expect(200);
      assert.equal((await runOnce(id)).status, 'failed');
      assert.equal((await svc.http.get(`${api}/jobs/${id}`).expect(200)).body.state, 'running');
    });

    it('tells of the first success after failures, once', async () => {
      hooks.setTarget(500);
      const id = jobId('recovering');
      await createJob(id, { notify: [{ on: ['recovered'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } }] });
      assert.equal((await runOnce(id)).status, 'failed');
      assert.equal((await runOnce(id)).status, 'failed');
      hooks.setTarget(200);
      const ok = await runOnce(id);
      assert.equal(ok.status, 'succeeded');
      assert.equal((await runOnce(id)).status, 'succeeded');
      const got = await waitFor('the recovery', async () => hooksOf(`/hook/${id}`)[0]);
      assert.equal(got.json.event, 'recovered');
      assert.equal((got.json.execution as { id: string }).id, ok.id);
      assert.match(String(got.json.message), /succeeded after 2 failed run\(s\) in a row/);
      await svc.service.notifier.tick();
      assert.equal(hooksOf(`/hook/${id}`).length, 1);
      hooks.setTarget(500);
    });

    it("tries a receiver's 500s again with backoff, recording each try, until it takes the delivery", async () => {
      hooks.setTarget(500);
      const id = jobId('retried');
      hooks.answers.set(`/hook/${id}`, [500, 500]);
      await createJob(id, { notify: [{ on: ['failed'], webhook: { url: `${hooks.url}/hook/${id}`, secret: { $secret: 'hook-key' } } }] });
      await svc.http.put(`${api}/secrets/hook-key`).send({ value: signingKey }).expect(200);
      await runOnce(id);
      const [d] = await waitFor('the delivery delivered', async () => {
        const list = await deliveries(id);
        return list.length === 1 && list[0].status === 'delivered' ? list : null;
      });
      assert.deepEqual(
        d.attempts.map((a) => a.code),
        [500, 500, 200],
      );
      assert.match(String(d.attempts[0].error), /answered 500: receiver down/);
      const [t1, t2, t3] = d.attempts.map((a) => Date.parse(a.at));
      // Backoff 200 ms, then 400 ms: at least that far apart.
      assert.ok(t2 - t1 >= 200 && t3 - t2 >= 400, `tries at ${d.attempts.map((a) => a.at).join(', ')}`);
      const got = hooksOf(`/hook/${id}`);
      assert.equal(got.length, 3);
      // Every try carries the same event and is signed with the secret's value.
      assert.equal(new Set(got.map((g) => g.json.event_id)).size, 1);
      assert.ok(got.every((g) => g.verified));
      assert.deepEqual(d.target.secret, { $secret: 'hook-key' });
    });

    it('gives up after JOBS_NOTIFY_MAX_ATTEMPTS tries, recording the delivery as failed', async () => {
      const id = jobId('given-up');
      hooks.answers.set(`/hook/${id}`, [503, 503, 503, 503, 503]);
      await createJob(id, { notify: [{ on: ['failed'], webhook: { url: `${hooks.url}/hook/${id}` } }] });
      await runOnce(id);
      const [d] = await waitFor('the delivery failed', async () => {
        const list = await deliveries(id);
        return list.length === 1 && list[0].status === 'failed' ? list : null;
      });
      assert.equal(d.attempts.length, 4);
      assert.ok(d.attempts.every((a) => !a.ok && a.code === 503));
      const failedOnly = (await svc.http.get(`${api}/notifications/deliveries?status=failed`).expect(200)).body.deliveries;
      assert.ok(failedOnly.some((x: { id: string }) => x.id === d.id));
      assert.ok(failedOnly.every((x: { status: string }) => x.status === 'failed'));
    });

    it('service-wide defaults apply to every job; an empty list removes them', async () => {
      const put = await svc.http
        .put(`${api}/service/notify`)
        .send({ notify: [{ on: ['failed'], slack: { url: `${hooks.url}/slack/defaults/T000/B000/XXXX` } }] })
        .expect(200);
      assert.deepEqual(put.body.notify, [{ on: ['failed'], slack: { url: `${hooks.url}/[redacted]` } }]);
      assert.ok(put.body.updated_at);
      assert.deepEqual((await svc.http.get(`${api}/service/notify`).expect(200)).body.notify, put.body.notify);
      await svc.http
        .put(`${api}/service/notify`)
        .send({ notify: [{ on: ['failed'], email: { to: ['x@'] } }] })
        .expect(400);
      const id = jobId('defaulted');
      await createJob(id, {});
      await runOnce(id);
      const slack = await waitFor('the default rule', async () => hooksOf('/slack/defaults/T000/B000/XXXX').find((r) => String(r.json.text).includes(id)));
      assert.match(String(slack.json.text), /failed/);
      await svc.http.put(`${api}/service/notify`).send({ notify: [] }).expect(200);
      const other = jobId('undefaulted');
      await createJob(other, {});
      await runOnce(other);
      await svc.service.notifier.tick();
      assert.deepEqual(await deliveries(other), []);
    });

    it('tells of a run running longer than run_within, once', async () => {
      hooks.setTarget(200);
      const id = jobId('slow');
      await createJob(id, { notify: [{ on: ['late'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } }], deadline: { run_within: 1 } }, '/target/slow');
      const run = await runOnce(id);
      assert.equal(run.status, 'succeeded');
      const late = await waitFor('the late notice', async () => hooksOf(`/hook/${id}`)[0]);
      assert.equal(late.json.event, 'late');
      assert.match(String(late.json.late), /longer than 1 s \(deadline.run_within\)/);
      assert.ok(late.verified);
      await svc.service.notifier.tick();
      await svc.service.notifier.tick();
      assert.equal(hooksOf(`/hook/${id}`).length, 1);
      // The mark is the store's: a second marking of the same key marks nothing.
      assert.deepEqual(await svc.service.store.markOnce([`late:run:${id}:${run.id}`], new Date()), []);
      hooks.setTarget(500);
    });

    it(
      'two processes on one database: a late run is notified once, a delivery sent once',
      { skip: name === 'embedded' ? 'one process owns an embedded database' : false },
      async () => {
        const second = await startService(db, {
          JOBS_WORKER: 'false',
          JOBS_NOTIFY_POLL_MS: '50',
          JOBS_SECRETS_KEY: secretsKey,
        });
        try {
          hooks.setTarget(200);
          const id = jobId('two-processes');
          await createJob(id, { notify: [{ on: ['late'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } }], deadline: { run_within: 1 } }, '/target/slow');
          const run = await runOnce(id);
          assert.equal(run.status, 'succeeded');
          await waitFor('the late notice', async () => hooksOf(`/hook/${id}`)[0]);
          await Promise.all([svc.service.notifier.tick(), second.service.notifier.tick()]);
          assert.equal(hooksOf(`/hook/${id}`).length, 1);
          const [d] = await deliveries(id);
          assert.equal(d.attempts.length, 1);
        } finally {
          await second.close();
          hooks.setTarget(500);
        }
      },
    );

    it('tells of a fire not started within start_within, then of its missed record', async () => {
      const id = jobId('overdue');
      const when = new Date(Date.now() + 1000).toISOString();
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      try {
        await svc.http
          .post(`${api}/jobs`)
          .send({
            job_id: id,
            handler: 'echo',
            when,
            misfire_grace_time: 1,
            notify: [{ on: ['late', 'missed'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } }],
            deadline: { start_within: 1 },
          })
          .expect(201);
        const late = await waitFor('the late notice', async () => hooksOf(`/hook/${id}`).find((r) => r.json.event === 'late'));
        assert.match(String(late.json.late), new RegExp(`the fire due at ${when.replace(/\./g, '\\.')} has not started within 1 s`));
        assert.equal(late.json.execution, null);
      } finally {
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
      }
      const missed = await waitFor('the missed notice', async () => hooksOf(`/hook/${id}`).find((r) => r.json.event === 'missed'), 20_000);
      assert.equal((missed.json.execution as { status: string }).status, 'missed');
      assert.equal(hooksOf(`/hook/${id}`).filter((r) => r.json.event === 'late').length, 1);
    });

    it('jobsctl and the SDK: create with rules, list deliveries, get and set the defaults', async () => {
      const port = await svc.service.listen();
      const url = `http://127.0.0.1:${port}/api/v1`;
      const id = jobId('cli');
      hooks.setTarget(500);
      const created = await jobsctl([
        '--url',
        url,
        'jobs',
        'create',
        '--handler',
        'http-request',
        '--id',
        id,
        '--kwargs',
        JSON.stringify({ url: `${hooks.url}/target`, method: 'POST' }),
        '--when',
        '2099-01-01T00:00:00Z',
        '--notify',
        JSON.stringify([{ on: ['failed'], webhook: { url: `${hooks.url}/hook/${id}`, secret: signingKey } }]),
        '--pause-after-failures',
        '2',
        '--start-within',
        '30',
      ]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`notify:\\s+failed -> webhook ${hooks.url.replace(/\./g, '\\.')}/\\[redacted\\]`));
      assert.match(created.stdout, /pause after:\s+2 failed runs in a row/);
      assert.match(created.stdout, /deadline:\s+start within 30s/);
      await runOnce(id);
      const client = createClient({ baseUrl: url });
      const listed = await waitFor('the delivery', async () => {
        const r = await client.notifications.deliveries({ job_id: id });
        return r.deliveries[0]?.status === 'delivered' ? r : null;
      });
      assert.equal(listed.deliveries[0].event, 'failed');
      const table = await jobsctl(['--url', url, 'notifications', 'deliveries', '--job', id]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`${id}\\s.*failed\\s.*webhook\\s.*delivered\\s.*1`));
      const asJson = JSON.parse((await jobsctl(['--url', url, '--json', 'notifications', 'deliveries', '--status', 'delivered', '--job', id])).stdout);
      assert.equal(asJson.deliveries[0].id, listed.deliveries[0].id);

      const set = await jobsctl(['--url', url, 'service', 'notify', 'set', JSON.stringify([{ on: ['late'], email: { to: 'ops@example.com' } }])]);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /late -> email ops@example\.com/);
      assert.deepEqual((await client.service.notify()).notify, [{ on: ['late'], email: { to: ['ops@example.com'] } }]);
      const bad = await jobsctl(['--url', url, 'service', 'notify', 'set', JSON.stringify([{ on: ['late'] }])]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /notify\.0/);
      await client.service.setNotify([]);
      assert.match((await jobsctl(['--url', url, 'service', 'notify', 'get'])).stdout, /no default notification rules/);
    });

    it('adds no work to runs of jobs without rules', async () => {
      const id = jobId('quiet');
      await svc.http.post(`${api}/jobs`).send({ job_id: id, handler: 'echo', when: '2099-01-01T00:00:00Z' }).expect(201);
      const run = await runOnce(id);
      const stored = await svc.service.store.getExecution(run.id);
      assert.equal(stored!.notifies, false);
      assert.equal((await svc.service.store.getJob(id))!.failure_streak, 0);
    });
  });
}
