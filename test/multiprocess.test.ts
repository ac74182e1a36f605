import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { projectRoot } from '../src/config/config.js';
import { postgresTarget } from '../src/db/postgres.js';
import { scaled, sleep, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { waitForListening } from './support/listening.js';

/**
 * Several service and worker processes on one PostgreSQL, as a deployment grows past one
 * machine. PGlite is one process by nature, so these run on PostgreSQL only.
 */
const skip = process.env.TEST_POSTGRES_URL ? false : 'TEST_POSTGRES_URL is not set: several processes need a shared PostgreSQL';
if (skip) console.log(`# SKIPPED multi-process tests: ${skip}`);

interface Proc {
  name: string;
  child: ChildProcess;
  log: string[];
}

/** Whether a process of the deployment has exited. */
const exited = (p: Proc) => p.child.exitCode !== null || p.child.signalCode !== null;

/** Processes of one deployment on a PostgreSQL schema of their own, with an API process on `port` (known once it has logged 'listening'). */
class Deployment {
  db!: TestDatabase;
  sql!: pg.Client;
  defaults!: string;
  scripts!: string;
  port?: number;
  readonly procs: Proc[] = [];

  constructor(private readonly settings: Record<string, string>) {}

  async open() {
    this.db = await testDatabase('postgres');
    this.defaults = await tempDir('defaults');
    this.scripts = await tempDir('scripts');
    await fs.writeFile(path.join(this.scripts, 'sleep.sh'), '#!/bin/sh\necho "sleeping $1"\nsleep "$1"\necho "woke up"\n', { mode: 0o755 });
    const { connectionString, schema } = postgresTarget(this.db.env.DATABASE_URL);
    this.sql = new pg.Client({ connectionString, options: `-c search_path="${schema}"` });
    await this.sql.connect();
  }

  start(name: string, args: string[], extra: Record<string, string>): Proc {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), ...args], {
      cwd: projectRoot,
      env: {
        ...process.env,
        ...this.db.env,
        JOBS_DEFAULT_JOBS_DIR: this.defaults,
        JOBS_SCRIPTS_DIR: this.scripts,
        LOG_LEVEL: process.env.TEST_CHILD_LOG_LEVEL ?? 'warn',
        JOBS_POLL_INTERVAL_MS: '200',
        JOBS_LOCK_LIFETIME_MS: '10000',
        JOBS_CONCURRENCY: '20',
        ...this.settings,
        JOBS_WORKER_NAME: name,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = { name, child, log: [] as string[] };
    const keep = (b: Buffer) => {
      proc.log.push(b.toString());
      if (proc.log.length > 2000) proc.log.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.procs.push(proc);
    return proc;
  }

  /** An API process and `workers` worker processes, once all are up. */
  async boot(workers: number) {
    // At level info: the API process logs the port it listens on.
    const api = this.start('api', [], { JOBS_WORKER: 'false', PORT: '0', LOG_LEVEL: 'info' });
    for (let n = 1; n <= workers; n++) this.start(`worker-${n}`, ['worker'], {});
    this.port = await waitForListening(api.child, api.log);
    await waitFor('the API', async () => (await this.http('GET', '/readiness').catch(() => ({ status: 0 }))).status === 200, 60_000, 200);
    let listed: Array<{ name: string; state: string }> = [];
    try {
      await waitFor(
        `${workers} active workers`,
        async () => {
          listed = (await this.http('GET', '/workers')).body.workers;
          // A process that exited will not come up: no use waiting out the deadline.
          return listed.filter((w) => w.state === 'active').length === workers || this.procs.some(exited);
        },
        120_000,
        200,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.report(listed)}`, { cause: err });
    }
    const gone = this.procs.filter(exited);
    if (gone.length) throw new Error(`${gone.map((p) => p.name).join(', ')} exited while the deployment booted\n${this.report(listed)}`);
  }

  /** The workers listed and each process's state and last lines, for a boot that failed. */
  private report(listed: Array<{ name: string; state: string }>) {
    const workers = listed.map((w) => `${w.name}: ${w.state}`).join(', ') || 'none';
    const procs = this.procs.map((p) => {
      const state = exited(p) ? `exited (${p.child.exitCode ?? p.child.signalCode})` : 'running';
      return `--- ${p.name}, ${state}:\n${p.log.join('').split('\n').slice(-20).join('\n')}`;
    });
    return `workers listed: ${workers}\n${procs.join('\n')}`;
  }

  async http(method: string, url: string, body?: unknown) {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1${url}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  async count(text: string, params: unknown[] = []) {
    return Number((await this.sql.query(text, params)).rows[0].n);
  }

  /** Starts `times` runs of a paused run-script job that sleeps; resolves with the worker running the most, once some run. */
  async longRuns(jobId: string, times: number, seconds: number): Promise<{ victim: Proc; victimId: string }> {
    assert.equal((await this.http('POST', `/jobs/run-script?job_id=${jobId}&state=paused&retries=1`, { script: 'sleep.sh', args: [String(seconds)] })).status, 201);
    assert.equal((await this.http('POST', `/jobs/${jobId}/executions`, { times })).status, 202);
    const victimId = await waitFor(
      'runs in progress',
      async () => {
        const rows = (await this.sql.query("SELECT worker_id, count(*) AS n FROM execution WHERE job_id = $1 AND status = 'running' GROUP BY worker_id ORDER BY n DESC", [jobId]))
          .rows;
        return rows.length ? (rows[0].worker_id as string) : undefined;
      },
      20_000,
      50,
    );
    const victimName = (await this.http('GET', `/workers/${victimId}`)).body.name as string;
    return { victim: this.procs.find((p) => p.name === victimName)!, victimId };
  }

  /** The runs a killed worker had, once all are settled as lost; and the time the last one was. */
  async settledLost(victimId: string): Promise<{ runs: string[]; lostAt: number }> {
    // What the victim was running when it died (it may have started more since it was chosen).
    await sleep(scaled(100));
    const runs = (await this.sql.query("SELECT id FROM execution WHERE worker_id = $1 AND status IN ('running', 'lost')", [victimId])).rows.map((r) => r.id as string);
    await waitFor(
      'every run of the killed worker to be settled as lost',
      async () => (await this.count("SELECT count(*) AS n FROM execution WHERE id = ANY($1::text[]) AND status = 'lost'", [runs])) === runs.length,
      30_000,
      100,
    );
    const lostAt = Math.max(...(await this.sql.query('SELECT finished_at FROM execution WHERE id = ANY($1::text[])', [runs])).rows.map((r) => (r.finished_at as Date).getTime()));
    return { runs, lostAt };
  }

  async close() {
    if (process.env.TEST_CHILD_LOG_LEVEL) {
      for (const p of this.procs) {
        const lines = p.log
          .join('')
          .split('\n')
          .filter((l) => /"msg":"(run lost|retry queued|workers gone|run wrapper failed|lost-worker check failed|dispatch engine error)"/.test(l));
        console.log(p.name, lines.slice(-15).join('\n'));
      }
    }
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await this.sql?.end();
    await this.db?.drop();
    await fs.rm(this.defaults, { recursive: true, force: true });
    await fs.rm(this.scripts, { recursive: true, force: true });
  }
}

describe('several processes on one PostgreSQL', { skip }, () => {
  const d = new Deployment({ JOBS_HEARTBEAT_MS: '500' });
  const http = (method: string, url: string, body?: unknown) => d.http(method, url, body);
  const count = (text: string, params: unknown[] = []) => d.count(text, params);

  before(async () => {
    await d.open();
    await d.boot(3);
  });

  after(() => d.close());

  it('2,000 runs on three workers: no fire runs twice, none is lost', async () => {
    const oneShots = 1700;
    const periodic = 10;
    const t0 = Date.now();
    for (let i = 0; i < periodic; i++) {
      assert.equal((await http('POST', `/jobs/echo?job_id=tick-${i}&periodically=1%20second`, { i })).status, 201);
    }
    const ids = Array.from({ length: oneShots }, (_, i) => `once-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < ids.length; i += 25) {
      const statuses = await Promise.all(ids.slice(i, i + 25).map(async (id) => (await http('POST', `/jobs/echo?job_id=${id}`, { id })).status));
      assert.ok(
        statuses.every((s) => s === 201),
        `created ${statuses}`,
      );
    }
    const created = Date.now();
    await waitFor(
      'every one-shot run to succeed',
      async () => (await count("SELECT count(*) AS n FROM execution WHERE job_id LIKE 'once-%' AND status = 'succeeded'")) === oneShots,
      120_000,
      250,
    );
    await waitFor('2,000 runs in all', async () => (await count("SELECT count(*) AS n FROM execution WHERE status = 'succeeded'")) >= 2000, 120_000, 250);
    const done = Date.now();
    for (let i = 0; i < periodic; i++) assert.equal((await http('PUT', `/jobs/tick-${i}?state=paused`)).status, 200);
    await waitFor('no run left active', async () => (await count("SELECT count(*) AS n FROM execution WHERE status IN ('queued', 'running')")) === 0, 30_000, 200);

    const duplicates = await count(
      `SELECT count(*) AS n FROM (SELECT job_id, scheduled_at FROM execution WHERE trigger = 'schedule' GROUP BY job_id, scheduled_at HAVING count(*) > 1) d`,
    );
    const lost = await count("SELECT count(*) AS n FROM execution WHERE status IN ('lost', 'failed', 'cancelled', 'timed_out')");
    const perOneShot = await d.sql.query("SELECT count(*) AS n FROM execution WHERE job_id LIKE 'once-%' GROUP BY job_id HAVING count(*) <> 1");
    // Every fire of a periodic job on its 1 s grid has one record: a gap would be a lost fire.
    const gaps = await d.sql.query(
      `SELECT job_id, count(DISTINCT scheduled_at) AS fires,
              extract(epoch FROM max(scheduled_at) - min(scheduled_at)) AS span
         FROM execution WHERE job_id LIKE 'tick-%' GROUP BY job_id`,
    );
    const missed = await count("SELECT count(*) AS n FROM execution WHERE job_id LIKE 'tick-%' AND status = 'missed'");
    const byWorker = await d.sql.query("SELECT worker_id, count(*) AS n FROM execution WHERE status = 'succeeded' GROUP BY worker_id");
    const total = await count("SELECT count(*) AS n FROM execution WHERE status = 'succeeded'");
    console.log(
      `# multi-process: ${total} runs succeeded on 3 workers; one-shot ${oneShots} jobs created in ${created - t0} ms, all runs done ${done - created} ms after; ` +
        `duplicates ${duplicates}, lost ${lost}, periodic fires missed (forbid) ${missed}; runs per worker ${byWorker.rows.map((r) => r.n).join('/')}`,
    );
    assert.equal(duplicates, 0, 'no fire ran twice');
    assert.equal(lost, 0, 'no run lost, failed or cancelled');
    assert.equal(perOneShot.rows.length, 0, 'every one-shot job ran exactly once');
    for (const g of gaps.rows) assert.equal(Number(g.fires), Math.round(Number(g.span)) + 1, `job ${g.job_id}: a record for every fire on the grid`);
    assert.equal(byWorker.rows.length, 3, 'all three workers took runs');
  });

  it('kill -9 of a worker: its runs end lost, run again elsewhere, and the next fires happen', async () => {
    assert.equal((await http('POST', '/jobs/echo?job_id=beat&periodically=1%20second', {})).status, 201);
    const { victim, victimId } = await d.longRuns('long', 12, 3);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const { runs: onVictim, lostAt } = await d.settledLost(victimId);
    const retries = await waitFor(
      'the retries to start',
      async () => {
        const rows = (await d.sql.query("SELECT started_at, worker_id FROM execution WHERE job_id = 'long' AND attempt = 2")).rows;
        return rows.length >= onVictim.length && rows.every((r) => r.started_at) ? rows : undefined;
      },
      30_000,
      100,
    );
    const firstRestart = Math.min(...retries.map((r) => (r.started_at as Date).getTime()));
    const lastRestart = Math.max(...retries.map((r) => (r.started_at as Date).getTime()));
    console.log(
      `# kill -9: ${onVictim.length} runs were on the killed worker; marked lost ${lostAt - killedAt} ms after the kill; ` +
        `re-dispatched ${firstRestart - killedAt}..${lastRestart - killedAt} ms after the kill (heartbeat 500 ms, gone after 3 missed)`,
    );
    assert.ok(onVictim.length > 0);
    assert.ok(
      retries.every((r) => r.worker_id !== victimId),
      'retries ran on the other workers',
    );
    assert.equal((await http('GET', `/workers/${victimId}`)).body.state, 'gone');
    await waitFor(
      'every attempt to end',
      async () => (await count("SELECT count(*) AS n FROM execution WHERE job_id = 'long' AND status IN ('queued', 'running')")) === 0,
      60_000,
      200,
    );
    assert.equal(await count("SELECT count(*) AS n FROM execution WHERE job_id = 'long' AND attempt = 2 AND status = 'succeeded'"), onVictim.length);
    const beatsAfter = await waitFor(
      'fires of the periodic job after the kill',
      async () => {
        const n = await count("SELECT count(*) AS n FROM execution WHERE job_id = 'beat' AND status = 'succeeded' AND scheduled_at > $1", [new Date(killedAt + 1000)]);
        return n >= 3 ? n : undefined;
      },
      20_000,
      200,
    );
    assert.ok(beatsAfter >= 3);
  });
});

