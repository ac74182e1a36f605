/**
 * jobsctl against the real service listening on a real port. Commands run in this process
 * through `main(argv, io)` with stdout and stderr captured; two tests run it as people do, a
 * process of its own: the package's compiled bin, and the progress bar on a terminal, which
 * script(1) provides. Checks stdout (tables and --json), stderr and the exit codes 0 (ok),
 * 1 (the service said no), 2 (usage), 3 (cannot reach) and 4 (a waited-for run did not
 * succeed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/program.js';
import { createClient, type Execution, type JobsClient } from '../src/client/index.js';
import { loadConfig, projectRoot } from '../src/config/config.js';
import { closedPort, noticeSkippedStores, startService, stores, testDatabase, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written to it. */
function captured(): Writable & { text: string } {
  const stream = Object.assign(
    new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _encoding, done) {
        stream.text += chunk.toString();
        done();
      },
    }),
    { text: '' },
  );
  return stream;
}

/** The variables jobsctl reads; each call sees only those the test gives, as a fresh process would. */
const jobsctlEnv = ['JOBS_URL', 'JOBS_TOKEN'] as const;

/** Runs jobsctl's `main` with `args` in this process, its output captured. */
async function jobsctl(args: string[], env: Partial<Record<(typeof jobsctlEnv)[number], string>> = {}): Promise<Result> {
  const saved = jobsctlEnv.map((k) => [k, process.env[k]] as const);
  for (const k of jobsctlEnv) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  const stdout = captured();
  const stderr = captured();
  try {
    const code = await main(args, { stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** The TypeScript entry, as a command line. */
const fromSource = [process.execPath, '--import', 'tsx', 'src/cli/jobsctl.ts'];

/** Runs `command` with `args` as a process of its own; the environment holds only what the test gives (and PATH). */
function spawned(command: string[], args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The service's own heartbeat interval rather than the suites' short one: these tests check
 * what jobsctl prints, and on a busy machine a worker that skips a few short heartbeats is
 * taken for gone.
 */
const heartbeat = { JOBS_HEARTBEAT_MS: String(loadConfig({}).heartbeatIntervalMs) };

const show = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** The cells of the table row whose first cell is `first`. */
function row(table: string, first: string): string[] | undefined {
  return table
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/))
    .find((cells) => cells[0] === first);
}

// jobsctl only speaks HTTP to the service: what each store does behind the API is covered by
// the API, client and store suites, so the command line runs against the embedded store.
for (const { name, skip } of stores.filter((s) => s.name === 'embedded')) {
  describe(`jobsctl on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let url: string;
    let env: Record<string, string>;
    let client: JobsClient;
    const run = (...args: string[]) => jobsctl(args, env);
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', ...heartbeat });
      url = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
      env = { JOBS_URL: url };
      client = createClient({ baseUrl: url });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('handlers: a table for people, JSON with --json', async () => {
      const table = await run('handlers');
      assert.equal(table.code, 0, show(table));
      assert.match(table.stdout, /^HANDLER\s+REQUIRED KWARGS\s+STEPS\s+DESCRIPTION/);
      assert.deepEqual(row(table.stdout, 'http-request')?.slice(0, 2), ['http-request', 'url']);
      const json = await run('handlers', '--json');
      assert.equal(json.code, 0, show(json));
      const names = (JSON.parse(json.stdout) as { handlers: Array<{ name: string }> }).handlers.map((h) => h.name);
      assert.deepEqual(
        names,
        (await client.handlers.list()).handlers.map((h) => h.name),
      );
    });

    it('jobs create maps every flag onto POST /jobs, and the service refusing says why (exit 1)', async () => {
      const created = await run(
        'jobs',
        'create',
        '--id',
        'cli-echo',
        '--handler',
        'echo',
        '--kwargs',
        '{"message":"hello"}',
        '--every',
        '1 hour',
        '--grace',
        '60',
        '--timeout',
        '30',
        '--policy',
        'allow',
        '--retries',
        '2',
        '--retry-backoff',
        '5',
      );
      assert.equal(created.code, 0, show(created));
      assert.match(created.stdout, /^job:\s+cli-echo$/m);
      assert.match(created.stdout, /^schedule:\s+every 1 hour$/m);
      const job = await client.jobs.get('cli-echo');
      assert.deepEqual(
        [job.handler, job.kwargs, job.periodically, job.misfire_grace_time, job.timeout, job.concurrency_policy, job.retries, job.retry_backoff, job.state],
        ['echo', { message: 'hello' }, '1 hour', 60, 30, 'allow', 2, 5, 'running'],
      );

      const cron = await run(
        '--json',
        'jobs',
        'create',
        '--id',
        'cli-cron',
        '--handler',
        'cleanup-executions',
        '--cron',
        '30 2 * * *',
        '--timezone',
        'Europe/Prague',
        '--grace',
        '10 minutes',
        '--paused',
      );
      assert.equal(cron.code, 0, show(cron));
      const body = JSON.parse(cron.stdout) as { job: { cron: string; timezone: string; state: string; misfire_grace_time: number } };
      assert.deepEqual([body.job.cron, body.job.timezone, body.job.state, body.job.misfire_grace_time], ['30 2 * * *', 'Europe/Prague', 'paused', 600]);

      const taken = await run('jobs', 'create', '--id', 'cli-echo', '--handler', 'echo');
      assert.equal(taken.code, 1, show(taken));
      assert.equal(taken.stdout, '');
      assert.match(taken.stderr, /Job exists \(409\)/);
      assert.match(taken.stderr, /body\.job_id: is taken/);

      const invalid = await run('jobs', 'create', '--handler', 'http-request', '--kwargs', '{"url":"ftp://example.org"}', '--every', '0 seconds');
      assert.equal(invalid.code, 1, show(invalid));
      assert.match(invalid.stderr, /Invalid request \(400\)/);
      assert.match(invalid.stderr, /body\.kwargs\.url: must match pattern/);
      assert.match(invalid.stderr, /body\.periodically: must be longer than zero/);

      const asJson = await run('--json', 'jobs', 'create', '--handler', 'no-such-handler');
      assert.equal(asJson.code, 1, show(asJson));
      const problem = JSON.parse(asJson.stderr) as { status: number; errors: Array<{ field: string }> };
      assert.equal(problem.status, 400);
      assert.ok(
        problem.errors.some((e) => e.field === 'body.handler'),
        asJson.stderr,
      );
    });

    it('jobs list, get, pause, resume and delete', async () => {
      const list = await run('jobs', 'list');
      assert.equal(list.code, 0, show(list));
      assert.match(list.stdout, /^JOB\s+HANDLER\s+STATE\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+LAST STATUS/);
      assert.deepEqual(row(list.stdout, 'cli-echo')?.slice(0, 4), ['cli-echo', 'echo', 'running', 'every 1 hour']);
      assert.deepEqual(row(list.stdout, 'cli-cron')?.slice(0, 4), ['cli-cron', 'cleanup-executions', 'paused', 'cron 30 2 * * * (Europe/Prague)']);

      const page = await run('jobs', 'list', '--limit', '1', '--json');
      assert.equal(page.code, 0, show(page));
      assert.equal(page.stderr, '');
      const first = JSON.parse(page.stdout) as { jobs: Array<{ job_id: string }>; next_cursor: string };
      assert.deepEqual(
        first.jobs.map((j) => j.job_id),
        ['cli-cron'],
      );
      const human = await run('jobs', 'list', '--limit', '1');
      assert.ok(row(human.stdout, 'cli-cron'), show(human));
      assert.equal(human.stderr, `more: add --cursor ${first.next_cursor}\n`);
      const next = await run('jobs', 'list', '--limit', '1', '--cursor', first.next_cursor);
      assert.ok(row(next.stdout, 'cli-echo'), show(next));
      assert.equal(next.stderr, '', 'the last page says no more');

      const paused = await run('jobs', 'pause', 'cli-echo');
      assert.equal(paused.stdout, 'job cli-echo paused\n', show(paused));
      assert.equal((await client.jobs.get('cli-echo')).state, 'paused');
      const got = await run('jobs', 'get', 'cli-echo');
      assert.match(got.stdout, /^state:\s+paused$/m);
      assert.match(got.stdout, /^next run:\s+-$/m);
      const resumed = await run('jobs', 'resume', 'cli-echo', '--json');
      assert.deepEqual(JSON.parse(resumed.stdout), { job_id: 'cli-echo', state: 'running' });

      const missing = await run('jobs', 'get', 'no-such-job');
      assert.equal(missing.code, 1, show(missing));
      assert.match(missing.stderr, /Job not found \(404\)\n\s+no job with job_id 'no-such-job'/);

      const deleted = await run('jobs', 'delete', 'cli-cron');
      assert.equal(deleted.stdout, 'deleted job cli-cron\n', show(deleted));
      const again = await run('jobs', 'delete', 'cli-cron');
      assert.equal(again.code, 1, show(again));
      assert.match(again.stderr, /Job gone \(410\)/);
    });

    it('run --times 3 --wait waits for the batch and ends with the runs and their statuses', async () => {
      const r = await run('run', 'cli-echo', '--times', '3', '--kwargs', '{"message":"three"}', '--wait');
      assert.equal(r.code, 0, show(r));
      const batch = /queued 3 runs as batch (\S+)/.exec(r.stderr)?.[1];
      assert.ok(batch, show(r));
      assert.match(r.stderr, /^3\/3 runs ended: succeeded 3$/m);
      const runs = (await client.executions.list({ batch_id: batch })).executions;
      assert.equal(runs.length, 3);
      for (const e of runs) {
        assert.deepEqual(row(r.stdout, e.id)?.slice(1, 4), ['cli-echo', 'echo', 'succeeded'], show(r));
        assert.deepEqual(e.kwargs, { message: 'three' });
      }
      assert.match(r.stdout, /^3 run\(s\): succeeded 3 in \S+$/m);

      const json = await run('--json', 'run', 'cli-echo', '--times', '3', '--wait');
      assert.equal(json.code, 0, show(json));
      const body = JSON.parse(json.stdout) as { batch: { total: number; counts: Record<string, number> }; executions: Execution[]; timed_out: boolean };
      assert.equal(body.batch.total, 3);
      assert.deepEqual(body.batch.counts, { succeeded: 3 });
      assert.deepEqual(
        body.executions.map((e) => e.status),
        ['succeeded', 'succeeded', 'succeeded'],
      );
      assert.equal(body.timed_out, false);

      const big = await run('run', 'cli-echo', '--times', '25', '--wait');
      assert.equal(big.code, 0, show(big));
      const bigBatch = /queued 25 runs as batch (\S+)/.exec(big.stderr)?.[1];
      assert.equal(big.stdout.split('\n')[0], `(25 run(s) not listed; all of them: jobsctl executions list --batch ${bigBatch})`, 'a big batch that succeeded lists no runs');
      assert.match(big.stdout, /^25 run\(s\): succeeded 25 in \S+$/m);

      const once = await run('run', 'cli-echo');
      assert.equal(once.code, 0, show(once));
      const id = /^queued run (\S+)$/.exec(once.stdout.trim())?.[1];
      assert.ok(id, show(once));
      assert.ok((await client.executions.get(id)).job_id === 'cli-echo');

      const tooMany = await run('run', 'cli-echo', '--times', '1001');
      assert.equal(tooMany.code, 1, show(tooMany));
      assert.match(tooMany.stderr, /body\.times: must be <= 1000/);
    });

    it('run --wait exits 4 when a run fails, and shows why', async () => {
      const port = await closedPort();
      await client.jobs.create({ job_id: 'cli-fails', handler: 'http-request', kwargs: { url: `http://127.0.0.1:${port}/`, timeout: 2 }, state: 'paused' });
      const r = await run('run', 'cli-fails', '--wait');
      assert.equal(r.code, 4, show(r));
      const id = /queued run (\S+)/.exec(r.stderr)?.[1];
      assert.ok(id, show(r));
      assert.equal(row(r.stdout, id)?.[3], 'failed', show(r));
      assert.match(r.stderr, new RegExp(`^run ${id}: failed$`, 'm'));
      assert.match(r.stdout, /^1 run\(s\): failed 1/m);
    });

    it('executions list with filters, get, output, and cancel of a finished run (exit 1)', async () => {
      const list = await run('executions', 'list', '--job', 'cli-echo', '--status', 'succeeded', '--limit', '2');
      assert.equal(list.code, 0, show(list));
      assert.match(list.stdout, /^RUN\s+JOB\s+HANDLER\s+STATUS\s+TRIGGER\s+ATTEMPT\s+CREATED\s+DURATION\s+ERROR/);
      const expected = (await client.executions.list({ job_id: 'cli-echo', status: 'succeeded', limit: 2 })).executions;
      assert.equal(expected.length, 2);
      for (const e of expected) assert.deepEqual(row(list.stdout, e.id)?.slice(1, 5), ['cli-echo', 'echo', 'succeeded', 'manual'], show(list));
      assert.match(list.stderr, /^more: add --cursor/m);

      const failed = await run('--json', 'executions', 'list', '--status', 'failed');
      const failedRuns = (JSON.parse(failed.stdout) as { executions: Execution[] }).executions;
      assert.deepEqual(
        failedRuns.map((e) => e.job_id),
        ['cli-fails'],
      );

      const id = expected[0].id;
      const got = await run('executions', 'get', id);
      assert.equal(got.code, 0, show(got));
      assert.match(got.stdout, new RegExp(`^run:\\s+${id}$`, 'm'));
      assert.match(got.stdout, /^status:\s+succeeded$/m);

      const output = await run('executions', 'output', id);
      assert.equal(output.code, 0, show(output));
      assert.deepEqual(output.stdout.trimEnd().split('\n'), (await client.executions.output(id)).lines);
      assert.match(output.stdout, /"message":"(three|hello)"/);

      // --follow of an ended run: its lines, then its end on stderr; a failed run exits 4.
      const followed = await run('executions', 'output', id, '--follow');
      assert.equal(followed.code, 0, show(followed));
      assert.deepEqual(followed.stdout.trimEnd().split('\n'), (await client.executions.output(id)).lines);
      assert.match(followed.stderr, new RegExp(`run ${id} succeeded`));
      const failedFollow = await run('executions', 'output', failedRuns[0].id, '--follow');
      assert.equal(failedFollow.code, 4, show(failedFollow));
      assert.match(failedFollow.stderr, / failed/);
      // The run's events, replayed from the start of the log.
      const events = await run('--json', 'events', '--execution', id, '--after', '0', '--max', '2');
      assert.equal(events.code, 0, show(events));
      const seen = events.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; execution_id: string });
      assert.deepEqual(
        seen.map((e) => [e.type, e.execution_id]),
        [
          ['execution.created', id],
          ['execution.started', id],
        ],
      );

      const cancel = await run('executions', 'cancel', id);
      assert.equal(cancel.code, 1, show(cancel));
      assert.match(cancel.stderr, /Run has ended \(409\)\n\s+run \S+ ended succeeded/);

      const missing = await run('executions', 'get', 'no-such-run');
      assert.equal(missing.code, 1, show(missing));
      assert.match(missing.stderr, /Execution not found \(404\)/);
    });

    it('service pause, status and resume; workers; a queued run cancelled while paused', async () => {
      const paused = await run('service', 'pause');
      assert.equal(paused.stdout, 'service paused\n', show(paused));
      try {
        const queued = await run('run', 'cli-echo', '--json');
        const id = (JSON.parse(queued.stdout) as { execution_ids: string[] }).execution_ids[0];
        const cancel = await run('executions', 'cancel', id);
        assert.equal(cancel.stdout, `run ${id} cancelled\n`, show(cancel));
        const status = await run('service', 'status');
        assert.equal(status.code, 0, show(status));
        assert.match(status.stdout, /^state:\s+paused$/m);
        assert.match(status.stdout, /^ready:\s+yes$/m);
        assert.match(status.stdout, /^workers:\s+active 1$/m);
        assert.match(status.stdout, /^runs:\s+.*cancelled 1/m);
      } finally {
        const resumed = await run('service', 'resume', '--json');
        assert.deepEqual(JSON.parse(resumed.stdout), { state: 'running' }, show(resumed));
      }
      const status = await run('service', 'status', '--json');
      const body = JSON.parse(status.stdout) as { state: string; ready: boolean; jobs: number };
      assert.deepEqual([body.state, body.ready, body.jobs], ['running', true, (await client.service.stats()).jobs]);

      const workerId = svc.service.worker!.id;
      const workers = await run('workers');
      assert.equal(workers.code, 0, show(workers));
      assert.match(workers.stdout, /^WORKER\s+NAME\s+STATE\s+RUNNING/);
      assert.equal(row(workers.stdout, workerId)?.[2], 'active', show(workers));
      const blocked = await run('workers', 'block', workerId);
      assert.equal(blocked.stdout, `worker ${workerId} blocked\n`, show(blocked));
      const unblocked = await run('workers', 'unblock', workerId);
      assert.equal(unblocked.stdout, `worker ${workerId} active\n`, show(unblocked));
      const missing = await run('workers', 'get', 'no-such-worker');
      assert.equal(missing.code, 1, show(missing));
      assert.match(missing.stderr, /Worker not found \(404\)/);
    });

    it('sends --token (or JOBS_TOKEN) as a bearer Authorization header', async () => {
      const seen: Array<string | undefined> = [];
      // A recording proxy in front of the real service.
      const proxy = http.createServer((req, res) => {
        seen.push(req.headers.authorization);
        const upstream = http.request(new URL(req.url!, url.replace(/\/api\/v1$/, '')), { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode!, up.headers);
          up.pipe(res);
        });
        req.pipe(upstream);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      try {
        const proxied = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/api/v1`;
        const fromEnv = await jobsctl(['service', 'status'], { JOBS_URL: proxied, JOBS_TOKEN: 'from-env' });
        assert.equal(fromEnv.code, 0, show(fromEnv));
        const fromFlag = await jobsctl(['--token', 'from-flag', 'handlers'], { JOBS_URL: proxied, JOBS_TOKEN: 'from-env' });
        assert.equal(fromFlag.code, 0, show(fromFlag));
        assert.deepEqual(seen, ['Bearer from-env', 'Bearer from-env', 'Bearer from-env', 'Bearer from-flag']);
      } finally {
        await new Promise<void>((r) => proxy.close(() => r()));
      }
    });

    it('usage errors exit 2 and say what is wrong', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['jobs', 'list', '--colour'], /unknown option '--colour'/],
        [['jobs', 'create', '--handler', 'echo', '--kwargs', '{not json'], /--kwargs <json>' argument '\{not json' is invalid\. not JSON/],
        [['jobs', 'create', '--handler', 'echo', '--kwargs', '[1]'], /must be a JSON object/],
        [['jobs', 'create', '--id', 'x'], /required option '--handler <name>' not specified/],
        [['run', 'cli-echo', '--times', 'three'], /--times <n>' argument 'three' is invalid\. not an integer/],
        [['executions', 'list', '--status', 'bogus'], /Allowed choices are queued, running/],
        [['--url', 'localhost:34000', 'jobs', 'list'], /--url <url>' argument 'localhost:34000' is invalid/],
        [['jobs'], /Usage: jobsctl jobs/],
      ];
      for (const [args, message] of cases) {
        const r = await run(...args);
        assert.equal(r.code, 2, `${args.join(' ')}\n${show(r)}`);
        assert.equal(r.stdout, '', `${args.join(' ')}\n${show(r)}`);
        assert.match(r.stderr, message, `${args.join(' ')}\n${show(r)}`);
      }
      const help = await run('--help');
      assert.equal(help.code, 0, show(help));
      assert.match(help.stdout, /Usage: jobsctl \[options\] \[command\]/);
    });
  });
}

describe('jobsctl with tokens, a batch, a worker and a terminal', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let svc: Running;
  let url: string;
  const tokens = { reader: 'cli-reader-token-0123456789', admin: 'cli-admin-token-0123456789' };
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', ...heartbeat, JOBS_API_TOKENS: `viewer:${tokens.reader}:read,ops:${tokens.admin}:admin` });
    url = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('the service saying 401 or 403 exits 1 with its problem; the right role goes through', async () => {
    const none = await jobsctl(['jobs', 'list'], { JOBS_URL: url });
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /^jobsctl: Unauthorized \(401\)\n  listJobs needs a token/);
    const small = await jobsctl(['service', 'pause'], { JOBS_URL: url, JOBS_TOKEN: tokens.reader });
    assert.equal(small.code, 1, show(small));
    assert.match(small.stderr, /^jobsctl: Forbidden \(403\)\n  setServiceState needs a token of role admin or above; token 'viewer' has role read/);
    assert.doesNotMatch(small.stderr, new RegExp(tokens.reader), 'the token is never printed');
    const cleaned = await jobsctl(['jobs', 'clean-failed', '--json'], { JOBS_URL: url, JOBS_TOKEN: tokens.admin });
    assert.equal(cleaned.code, 0, show(cleaned));
    assert.deepEqual(JSON.parse(cleaned.stdout), { removed: [] });
  });

  it('batch and workers get show what the API says', async () => {
    const admin = createClient({ baseUrl: url, token: tokens.admin });
    await admin.jobs.create({ job_id: 'cli-batch', handler: 'echo', kwargs: { message: 'b' }, state: 'paused' });
    const queued = await admin.runJob('cli-batch', 3);
    await admin.waitForBatch(queued.batch_id!, { intervalMs: 100, timeoutMs: 15_000 });
    const batch = await jobsctl(['batch', queued.batch_id!, '--json'], { JOBS_URL: url, JOBS_TOKEN: tokens.reader });
    assert.equal(batch.code, 0, show(batch));
    assert.deepEqual(JSON.parse(batch.stdout), await admin.batches.get(queued.batch_id!));
    const me = svc.service.worker!.id;
    const worker = await jobsctl(['workers', 'get', me], { JOBS_URL: url, JOBS_TOKEN: tokens.reader });
    assert.equal(worker.code, 0, show(worker));
    assert.match(worker.stdout, new RegExp(me));
    assert.match(worker.stdout, new RegExp(`\\b${process.pid}\\b`));
  });

  it('run --wait draws a progress bar on a terminal (stderr), and stdout still holds the result', async () => {
    const admin = createClient({ baseUrl: url, token: tokens.admin });
    await admin.jobs.create({ job_id: 'cli-tty', handler: 'echo', kwargs: { message: 't' }, state: 'paused' });
    // script(1) gives jobsctl a terminal; its output is the terminal's, stdout and stderr together.
    const line = [...fromSource, 'run', 'cli-tty', '--times', '3', '--wait'].map((a) => `'${a}'`).join(' ');
    const r = await spawned(['script'], ['-qec', line, '/dev/null'], { JOBS_URL: url, JOBS_TOKEN: tokens.admin, TERM: 'xterm' });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /[█░]+ 3\/3 runs ended/);
    assert.match(r.stdout, /succeeded/);
  });

  it('the compiled bin of the package answers like the source', async () => {
    const bin = path.join(projectRoot, 'dist/src/cli/jobsctl.js');
    assert.ok(fs.existsSync(bin), 'npm ci builds dist/ (npm run build)');
    const r = await spawned([process.execPath, bin], ['handlers', '--json'], { JOBS_URL: url, JOBS_TOKEN: tokens.reader });
    assert.equal(r.code, 0, show(r));
    assert.ok((JSON.parse(r.stdout) as { handlers: Array<{ name: string }> }).handlers.some((h) => h.name === 'echo'));
  });
});

describe('jobsctl without a service', () => {
  it('exits 3 when the service does not answer within --request-timeout', async () => {
    // Accepts connections and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await jobsctl(['--url', `http://127.0.0.1:${port}/api/v1`, '--request-timeout', '1', 'jobs', 'list']);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, /no answer within 1000 ms/);
    } finally {
      silent.close();
    }
  });

  it('exits 3 when nothing listens at --url', async () => {
    const port = await closedPort();
    const r = await jobsctl(['--url', `http://127.0.0.1:${port}/api/v1`, 'jobs', 'list']);
    assert.equal(r.code, 3, show(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`cannot reach jobs-service at http://127\\.0\\.0\\.1:${port}/api/v1: connect ECONNREFUSED`));
  });

  it('is the package bin, a compiled file with a node shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.jobsctl, 'dist/src/cli/jobsctl.js');
    assert.ok(fs.readFileSync(path.join(projectRoot, 'src/cli/jobsctl.ts'), 'utf8').startsWith('#!/usr/bin/env node\n'));
  });
});
