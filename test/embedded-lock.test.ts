import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { lockFileName } from '../src/db/folder-lock.js';
import { scaled, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { listeningPort, waitForListening } from './support/listening.js';

/**
 * One embedded data folder, one process: a second process on the folder refuses to start,
 * naming the folder and the pid that holds it; a process killed with SIGKILL leaves a lock
 * file that does not block the next start.
 */
interface Proc {
  child: ChildProcess;
  out: string[];
  exit: Promise<number | null>;
  /** Known once the process has logged 'listening'. */
  port?: number;
}

describe('two processes on one embedded data folder', { timeout: scaled(180_000) }, () => {
  let db: TestDatabase;
  let defaults: string;
  const procs: Proc[] = [];

  async function start(): Promise<Proc> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
      cwd: projectRoot,
      env: { ...process.env, ...db.env, JOBS_DEFAULT_JOBS_DIR: defaults, PORT: '0', LOG_LEVEL: 'info', JOBS_HEARTBEAT_MS: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
    child.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const p: Proc = { child, out, exit };
    procs.push(p);
    return p;
  }

  const http = async (p: Proc, method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${p.port}/api/v1${url}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const ready = async (p: Proc) => {
    p.port = await waitForListening(p.child, p.out, 90_000);
    await waitFor('the process to be ready', async () => (await http(p, 'GET', '/readiness').catch(() => ({ status: 0 }))).status === 200, 90_000, 200);
  };

  before(async () => {
    db = await testDatabase('embedded');
    defaults = await tempDir('defaults');
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await db?.drop();
    if (defaults) await fs.rm(defaults, { recursive: true, force: true });
  });

  it('refuses a second process, naming the folder and the holder; a killed holder does not block a restart', async () => {
    const first = await start();
    await ready(first);
    assert.equal((await http(first, 'POST', '/jobs/echo?job_id=kept&state=paused', {})).status, 201);

    const second = await start();
    // It either stops or, opening the folder as well, comes to serve: logs 'listening' and
    // answers readiness on the port it logged.
    const code = await waitFor(
      'the second process to stop or serve',
      async () =>
        second.child.exitCode !== null
          ? { code: second.child.exitCode }
          : (second.port = listeningPort(second.out)) !== undefined && (await http(second, 'GET', '/readiness').catch(() => ({ status: 0 }))).status === 200
            ? { code: 'serving' }
            : null,
      90_000,
      200,
    ).then((r) => r.code);
    const text = second.out.join('');
    assert.equal(code, 1, `the second process must stop with code 1, got ${code}:\n${text.slice(-2000)}`);
    const dir = db.env.JOBS_DATA_DIR;
    assert.ok(text.includes(`the data folder ${dir} is in use by process ${first.child.pid}`), text.slice(-2000));
    // The first goes on, untouched.
    assert.equal((await http(first, 'GET', '/jobs/kept')).status, 200);
    assert.equal((await http(first, 'POST', '/jobs/echo?job_id=also-kept&state=paused', {})).status, 201);

    first.child.kill('SIGKILL');
    await first.exit;
    // The killed process's lock file is still there, naming a dead pid.
    assert.equal(JSON.parse(await fs.readFile(path.join(dir, lockFileName), 'utf8')).pid, first.child.pid);

    const third = await start();
    await ready(third);
    for (const id of ['kept', 'also-kept']) assert.equal((await http(third, 'GET', `/jobs/${id}`)).status, 200, id);
    assert.equal(JSON.parse(await fs.readFile(path.join(dir, lockFileName), 'utf8')).pid, third.child.pid);

    // A graceful stop gives the folder back.
    third.child.kill('SIGTERM');
    assert.equal(await third.exit, 0);
    await assert.rejects(fs.access(path.join(dir, lockFileName)));
  });
});