describe('a killed worker seen gone by its ended database session', { skip }, () => {
  // Gone after three missed heartbeats: 12 s; by its ended session: heartbeat late by 2 s, 6 s.
  const heartbeat = 4000;
  const d = new Deployment({ JOBS_HEARTBEAT_MS: String(heartbeat) });

  before(async () => {
    await d.open();
    await d.boot(2);
  });

  after(() => d.close());

  it('marks its runs lost a heartbeat after the kill, well before three missed heartbeats', async () => {
    const { victim, victimId } = await d.longRuns('long', 6, 20);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const { runs, lostAt } = await d.settledLost(victimId);
    console.log(
      `# kill -9 with a ${heartbeat} ms heartbeat: ${runs.length} runs marked lost ${lostAt - killedAt} ms after the kill (three missed heartbeats: ${3 * heartbeat} ms)`,
    );
    assert.ok(runs.length > 0);
    // The heartbeat rule cannot act before 3 * heartbeat - heartbeat = 8 s after the kill.
    assert.ok(lostAt - killedAt < 2 * heartbeat, `lost ${lostAt - killedAt} ms after the kill`);
    assert.equal((await d.http('GET', `/workers/${victimId}`)).body.state, 'gone');
    // The worker left alive is not taken for gone meanwhile.
    const alive = (await d.http('GET', '/workers')).body.workers.filter((w: { state: string }) => w.state === 'active');
    assert.equal(alive.length, 1);
  });
});
