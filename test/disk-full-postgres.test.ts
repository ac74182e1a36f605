import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fillDisk, mountTmpfs } from './support/tmpfs.js';
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { scaled, startService, tempDir, waitFor, type Running } from './helpers.js';

/**
 * A PostgreSQL server of the test's own on a small tmpfs, filled up: writes answer 503 (the
 * disk is full, or the server stopped on it), never 500; readiness says so; once space is freed
 * the server and the service come back and nothing acknowledged is lost.
 */
const disk = await mountTmpfs('pgdisk', 'size=160m,mode=1777');
const mnt = disk.dir;
const skip = disk.skip || (!(await postgresBinaries()) && 'no PostgreSQL binaries to start a server of its own');
if (skip) console.log(`# SKIPPED PostgreSQL disk test: ${skip}`);

describe('a full disk under PostgreSQL', { skip, timeout: scaled(300_000) }, () => {
  let pg: PrivatePostgres | undefined;
  let running: Running | undefined;
  let defaults: string;
  const filler = path.join(mnt, 'filler');

  before(async () => {
    pg = await startPrivatePostgres({ parent: mnt });
    defaults = await tempDir('defaults');
  });

  after(async () => {
    await running?.close().catch(() => undefined);
    await pg?.destroy().catch(() => undefined);
    await disk.remove();
    if (defaults) await fs.rm(defaults, { recursive: true, force: true });
  });

  it('answers 503 while the disk is full, readiness says so, and nothing acknowledged is lost', async () => {
    const db = { store: 'postgres' as const, env: { DATABASE_URL: pg!.url }, drop: async () => undefined };
    running = await startService(db, { JOBS_DEFAULT_JOBS_DIR: defaults, JOBS_WORKER: 'false' });
    const http = running.http;
    const acknowledged: string[] = [];
    const create = async (id: string) => {
      const res = await http.post(`/api/v1/jobs/echo?job_id=${id}&state=paused`).send({ pad: `${id}:`.padEnd(40_000, 'x') });
      if (res.status === 201) acknowledged.push(id);
      return res;
    };
    for (let i = 0; i < 5; i++) assert.equal((await create(`before-${i}`)).status, 201);

    await fillDisk(filler);
    let refused;
    for (let i = 0; i < 3000 && !refused; i++) {
      const res = await create(`full-${i}`);
      assert.ok(res.status === 201 || res.status === 503, `create on a full disk: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 503) refused = res;
    }
    assert.ok(refused, 'no create was refused on a full disk');
    assert.match(refused.headers['content-type'], /application\/problem\+json/);
    // Either the write itself failed for space, or the server stopped on it (a WAL file it could not write).
    assert.match(refused.body.detail, /the disk holding the database is full|the database cannot be reached/, JSON.stringify(refused.body));
    console.log(`# refused after ${acknowledged.length} creates: ${refused.body.detail}`);
    assert.equal((await http.get('/api/v1/readiness')).status, 503);

    await fs.rm(filler);
    const freedAt = Date.now();
    // A server that stopped on the full disk restarts on its own (restart_after_crash) or is started again.
    await waitFor(
      'the server to answer again',
      async () => {
        const r = await http.get('/api/v1/readiness');
        if (r.status === 200) return true;
        await pg!.start().catch(() => undefined);
        return false;
      },
      scaled(60_000),
      200,
    );
    console.log(`# readiness 200 again ${Date.now() - freedAt} ms after space was freed`);
    assert.equal((await create('after')).status, 201);
    for (const id of acknowledged) assert.equal((await http.get(`/api/v1/jobs/${id}`)).status, 200, id);
    await running.close();
    running = await startService(db, { JOBS_DEFAULT_JOBS_DIR: defaults, JOBS_WORKER: 'false' });
    for (const id of acknowledged) assert.equal((await running.http.get(`/api/v1/jobs/${id}`)).status, 200, id);
  });
});
