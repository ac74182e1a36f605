/**
 * Soak: an API process and worker processes on one PostgreSQL under periodic, one-shot and
 * manual load, while workers are killed with SIGKILL (and started again) and the database is
 * restarted twice; then, once the load stops and the runs settle, what became of every run.
 *
 *   npm run soak -- [--minutes 5] [--workers 3] [--kill-every-seconds 20] [--settle-seconds 180] [--url postgres://...]
 *
 * Without --url it runs on a PostgreSQL server of its own (initdb in a temporary folder, as
 * the tests' private server), which it restarts: once with a fast stop, once killed
 * (immediate) and left down for --down-seconds. With --url it uses that server in a schema of
 * its own and restarts nothing (a shared server is not its to stop).
 *
 * Prints runs created, final, duplicated (one fire's attempt started twice: same job, due
 * time and attempt), lost, stuck (still running or queued once settled), never dispatched
 * (queued and never started, or an acknowledged one-shot job with no run), processes that
 * ended without being killed, and acknowledged jobs missing. Exit status 1 on any duplicate,
 * stuck run, unexpected exit or missing job; 2 for bad arguments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPrivatePostgres, type PrivatePostgres } from '../test/support/private-postgres.js';
import { projectRoot } from './lib/paths.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    workers: { type: 'string', default: '3' },
    'kill-every-seconds': { type: 'string', default: '20' },
    'settle-seconds': { type: 'string', default: '180' },
    'down-seconds': { type: 'string', default: '8' },
    periodic: { type: 'string', default: '20' },
    url: { type: 'string' },
  },
});
const number = (name: keyof typeof values, min: number) => {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v < min) {
    console.error(`--${name} must be a number >= ${min}, got '${values[name]}'`);
    process.exit(2);
  }
  return v;
};
const minutes = number('minutes', 0.2);
const workerCount = number('workers', 1);
const killEverySeconds = number('kill-every-seconds', 1);
const settleSeconds = number('settle-seconds', 10);
const downSeconds = number('down-seconds', 0);
const periodicCount = number('periodic', 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (msg: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface Proc {
  name: string;
  args: string[];
  env: Record<string, string>;
  child: ChildProcess;
  tail: string[];
  /** Set when the soak killed it on purpose. */
  killed: boolean;
}

const procs = new Map<string, Proc>();
const unexpectedExits: string[] = [];
let finishing = false;

function start(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { name, args, env, child, tail: [], killed: false };
  const keep = (b: Buffer) => {
    p.tail.push(b.toString());
    if (p.tail.length > 50) p.tail.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', (code, signal) => {
    if (p.killed || finishing) return;
    // A process that ends on its own is what the soak looks for: noted, then started again.
    unexpectedExits.push(`${name} exited (${signal ?? code}): ${p.tail.join('').slice(-600)}`);
    say(`${name} exited on its own (${signal ?? code}); starting it again`);
    procs.set(name, start(name, args, env));
  });
  procs.set(name, p);
  return p;
}

const scriptsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-soak-scripts-'));
const defaultsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-soak-defaults-'));
await fs.writeFile(path.join(scriptsDir, 'nap.sh'), '#!/bin/sh\necho "napping $1"\nsleep "$1"\necho "awake"\n', { mode: 0o755 });

let server: PrivatePostgres | undefined;
let baseUrl = values.url;
if (!baseUrl) {
  say('starting a PostgreSQL server of its own');
  server = await startPrivatePostgres();
  baseUrl = server.url;
}
const schema = `soak_${randomBytes(4).toString('hex')}`;
const url = new URL(baseUrl);
url.searchParams.set('schema', schema);
const port = await freePort();
const common = {
  DATABASE_URL: url.toString(),
  JOBS_DEFAULT_JOBS_DIR: defaultsDir,
  JOBS_SCRIPTS_DIR: scriptsDir,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};

