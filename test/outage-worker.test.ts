import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { closedPort, scaled, sleep, tempDir, waitFor } from './helpers.js';
import { waitForListening } from './support/listening.js';
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';

/**
 * An API process and a worker process on a PostgreSQL server of the test's own, which the
 * test stops and starts again: the processes must live through it, say so once in their
 * logs, answer readiness 503 meanwhile, and run what is queued once the server is back.
 */
const bin = await postgresBinaries();
const skip = bin ? false : 'no PostgreSQL binaries under /usr/lib/postgresql: a private server cannot be made';
if (skip) console.log(`# SKIPPED outage tests: ${skip}`);

interface Proc {
  child: ChildProcess;
  out: string[];
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exit };
}

/** The log lines of a process with the message `msg`. */
const lines = (p: Proc, msg: string) =>
  p.out
    .join('')
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}`));

describe('a PostgreSQL outage', { skip, timeout: scaled(240_000) }, () => {
  let pg: PrivatePostgres;
  let api: Proc;
  let worker: Proc;
  let late: Proc;
  /** The API process's, once it has logged 'listening'. */
  let port: number | undefined;
  let env: Record<string, string>;
  let defaults: string;

  const http = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${url}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const readiness = () => http('GET', '/readiness').then((r) => r.status);
  const alive = (p: Proc, what: string) => assert.equal(p.child.exitCode, null, `${what} exited (${p.child.exitCode}):\n${p.out.join('').slice(-3000)}`);
  const runsOf = async (jobId: string) => (await http('GET', `/executions?job_id=${jobId}&limit=100`)).body.executions as Array<{ status: string }>;
  const succeeded = async (jobId: string, n: number) => (await runsOf(jobId)).filter((r) => r.status === 'succeeded').length >= n;

  before(async () => {
    pg = await startPrivatePostgres();
    defaults = await tempDir('defaults');
    env = {
      DATABASE_URL: `${pg.url}?schema=outage`,
      JOBS_DEFAULT_JOBS_DIR: defaults,
      JOBS_HEARTBEAT_MS: '500',
      JOBS_POLL_INTERVAL_MS: '200',
      JOBS_DB_RETRY_MAX_MS: '1000',
    };
    api = start([], { ...env, JOBS_WORKER: 'false', PORT: '0' });
    port = await waitForListening(api.child, api.out);
    await waitFor('the API', async () => (await readiness().catch(() => 0)) === 200, 60_000, 200);
    worker = start(['worker'], env);
    await waitFor('an active worker', async () => (await http('GET', '/workers')).body.workers.some((w: { state: string }) => w.state === 'active'), 60_000, 200);
  });

  after(async () => {
    for (const p of [api, worker, late]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await pg?.destroy();
    if (defaults) await fs.rm(defaults, { recursive: true, force: true });
  });

  it('lives through two restarts, one longer than the pool timeouts, and runs what was queued', async () => {
    assert.equal((await http('POST', '/jobs/echo?job_id=first', { n: 1 })).status, 201);
    await waitFor('the first run', () => succeeded('first', 1), 30_000, 100);

    // A short outage.
    await pg.stop('fast');
    await waitFor('readiness 503 while the database is stopped', async () => (await readiness()) === 503, 20_000, 100);
    await sleep(1000);
    alive(worker, 'the worker');
    await pg.start();
    await waitFor('readiness 200 once it is back', async () => (await readiness()) === 200, 30_000, 100);
    alive(worker, 'the worker');
    assert.equal((await http('POST', '/jobs/echo?job_id=after-first&state=paused', {})).status, 201);
    assert.equal((await http('POST', '/jobs/after-first/executions', { times: 3 })).status, 202);
    await waitFor('the runs queued after the first restart', () => succeeded('after-first', 3), 60_000, 200);

    // A longer one, killed rather than stopped: past the pool's connect (5 s) and idle (10 s)
    // timeouts. A one-shot job falls due while the database is away; runs queued before it
    // went away wait in the table.
    const due = new Date(Date.now() + 3000).toISOString();
    assert.equal((await http('POST', `/jobs/echo?job_id=due-in-outage&when=${encodeURIComponent(due)}`, {})).status, 201);
    await pg.stop('immediate');
    const stoppedAt = Date.now();
    await waitFor('readiness 503 during the long outage', async () => (await readiness()) === 503, 20_000, 100);
    const seenDownMs = Date.now() - stoppedAt;
    // A worker that boots while the database is away waits for it.
    late = start(['worker'], { ...env, JOBS_WORKER_NAME: 'late' });
    await sleep(12_000);
    alive(worker, 'the worker');
    alive(late, 'the worker booted during the outage');
    alive(api, 'the API process');
    assert.equal(await readiness(), 503);
    await pg.start();
    const startedAt = Date.now();
    await waitFor('readiness 200 after the long outage', async () => (await readiness()) === 200, 30_000, 100);
    const readyMs = Date.now() - startedAt;
    await waitFor('the one-shot run that fell due during the outage', () => succeeded('due-in-outage', 1), 60_000, 50);
    const ranMs = Date.now() - startedAt;
    console.log(`# long outage: readiness 503 ${seenDownMs} ms after the stop; after the start, readiness 200 in ${readyMs} ms, the overdue run done in ${ranMs} ms`);
    assert.equal((await http('POST', '/jobs/after-first/executions', { times: 3 })).status, 202);
    await waitFor('the runs queued after the second restart', () => succeeded('after-first', 6), 60_000, 200);
    await waitFor(
      'the worker booted during the outage to register',
      async () => (await http('GET', '/workers')).body.workers.some((w: { name: string; state: string }) => w.name === 'late' && w.state === 'active'),
      60_000,
      200,
    );
    alive(worker, 'the worker');
    alive(api, 'the API process');
    // Nobody was taken for gone for heartbeats the outage made impossible.
    const workers = (await http('GET', '/workers?limit=100')).body.workers as Array<{ id: string; state: string }>;
    assert.ok(
      workers.every((w) => w.state === 'active'),
      `workers after the outages: ${JSON.stringify(workers.map((w) => [w.id, w.state]))}`,
    );
    assert.equal(lines(worker, 'this worker was marked gone').length, 0);

    // Each outage said once that it began, not a line per attempt, and once that it ended.
    // (Two outages close together may be one to a worker that had no heartbeat in between.)
    const outageLines = () =>
      worker.out
        .join('')
        .split('\n')
        .filter((l) => /"msg":"(database (unreachable|reachable again)|workers gone|this worker was marked gone)/.test(l))
        .map((l) => l.slice(0, 300))
        .join('\n');
    const ended = () => lines(worker, 'database reachable again').length;
    await waitFor('the worker to log that the database is back', async () => ended() >= 1 && ended() === lines(worker, 'database unreachable').length, 10_000, 100).catch(
      (err: Error) => {
        throw new Error(`${err.message}; its outage lines:\n${outageLines()}`);
      },
    );
    assert.ok(ended() <= 4, `outage lines of the worker:\n${outageLines()}`);
    const attempts = lines(worker, 'database reachable again').map((l) => JSON.parse(l).failed_attempts as number);
    assert.ok(
      attempts.some((n) => n > 5),
      `failed attempts per outage ${attempts}: the long outage must have been retried many times`,
    );

    // A signal is the one way out: a graceful stop exits 0.
    worker.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    late.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.out.join('').slice(-2000));
    assert.equal(await late.exit, 0, late.out.join('').slice(-2000));
    assert.equal(await api.exit, 0, api.out.join('').slice(-2000));
    assert.equal(lines(worker, 'stopped').length, 1);
  });
});

describe('a signal while the boot waits for the database', { skip, timeout: scaled(120_000) }, () => {
  it('stops the process with code 0, at once, without waiting for the database', async () => {
    // A port nothing listens on: the boot keeps trying (JOBS_DB_BOOT_WAIT_SECONDS).
    const port = await closedPort();
    const defaults = await tempDir('defaults');
    try {
      const p = start(['worker'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, JOBS_DEFAULT_JOBS_DIR: defaults, JOBS_DB_BOOT_WAIT_SECONDS: '600' });
      await waitFor('the boot to wait for the database', async () => lines(p, 'database unreachable at boot').length > 0, scaled(60_000), 100);
      const signalledAt = Date.now();
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0, p.out.join('').slice(-2000));
      assert.equal(lines(p, 'stopped before the database answered').length, 1, p.out.join('').slice(-2000));
      console.log(`# stopped ${Date.now() - signalledAt} ms after SIGTERM during the boot wait`);
    } finally {
      await fs.rm(defaults, { recursive: true, force: true });
    }
  });
});
