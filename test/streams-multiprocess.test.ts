/**
 * The live streams across processes: an API process that runs nothing streams the output and
 * the events of a run that a worker process runs, through the database's notifications.
 * PGlite is one process by nature, so this runs on PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, type Event, type JobsClient, type OutputStreamEvent } from '../src/client/index.js';
import { projectRoot } from '../src/config/config.js';
import { scaled, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { waitForListening } from './support/listening.js';

const skip = process.env.TEST_POSTGRES_URL ? false : 'TEST_POSTGRES_URL is not set: several processes need a shared PostgreSQL';
if (skip) console.log(`# SKIPPED multi-process stream tests: ${skip}`);

describe('live streams across processes on PostgreSQL', { skip, timeout: scaled(180_000) }, () => {
  let db: TestDatabase;
  let dirs: string[] = [];
  const children: Array<{ name: string; child: ChildProcess; log: string[] }> = [];
  let client: JobsClient;

  before(async () => {
    db = await testDatabase('postgres');
    const defaults = await tempDir('defaults');
    const scripts = await tempDir('scripts');
    dirs = [defaults, scripts];
    await fs.writeFile(path.join(scripts, 'count.sh'), '#!/bin/sh\ni=1\nwhile [ "$i" -le "$1" ]; do echo "line $i"; i=$((i+1)); sleep "$2"; done\n', { mode: 0o755 });
    const start = (name: string, args: string[], extra: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), ...args], {
        cwd: projectRoot,
        env: {
          ...process.env,
          ...db.env,
          JOBS_DEFAULT_JOBS_DIR: defaults,
          JOBS_SCRIPTS_DIR: scripts,
          LOG_LEVEL: 'warn',
          JOBS_POLL_INTERVAL_MS: '200',
          JOBS_LOCK_LIFETIME_MS: String(scaled(3000)),
          // Long enough that only NOTIFY can explain events arriving within a fraction of it.
          JOBS_SSE_POLL_INTERVAL_MS: '60000',
          JOBS_WORKER_NAME: name,
          ...extra,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const proc = { name, child, log: [] as string[] };
      child.stdout!.on('data', (b: Buffer) => proc.log.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => proc.log.push(b.toString()));
      children.push(proc);
      return proc;
    };
    // At level info: the API process logs the port it listens on.
    const api = start('api', [], { JOBS_WORKER: 'false', PORT: '0', LOG_LEVEL: 'info' });
    start('worker-1', ['worker'], {});
    const port = await waitForListening(api.child, api.log);
    client = createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1` });
    await waitFor(
      'the API',
      () =>
        client.service.readiness().then(
          () => true,
          () => false,
        ),
      scaled(60_000),
      200,
    );
    await waitFor('an active worker', async () => (await client.workers.list()).workers.some((w) => w.state === 'active'), scaled(60_000), 200);
  });

  after(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await db?.drop();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('follows, on the API process, the output of a run a worker process runs, with its events', async () => {
    await client.jobs.create({ handler: 'run-script', job_id: 'remote', state: 'paused', kwargs: { script: 'count.sh', args: ['5', String(scaled(700) / 1000)] } });
    const ac = new AbortController();
    const events: Event[] = [];
    const watching = (async () => {
      for await (const e of client.events({ job_id: 'remote' }, { signal: ac.signal })) {
        events.push(e);
        if (e.type === 'execution.ended') return;
      }
    })();
    await new Promise((r) => setTimeout(r, scaled(500)));
    const { execution_ids } = await client.jobs.run('remote');
    const id = execution_ids[0];
    const followed: Array<OutputStreamEvent & { at: number }> = [];
    for await (const e of client.followOutput(id)) followed.push({ ...e, at: Date.now() });
    await watching;
    ac.abort();

    const run = await client.executions.get(id);
    const apiWorkers = (await client.workers.list()).workers.filter((w) => w.name === 'api');
    assert.equal(apiWorkers.length, 0, 'the API process runs nothing');
    assert.ok(run.worker_id, 'a worker ran it');
    const lines = followed.flatMap((e) => (e.event === 'output' ? e.data.lines : []));
    assert.deepEqual(
      lines.map((l) => /(line \d)$/.exec(l)?.[1]),
      ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'],
    );
    // Live: lines came in several events, the first well before the end.
    const outputs = followed.filter((e) => e.event === 'output');
    assert.ok(outputs.length > 1, JSON.stringify(followed));
    const end = followed[followed.length - 1];
    assert.ok(end.event === 'end' && end.data.status === 'succeeded', JSON.stringify(end));
    assert.ok(outputs[0].at < end.at, 'output before the end');
    assert.deepEqual(
      events.map((e) => e.type),
      ['execution.created', 'execution.started', 'execution.ended'],
    );
  });
});
