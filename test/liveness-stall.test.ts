/**
 * A stalled worker (a real SIGSTOP of a worker process) is not declared gone within its window,
 * and one stalled past the window cannot change what was settled meanwhile: its runs are
 * settled lost and retried once elsewhere, and when it resumes it stops them and its late
 * writes are refused. A worker process of its own needs a database shared between processes:
 * these run on PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { projectRoot } from '../src/config/config.js';
import { postgresTarget } from '../src/db/postgres.js';
import { scaled, sleep, startService, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { processExists } from './support/processes.js';

const skip = process.env.TEST_POSTGRES_URL ? false : 'TEST_POSTGRES_URL is not set: a worker process of its own needs a shared PostgreSQL';
if (skip) console.log(`# SKIPPED stalled-worker tests: ${skip}`);

const api = '/api/v1';
// Three missed heartbeats, the window before the setting: 6 s.
const heartbeatMs = 2000;
const stallMs = 9000;
// Well beyond the stall: the worker's last beat came up to a heartbeat before it, and it needs
// a moment to beat again once resumed.
const windowSeconds = Math.ceil((stallMs + heartbeatMs + scaled(5000)) / 1000);
// Runs flush their output every third of the lock lifetime.
const lockLifetimeMs = 3000;

describe('a stalled worker process on PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let svc: Running;
  let sql: pg.Client;
  let scripts: string;
  const children: ChildProcess[] = [];

  function worker(name: string): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), 'worker'], {
      cwd: projectRoot,
      env: {
        ...process.env,
        ...db.env,
        JOBS_DEFAULT_JOBS_DIR: svc.config.defaultJobsDir,
        JOBS_SCRIPTS_DIR: scripts,
        LOG_LEVEL: process.env.TEST_CHILD_LOG_LEVEL ?? 'warn',
        JOBS_POLL_INTERVAL_MS: '200',
        JOBS_HEARTBEAT_MS: String(heartbeatMs),
        JOBS_WORKER_GONE_AFTER_SECONDS: String(windowSeconds),
        JOBS_LOCK_LIFETIME_MS: String(lockLifetimeMs),
        JOBS_CANCEL_GRACE_MS: '2000',
        JOBS_SCRIPT_KILL_GRACE_MS: '500',
        // The scripts write $$, a host pid only outside a PID namespace of their own.
        JOBS_SCRIPT_ISOLATION: 'group',
        JOBS_WORKER_NAME: name,
      },
      stdio: ['ignore', process.env.TEST_CHILD_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  }

  async function workerNamed(name: string): Promise<{ id: string; state: string }> {
    return waitFor(
      `an active worker named ${name}`,
      async () => (await sql.query("SELECT id, state FROM worker WHERE name = $1 AND state = 'active'", [name])).rows[0],
      60_000,
      100,
    );
  }

  /** Queues `times` runs of a script job that prints a line every half second for `seconds`. */
  async function runs(jobId: string, times: number, seconds: number): Promise<string[]> {
    await svc.http
      .post(`${api}/jobs/run-script?job_id=${jobId}&state=paused&retries=1&retry_backoff=0`)
      .send({ script: 'ticks.sh', args: [String(seconds)] })
      .expect(201);
    return (await svc.http.post(`${api}/jobs/${jobId}/executions`).send({ times }).expect(202)).body.execution_ids as string[];
  }

  const rowsOf = async (jobId: string) => (await sql.query('SELECT * FROM execution WHERE job_id = $1 ORDER BY attempt, id', [jobId])).rows;

  before(async () => {
    db = await testDatabase('postgres');
    scripts = await tempDir('scripts');
    process.env.JOBS_SCRIPTS_DIR = scripts;
    await fs.writeFile(
      path.join(scripts, 'ticks.sh'),
      '#!/bin/sh\necho $$ > "$(dirname "$0")/$JOBS_EXECUTION_ID.pid"\ni=0\nwhile [ $i -lt $(($1 * 2)) ]; do echo "tick $i"; i=$((i + 1)); sleep 0.5; done\n',
      { mode: 0o755 },
    );
    // This process serves the API and watches for gone workers; it runs no jobs.
    svc = await startService(db, { JOBS_WORKER: 'false', JOBS_HEARTBEAT_MS: String(heartbeatMs), JOBS_WORKER_GONE_AFTER_SECONDS: String(windowSeconds) });
    const { connectionString, schema } = postgresTarget(db.env.DATABASE_URL);
    sql = new pg.Client({ connectionString, options: `-c search_path="${schema}"` });
    await sql.connect();
  });

  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      }
    }
    await svc?.close();
    await sql?.end();
    await db?.drop();
    await fs.rm(scripts, { recursive: true, force: true });
  });

  it(`is not declared gone while stopped ${stallMs / 1000} s, within its window: its runs finish once, none lost or retried`, async () => {
    const a = worker('stall-a');
    const { id } = await workerNamed('stall-a');
    const ids = await runs('within', 3, Math.ceil((stallMs + scaled(4000)) / 1000));
    await waitFor('the runs to start', async () => (await rowsOf('within')).filter((r) => r.status === 'running').length === 3, 30_000, 100);
    a.kill('SIGSTOP');
    await sleep(stallMs);
    a.kill('SIGCONT');
    const done = await waitFor(
      'the runs to end',
      async () => {
        const rows = await rowsOf('within');
        return rows.every((r) => !['queued', 'running'].includes(r.status)) ? rows : undefined;
      },
      60_000,
      200,
    );
    assert.deepEqual(
      done.map((r) => [r.id, r.attempt, r.status, r.worker_id]),
      ids.sort().map((x) => [x, 1, 'succeeded', id]),
    );
    assert.equal((await sql.query('SELECT state FROM worker WHERE id = $1', [id])).rows[0].state, 'active', 'the same registration lives on');
  });

  it('stopped past its window: its runs are settled lost and retried once; resumed, it stops them and its late writes are refused', async () => {
    const a = await workerNamed('stall-a');
    const child = children[0];
    await runs('beyond', 3, 600);
    const mine = await waitFor(
      'the runs to start',
      async () => {
        const rows = (await rowsOf('beyond')).filter((r) => r.status === 'running' && r.worker_id === a.id);
        return rows.length === 3 ? rows.map((r) => r.id as string) : undefined;
      },
      30_000,
      100,
    );
    const pids = await waitFor('the scripts to start', async () => {
      const read = await Promise.all(mine.map((id) => fs.readFile(path.join(scripts, `${id}.pid`), 'utf8').catch(() => '')));
      return read.every((p) => p.trim()) ? read.map((p) => Number(p.trim())) : undefined;
    });
    const stoppedAt = Date.now();
    child.kill('SIGSTOP');
    worker('stall-b');
    const settled = await waitFor(
      'the runs of the stopped worker to be settled lost',
      async () => {
        const rows = (await rowsOf('beyond')).filter((r) => mine.includes(r.id));
        // Settled, and what follows written (failure records, retries: chains_pending cleared).
        return rows.every((r) => r.status === 'lost' && !r.chains_pending) ? rows : undefined;
      },
      windowSeconds * 1000 + 30_000,
      200,
    );
    const lostAfter = Math.min(...settled.map((r) => (r.finished_at as Date).getTime())) - stoppedAt;
    console.log(`# SIGSTOP with a ${windowSeconds} s window (${heartbeatMs} ms heartbeat): runs settled lost ${lostAfter} ms after the stop`);
    assert.ok(lostAfter >= windowSeconds * 1000 - heartbeatMs, `not declared gone within the window: ${lostAfter} ms`);
    assert.equal((await sql.query('SELECT state FROM worker WHERE id = $1', [a.id])).rows[0].state, 'gone');
    const retries = await waitFor(
      'one retry of each lost run to run elsewhere',
      async () => {
        const rows = (await rowsOf('beyond')).filter((r) => r.attempt === 2);
        return rows.length === 3 && rows.every((r) => r.status === 'running') ? rows : undefined;
      },
      30_000,
      100,
    );
    assert.ok(retries.every((r) => r.worker_id !== a.id));

    child.kill('SIGCONT');
    const resumedAt = Date.now();
    // It learns it was declared gone, stops its runs (their scripts die) and registers anew.
    await waitFor('the scripts of the stopped worker to be stopped', async () => pids.every((p) => !processExists(p)), 30_000, 100);
    console.log(`# resumed past its window: its ${pids.length} scripts stopped ${Date.now() - resumedAt} ms after SIGCONT`);
    const again = await waitFor(
      'the resumed worker to register again',
      async () => (await sql.query("SELECT id FROM worker WHERE name = 'stall-a' AND state = 'active' AND id <> $1", [a.id])).rows[0],
      30_000,
      100,
    );
    assert.notEqual(again.id, a.id);
    // Long enough for any output flush or end write of the old runs to have been tried.
    await sleep(lockLifetimeMs + scaled(2000));
    assert.deepEqual(
      (await rowsOf('beyond')).filter((r) => mine.includes(r.id)),
      settled,
      'the settled records are as the settlement left them',
    );
    const now = await rowsOf('beyond');
    assert.deepEqual(now.map((r) => r.attempt).sort(), [1, 1, 1, 2, 2, 2], 'one retry each, no more');
    assert.ok(
      now.filter((r) => r.attempt === 2).every((r) => r.status === 'running'),
      'the retries run on',
    );
  });
});