const api = `http://127.0.0.1:${port}/api/v1`;
async function http(method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  try {
    const res = await fetch(`${api}${p}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

async function until(what: string, fn: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return true;
    await sleep(250);
  }
  say(`gave up waiting for ${what} after ${ms / 1000} s`);
  return false;
}

const sql = new pg.Client({ connectionString: baseUrl });
let exitCode = 0;
try {
  start('api', [], { ...common, JOBS_WORKER: 'false', PORT: String(port) });
  if (!(await until('the API', async () => (await http('GET', '/readiness')).status === 200, 120_000))) throw new Error('the API did not start');
  for (let n = 1; n <= workerCount; n++) start(`worker-${n}`, ['worker'], common);
  await until(
    `${workerCount} active workers`,
    async () => ((await http('GET', '/workers')).body?.workers as Array<{ state: string }>).filter((w) => w.state === 'active').length >= workerCount,
    120_000,
  );

  // Periodic load: quick jobs every 2 s, and jobs whose runs sleep, so that kills find runs in progress.
  const periodic: string[] = [];
  for (let i = 0; i < periodicCount; i++) {
    const id = `tick-${i}`;
    const r =
      i % 4 === 3
        ? await http('POST', `/jobs/run-script?job_id=${id}&periodically=5%20seconds&retries=2`, { script: 'nap.sh', args: ['2'] })
        : await http('POST', `/jobs/echo?job_id=${id}&periodically=2%20seconds&retries=2`, { i });
    if (r.status !== 201) throw new Error(`creating ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    periodic.push(id);
  }
  const manual = 'manual-nap';
  await http('POST', `/jobs/run-script?job_id=${manual}&state=paused&retries=2`, { script: 'nap.sh', args: ['1'] });

  const endAt = Date.now() + minutes * 60_000;
  const acknowledged: string[] = [];
  let refused = 0;
  let manualQueued = 0;
  const load = (async () => {
    let n = 0;
    while (Date.now() < endAt) {
      const id = `once-${n++}`;
      const r = await http('POST', `/jobs/echo?job_id=${id}&retries=2`, { n });
      if (r.status === 201) acknowledged.push(id);
      else refused++;
      if (n % 10 === 0) {
        const m = await http('POST', `/jobs/${manual}/executions`, { times: 3 });
        if (m.status === 202) manualQueued += 3;
      }
      await sleep(200);
    }
  })();

  const kills = (async () => {
    let count = 0;
    while (Date.now() + killEverySeconds * 1000 < endAt) {
      await sleep(killEverySeconds * 1000 * (0.5 + Math.random()));
      const name = `worker-${1 + Math.floor(Math.random() * workerCount)}`;
      const victim = procs.get(name)!;
      victim.killed = true;
      victim.child.kill('SIGKILL');
      count++;
      say(`kill -9 ${name} (${count})`);
      await sleep(1000);
      start(name, ['worker'], common);
    }
    return count;
  })();

  const outages = (async () => {
    const times: string[] = [];
    if (!server) return times;
    await sleep((minutes * 60_000) / 3);
    say('PostgreSQL restart (fast)');
    let t = Date.now();
    await server.restart('fast');
    times.push(`fast restart: down ${Date.now() - t} ms`);
    await sleep((minutes * 60_000) / 3 - (Date.now() - t));
    say(`PostgreSQL killed (immediate), down ${downSeconds} s`);
    t = Date.now();
    await server.stop('immediate');
    await sleep(downSeconds * 1000);
    await server.start();
    times.push(`immediate stop: down ${Date.now() - t} ms`);
    return times;
  })();

  const [killCount, outageTimes] = await Promise.all([kills, outages, load]);
  say(`load over: ${acknowledged.length} one-shot jobs acknowledged, ${refused} refused, ${manualQueued} manual runs queued; pausing the periodic jobs`);
  for (const id of periodic) {
    await until(`pausing ${id}`, async () => (await http('PUT', `/jobs/${id}?state=paused`)).status === 200, 30_000);
  }

  await sql.connect();
  await sql.query(`SET search_path TO "${schema}"`);
  const count = async (text: string, params: unknown[] = []) => Number((await sql.query(text, params)).rows[0].n);
  const t0 = Date.now();
  await until('every run to settle', async () => (await count("SELECT count(*) AS n FROM execution WHERE status IN ('queued', 'running')")) === 0, settleSeconds * 1000);
  const settledMs = Date.now() - t0;

  const created = await count('SELECT count(*) AS n FROM execution');
  const final = await count("SELECT count(*) AS n FROM execution WHERE status NOT IN ('queued', 'running')");
  const duplicated = await count(
    `SELECT count(*) AS n FROM (SELECT 1 FROM execution WHERE trigger = 'schedule' AND started_at IS NOT NULL
       GROUP BY job_id, scheduled_at, attempt HAVING count(*) > 1) d`,
  );
  const lost = await count("SELECT count(*) AS n FROM execution WHERE status = 'lost'");
  const running = await count("SELECT count(*) AS n FROM execution WHERE status = 'running'");
  const queued = await count("SELECT count(*) AS n FROM execution WHERE status = 'queued'");
  const queuedNeverStarted = await count("SELECT count(*) AS n FROM execution WHERE status = 'queued' AND started_at IS NULL");
  const oneShotsWithoutRun = await count('SELECT count(*) AS n FROM unnest($1::text[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM execution e WHERE e.job_id = a.id)', [acknowledged]);
  const missing = await count('SELECT count(*) AS n FROM unnest($1::text[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM job j WHERE j.job_id = a.id)', [acknowledged]);
  const byStatus = (await sql.query('SELECT status, count(*)::int AS n FROM execution GROUP BY status ORDER BY status')).rows.map((r) => `${r.status} ${r.n}`).join(', ');

  const stuck = running + queued;
  const report = {
    minutes,
    workers: workerCount,
    kills: killCount,
    outages: outageTimes,
    runs_created: created,
    runs_final: final,
    duplicated,
    lost,
    stuck,
    stuck_running: running,
    stuck_queued: queued,
    never_dispatched: queuedNeverStarted + oneShotsWithoutRun,
    one_shots_acknowledged: acknowledged.length,
    one_shots_without_run: oneShotsWithoutRun,
    acknowledged_jobs_missing: missing,
    unexpected_exits: unexpectedExits.length,
    settle_ms: settledMs,
    by_status: byStatus,
  };
  for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(24)} ${Array.isArray(v) ? v.join('; ') : v}`);
  for (const e of unexpectedExits) console.log(`unexpected exit: ${e}`);
  if (duplicated > 0 || stuck > 0 || unexpectedExits.length > 0 || missing > 0) exitCode = 1;
} catch (err) {
  console.error(`soak failed: ${(err as Error).stack ?? err}`);
  exitCode = 1;
} finally {
  finishing = true;
  for (const p of procs.values()) {
    p.killed = true;
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
  }
  await Promise.all(
    [...procs.values()].map((p) =>
      p.child.exitCode !== null || p.child.signalCode !== null
        ? undefined
        : Promise.race([new Promise((r) => p.child.once('exit', r)), sleep(60_000).then(() => p.child.kill('SIGKILL'))]),
    ),
  );
  await sql.end().catch(() => undefined);
  if (server) await server.destroy();
  else {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
  }
  await fs.rm(scriptsDir, { recursive: true, force: true });
  await fs.rm(defaultsDir, { recursive: true, force: true });
}
process.exit(exitCode);
