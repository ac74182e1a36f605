import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/program.js';
import { createClient, ProblemError } from '../src/client/index.js';
import { noticeSkippedStores, scaled, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

/** jobsctl's `main` in this process against `url`, its output kept. */
async function jobsctl(url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const sink = () => {
    const w = Object.assign(new Writable({ write: (c: Buffer, _e, done) => ((w.text += c.toString()), done()) }), { text: '' });
    return w;
  };
  const stdout = sink();
  const stderr = sink();
  const code = await main(['--url', url, ...args], { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

for (const { name, skip } of stores) {
  describe(`changing a job, with its versions, on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    let defaults: string;
    before(async () => {
      db = await testDatabase(name);
      defaults = await tempDir('defaults');
      await fs.writeFile(path.join(defaults, 'filed.yaml'), 'job_id: filed\nhandler: echo\nkwargs: { from: file }\nperiodically: 1 hour\n');
      svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: defaults });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('a create is version 1, with an ETag; a PATCH makes version 2 and plans the next fire again', async () => {
      const created = (
        await svc.http
          .post(`${api}/jobs`)
          .send({ job_id: 'edit-me', handler: 'echo', kwargs: { n: 1 }, periodically: '1 hour' })
          .expect(201)
      ).body.job;
      assert.equal(created.version, 1);
      const read = await svc.http.get(`${api}/jobs/edit-me`).expect(200);
      assert.equal(read.headers.etag, '"1"');
      assert.equal(read.body.version, 1);

      const before = Date.now();
      const res = await svc.http
        .patch(`${api}/jobs/edit-me`)
        .set('If-Match', '"1"')
        .send({ cron: '0 3 * * *', timezone: 'Europe/Prague', kwargs: { n: 2 } })
        .expect(200);
      const job = res.body.job;
      assert.equal(res.headers.etag, '"2"');
      assert.equal(job.version, 2);
      assert.equal(job.cron, '0 3 * * *');
      assert.equal(job.periodically, null, 'a cron given replaces the interval');
      assert.equal(job.timezone, 'Europe/Prague');
      assert.deepEqual(job.kwargs, { n: 2 });
      const next = new Date(job.next_run_time);
      assert.ok(next.getTime() > before, 'the next fire is after the change');
      assert.notEqual(job.next_run_time, created.next_run_time);
      assert.equal(job.created_at, created.created_at);
    });

    it('answers 400 naming every bad field and changes nothing', async () => {
      const r = await svc.http.patch(`${api}/jobs/edit-me`).send({ periodically: 'often', timeout: 0, concurrency_policy: 'sometimes', kwargs: 'no' }).expect(400);
      const fields = (r.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
      assert.ok(fields.includes('body.timeout'), JSON.stringify(r.body));
      assert.ok(fields.includes('body.concurrency_policy'), JSON.stringify(r.body));
      // The create's own checks (not only the document's) name the field the same way.
      const semantic = await svc.http.patch(`${api}/jobs/edit-me`).send({ periodically: 'often', cron: null, handler: 'no-such-handler' }).expect(400);
      const named = (semantic.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
      assert.deepEqual(named, ['body.handler', 'body.periodically']);
      const job = (await svc.http.get(`${api}/jobs/edit-me`).expect(200)).body;
      assert.equal(job.version, 2);
      assert.equal(job.cron, '0 3 * * *');
      assert.equal(job.timeout, null);
    });

    it('a stale If-Match answers 412 with the version now; a bad one 400', async () => {
      const r = await svc.http.patch(`${api}/jobs/edit-me`).set('If-Match', '"1"').send({ retries: 3 }).expect(412);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      assert.equal(r.headers.etag, '"2"');
      assert.match(r.body.detail, /version 2, not 1/);
      await svc.http.patch(`${api}/jobs/edit-me`).set('If-Match', 'yesterday').send({ retries: 3 }).expect(400);
      assert.equal((await svc.http.get(`${api}/jobs/edit-me`).expect(200)).body.retries, 0);
      await svc.http.patch(`${api}/jobs/no-such-job`).send({ retries: 3 }).expect(404);
    });

    it('a job from a default-jobs file answers 409 unless the change detaches it', async () => {
      const r = await svc.http.patch(`${api}/jobs/filed`).send({ retries: 2 }).expect(409);
      assert.deepEqual(r.body.errors, [{ field: 'body.detach', reason: 'must be true to change a job that comes from a file' }]);
      assert.equal((await svc.http.get(`${api}/jobs/filed`).expect(200)).body.retries, 0);
      const job = (await svc.http.patch(`${api}/jobs/filed`).send({ retries: 2, detach: true }).expect(200)).body.job;
      assert.equal(job.source, 'api');
      assert.equal(job.retries, 2);
      assert.equal(job.version, 2);
      const versions = (await svc.http.get(`${api}/jobs/filed/versions`).expect(200)).body.versions;
      assert.deepEqual(versions.at(-1).changed, ['retries', 'source']);
      // The next boot leaves a detached job alone.
      await svc.close();
      svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: defaults });
      const again = (await svc.http.get(`${api}/jobs/filed`).expect(200)).body;
      assert.equal(again.retries, 2);
      assert.equal(again.version, 2);
    });

    it('lists the versions with what changed and the whole definition, and rolls back as a new version', async () => {
      const list = (await svc.http.get(`${api}/jobs/edit-me/versions`).expect(200)).body;
      assert.equal(list.version, 2);
      assert.deepEqual(
        list.versions.map((v: { version: number }) => v.version),
        [1, 2],
      );
      assert.deepEqual(list.versions[1].changed, ['cron', 'kwargs', 'periodically', 'timezone']);
      assert.equal(list.versions[0].definition.periodically, '1 hour');
      assert.deepEqual(list.versions[0].definition.kwargs, { n: 1 });
      assert.equal(list.versions[1].definition.cron, '0 3 * * *');

      const rolled = await svc.http.post(`${api}/jobs/edit-me/versions/1/rollback`).set('If-Match', '"2"').expect(200);
      assert.equal(rolled.headers.etag, '"3"');
      const job = rolled.body.job;
      assert.equal(job.version, 3);
      assert.equal(job.periodically, '1 hour');
      assert.equal(job.cron, null);
      assert.equal(job.timezone, null);
      assert.deepEqual(job.kwargs, { n: 1 });
      const after = (await svc.http.get(`${api}/jobs/edit-me/versions`).expect(200)).body.versions;
      assert.equal(after.length, 3);
      assert.deepEqual(after[2].changed, ['cron', 'kwargs', 'periodically', 'timezone']);
      await svc.http.post(`${api}/jobs/edit-me/versions/9/rollback`).expect(404);
      await svc.http.post(`${api}/jobs/edit-me/versions/1/rollback`).set('If-Match', '"2"').expect(412);
    });

    it('a version shows its definition redacted as job reads are, and rolls back to the value itself', async () => {
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'secretive', handler: 'echo', kwargs: { password: 'hunter2' } })
        .expect(201);
      await svc.http
        .patch(`${api}/jobs/secretive`)
        .send({ kwargs: { password: 'other' } })
        .expect(200);
      const listed = await svc.http.get(`${api}/jobs/secretive/versions`).expect(200);
      assert.ok(!JSON.stringify(listed.body).includes('hunter2'), JSON.stringify(listed.body));
      assert.ok(!JSON.stringify(listed.body).includes('other'), JSON.stringify(listed.body));
      await svc.http.post(`${api}/jobs/secretive/versions/1/rollback`).expect(200);
      const store = svc.service.store;
      assert.deepEqual((await store.getJob('secretive'))?.kwargs, { password: 'hunter2' });
    });

    it('a run records the version it was made from', async () => {
      const run = (await svc.http.post(`${api}/jobs/edit-me/executions`).send({}).expect(202)).body;
      const e = (await svc.http.get(`${api}/executions/${run.execution_ids[0]}`).expect(200)).body;
      assert.equal(e.job_version, 3);
    });

    it('the client SDK and jobsctl change a job, list its versions, roll back and say why it ran', async () => {
      const url = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
      const client = createClient({ baseUrl: url });
      const when = new Date(Date.now() + scaled(1500)).toISOString();
      const { job } = await client.jobs.create({ job_id: 'cli-edit', handler: 'echo', kwargs: { n: 1 }, when });
      const { job: changed } = await client.jobs.update('cli-edit', { kwargs: { n: 2 } }, { ifVersion: 1 });
      assert.equal(changed.version, 2);
      assert.equal(changed.next_run_time, job.next_run_time, 'the schedule did not change: the next fire stays');
      await assert.rejects(client.jobs.update('cli-edit', { retries: 1 }, { ifVersion: 1 }), (e: unknown) => e instanceof ProblemError && e.problem.status === 412);
      const versions = await client.jobs.versions('cli-edit');
      assert.deepEqual(versions.versions.at(-1)?.changed, ['kwargs']);

      const update = await jobsctl(url, ['jobs', 'update', 'cli-edit', '--retries', '2', '--if-version', '2']);
      assert.equal(update.code, 0, update.stderr);
      assert.match(update.stdout, /version:\s+3/);
      const stale = await jobsctl(url, ['jobs', 'update', 'cli-edit', '--retries', '3', '--if-version', '2']);
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /412|version 3, not 2/);
      const listed = await jobsctl(url, ['jobs', 'versions', 'cli-edit']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^3 \(now\)\s.*retries$/m);
      const rolled = await jobsctl(url, ['--json', 'jobs', 'rollback', 'cli-edit', '1']);
      assert.equal(rolled.code, 0, rolled.stderr);
      const back = JSON.parse(rolled.stdout).job;
      assert.equal(back.version, 4);
      assert.deepEqual(back.kwargs, { n: 1 });
      assert.equal(back.retries, 0);

      await waitFor('the one-shot run', async () => (await client.jobs.executions('cli-edit')).executions.some((e) => e.status === 'succeeded'));
      const why = await jobsctl(url, ['why', 'cli-edit', when]);
      assert.equal(why.code, 0, why.stderr);
      assert.match(why.stdout, /fire due .* \(version \d\): it ran/);
      assert.match(why.stdout, /run .*: succeeded/);
      const ledger = await jobsctl(url, ['why', 'cli-edit']);
      assert.equal(ledger.code, 0, ledger.stderr);
      assert.match(ledger.stdout, /FIRE\s+OUTCOME\s+VERSION/);
      assert.match(ledger.stdout, /\sran\s/);
      const fires = await client.jobs.fires('cli-edit');
      assert.deepEqual(
        fires.fires.map((f) => f.outcome),
        ['ran'],
      );
      const usage = await jobsctl(url, ['jobs', 'update', 'cli-edit', '--unset', 'handler']);
      assert.equal(usage.code, 2);
    });
  });
}
