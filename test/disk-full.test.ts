import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { pgliteTemplate } from './support/pglite-template.js';
import { fillDisk, mountTmpfs } from './support/tmpfs.js';
import { scaled, startService, tempDir, waitFor, type Running } from './helpers.js';

const run = promisify(execFile);

/**
 * The embedded store on a small tmpfs of its own, filled up: writes answer 503 naming the
 * cause, readiness says so until space is freed, nothing acknowledged is lost; a boot on the
 * folder mounted read-only names the folder and the cause.
 */
const disk = await mountTmpfs('disk', 'size=80m');
const mnt = disk.dir;
const skip = disk.skip;
if (skip) console.log(`# SKIPPED disk tests: ${skip}`);

describe('a full or read-only disk under the embedded store', { skip, timeout: scaled(240_000) }, () => {
  const dataDir = path.join(mnt, 'data');
  const filler = path.join(mnt, 'filler');
  let running: Running | undefined;
  let defaults: string;

  before(async () => {
    await fs.cp(await pgliteTemplate(), dataDir, { recursive: true });
    defaults = await tempDir('defaults');
  });

  after(async () => {
    await running?.close().catch(() => undefined);
    await disk.remove();
    if (defaults) await fs.rm(defaults, { recursive: true, force: true });
  });

  it('answers 503 naming the cause, reports it in readiness, and loses nothing acknowledged', async () => {
    running = await startService({ store: 'embedded', env: { JOBS_DATA_DIR: dataDir }, drop: async () => undefined }, { JOBS_DEFAULT_JOBS_DIR: defaults });
    const http = running.http;
    const acknowledged: string[] = [];
    const create = async (id: string) => {
      const res = await http.post(`/api/v1/jobs/echo?job_id=${id}&state=paused`).send({ pad: `${id}:`.padEnd(4000, 'x') });
      if (res.status === 201) acknowledged.push(id);
      return res;
    };
    for (let i = 0; i < 5; i++) assert.equal((await create(`before-${i}`)).status, 201);

    await fillDisk(filler);
    let refused;
    for (let i = 0; i < 2000 && !refused; i++) {
      const res = await create(`full-${i}`);
      assert.ok(res.status === 201 || res.status === 503, `create on a full disk: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 503) refused = res;
    }
    assert.ok(refused, 'no create was refused on a full disk');
    assert.match(refused.headers['content-type'], /application\/problem\+json/);
    assert.match(refused.body.detail, /the disk holding the database is full/);

    const ready = await http.get('/api/v1/readiness');
    assert.equal(ready.status, 503);
    assert.match(ready.body.detail, /the disk holding the database is full/);
    // Still so a moment later: nothing has freed space.
    assert.equal((await http.get('/api/v1/readiness')).status, 503);

    await fs.rm(filler);
    const freedAt = Date.now();
    await waitFor('readiness 200 once space is freed', async () => (await http.get('/api/v1/readiness')).status === 200, 20_000, 50);
    console.log(`# readiness 200 again ${Date.now() - freedAt} ms after space was freed`);
    assert.equal((await create('after')).status, 201);

    // Every acknowledged job is there, and still is after a restart.
    for (const id of acknowledged) assert.equal((await http.get(`/api/v1/jobs/${id}`)).status, 200, id);
    await running.close();
    running = await startService({ store: 'embedded', env: { JOBS_DATA_DIR: dataDir }, drop: async () => undefined }, { JOBS_DEFAULT_JOBS_DIR: defaults });
    for (const id of acknowledged) assert.equal((await running.http.get(`/api/v1/jobs/${id}`)).status, 200, id);
    await running.close();
    running = undefined;
  });

  it('names the folder and the cause when it boots on a read-only folder', async () => {
    await running?.close();
    running = undefined;
    await run('mount', ['-o', 'remount,ro', mnt]);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
        cwd: projectRoot,
        env: { ...process.env, JOBS_DATA_DIR: dataDir, JOBS_DEFAULT_JOBS_DIR: defaults, PORT: '0', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      const text = out.join('');
      assert.equal(code, 1, text.slice(-2000));
      assert.ok(text.includes(`"msg":"cannot start: cannot open the data folder ${dataDir}: the database's storage is read-only`), text.slice(-2000));
    } finally {
      await run('mount', ['-o', 'remount,rw', mnt]);
    }
  });
});
