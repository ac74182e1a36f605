import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { finalStatuses } from '../src/store/types.js';
import { scaled, sleep, startService, tempDir, waitFor, type Running, type TestDatabase } from './helpers.js';
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';

const binaries = await postgresBinaries();
const skip = binaries ? false : 'no PostgreSQL binaries under /usr/lib/postgresql: a private server cannot be made';
if (skip) console.log(`# SKIPPED run ends through a PostgreSQL restart: ${skip}`);

describe('run ends through a PostgreSQL restart', { skip }, () => {
  let server: PrivatePostgres;
  let scripts: string;
  let svc: Running;

  before(async () => {
    server = await startPrivatePostgres();
    scripts = await tempDir('scripts');
    await fs.writeFile(path.join(scripts, 'sleep.sh'), '#!/bin/sh\necho "sleeping $1"\nsleep "$1"\necho "woke up"\n', { mode: 0o755 });
    process.env.JOBS_SCRIPTS_DIR = scripts;
    const db: TestDatabase = { store: 'postgres', env: { DATABASE_URL: `${server.url}?schema=ends` }, drop: async () => undefined };
    svc = await startService(db, { JOBS_CONCURRENCY: '40', JOBS_END_RETRY_MAX_MS: '500' });
  });

  after(async () => {
    await svc?.close();
    await server?.destroy();
    await fs.rm(scripts, { recursive: true, force: true });
  });

  it('every run reaches its final status once the database is back, and none runs twice', async () => {
    const { scheduler, store } = svc.service;
    const runs = 30;
    await scheduler.postScheduleJob({ handler: 'run-script', job_id: 'ends', state: 'paused', retries: 1, kwargs: { script: 'sleep.sh', args: ['2'] } }, { source: 'api' });
    const ids = (await scheduler.runNow('ends', undefined, runs)).executions.map((e) => e.id);
    await waitFor('every run to be running', async () => (await store.getExecutions(ids)).every((e) => e.status === 'running'), 20_000, 50);
    // The handlers return while the server is down: every end is written after it comes back.
    await sleep(1000);
    await server.stop('fast');
    const down = Date.now();
    await sleep(scaled(3000));
    await server.start();
    const up = Date.now();
    const ended = await waitFor(
      'every run to reach a final status',
      async () => {
        const list = await store.getExecutions(ids);
        return list.every((e) => finalStatuses.includes(e.status)) && list;
      },
      30_000,
      100,
    );
    const last = Math.max(...ended.map((e) => e.finished_at!.getTime()));
    console.log(
      `# ${runs} runs ended during a ${up - down} ms outage: all final ${Date.now() - up} ms after the server was back (the last handler returned ${up - last} ms before it was back)`,
    );
    const statuses = ended.map((e) => e.status);
    assert.deepEqual(
      statuses.filter((s) => s !== 'succeeded'),
      [],
      'every run succeeded: none was settled as lost',
    );
    // No run was queued again (a retry of a run taken for lost would be a second execution of its fire).
    const client = new pg.Client({ connectionString: server.url, options: '-c search_path=ends' });
    await client.connect();
    try {
      const all = await client.query("SELECT count(*) AS n FROM execution WHERE job_id = 'ends'");
      assert.equal(Number(all.rows[0].n), runs, 'no run was retried');
      // The rows of ended runs are written back too (they were deleted or unlocked).
      await waitFor(
        'every run row to be written back',
        async () => Number((await client.query('SELECT count(*) AS n FROM dispatch WHERE locked_at IS NOT NULL')).rows[0].n) === 0,
        10_000,
        100,
      );
    } finally {
      await client.end();
    }
  });

  it('a shutdown waits, within its grace, for run ends that cannot be written yet', async () => {
    const db: TestDatabase = { store: 'postgres', env: { DATABASE_URL: `${server.url}?schema=drain` }, drop: async () => undefined };
    const own = await startService(db, { JOBS_SHUTDOWN_GRACE_SECONDS: String(Math.ceil(scaled(60_000) / 1000)), JOBS_END_RETRY_MAX_MS: '300' });
    const { scheduler, store } = own.service;
    await scheduler.postScheduleJob({ handler: 'run-script', job_id: 'drain', state: 'paused', retries: 1, kwargs: { script: 'sleep.sh', args: ['1'] } }, { source: 'api' });
    const ids = (await scheduler.runNow('drain', undefined, 10)).executions.map((e) => e.id);
    await waitFor('every run to be running', async () => (await store.getExecutions(ids)).every((e) => e.status === 'running'), 20_000, 50);
    await server.stop('fast');
    // The handlers return while the server is down; the shutdown starts before it is back.
    await sleep(2000);
    const closing = own.close();
    await sleep(1000);
    await server.start();
    await closing;
    const client = new pg.Client({ connectionString: server.url, options: '-c search_path=drain' });
    await client.connect();
    try {
      const r = await client.query('SELECT status, count(*) AS n FROM execution WHERE id = ANY($1::text[]) GROUP BY status', [ids]);
      assert.deepEqual(
        r.rows.map((x) => [x.status, Number(x.n)]),
        [['succeeded', ids.length]],
        'every end was written before the shutdown finished',
      );
    } finally {
      await client.end();
    }
  });
});
