import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

async function runsOf(svc: Running, jobId: string): Promise<Array<{ status: string; scheduled_at: string; error: string | null }>> {
  return (await svc.http.get(`${api}/jobs/${jobId}/executions`).expect(200)).body.executions;
}

for (const { name, skip } of stores) {
  describe(`restarts and misfires on ${name}`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(async () => db?.drop());

    it('a restart loses no job, keeps each next run, and runs what fell due while down', async () => {
      let svc = await startService(db);
      const hourly = (await svc.http.post(`${api}/jobs/echo?job_id=hourly&periodically=1%20hour`).send({}).expect(201)).body.job;
      const soon = new Date(Date.now() + scaled(1000)).toISOString();
      await svc.http
        .post(`${api}/jobs/echo?job_id=soon&when=${encodeURIComponent(soon)}`)
        .send({ x: 1 })
        .expect(201);
      await svc.http.post(`${api}/jobs/echo?job_id=parked&state=paused&periodically=1%20minute`).send({}).expect(201);
      await svc.close();

      await sleep(scaled(1500));
      svc = await startService(db);
      try {
        const again = (await svc.http.get(`${api}/jobs/hourly`).expect(200)).body;
        assert.equal(again.next_run_time, hourly.next_run_time, 'the next run survives the restart unchanged');
        assert.equal((await svc.http.get(`${api}/jobs/parked`).expect(200)).body.state, 'paused');
        const runs = await waitFor('the run that fell due while down', async () => {
          const r = await runsOf(svc, 'soon');
          return r.some((e) => e.status === 'succeeded') ? r : undefined;
        });
        assert.equal(runs.length, 1, 'it ran exactly once');
        assert.equal(runs[0].scheduled_at, soon);
        await sleep(scaled(500));
        assert.equal((await runsOf(svc, 'parked')).length, 0);
      } finally {
        await svc.close();
      }
    });

    it('runs due during downtime beyond the misfire grace are recorded missed; within it they run once', async () => {
      let svc = await startService(db);
      const due = new Date(Date.now() + scaled(800)).toISOString();
      const q = (id: string, grace: number) => `${api}/jobs/echo?job_id=${id}&when=${encodeURIComponent(due)}&misfire_grace_time=${grace}`;
      await svc.http.post(q('strict', 1)).send({}).expect(201);
      await svc.http.post(q('lenient', 60)).send({}).expect(201);
      await svc.http.post(`${api}/jobs/echo?job_id=ticking&periodically=1%20second&misfire_grace_time=1`).send({}).expect(201);
      await svc.close();

      // Down long enough that the strict fire is far past its 1 s grace, the lenient one within its 60 s.
      await sleep(scaled(3500));
      svc = await startService(db);
      try {
        const strict = await waitFor('the missed record', async () => {
          const r = await runsOf(svc, 'strict');
          return r.length ? r : undefined;
        });
        const lenient = await waitFor('the late run', async () => {
          const r = await runsOf(svc, 'lenient');
          return r.some((e) => e.status === 'succeeded') ? r : undefined;
        });
        const ticking = await waitFor('a missed fire and a run after it', async () => {
          const r = await runsOf(svc, 'ticking');
          return r.some((e) => e.status === 'missed') && r.some((e) => e.status === 'succeeded') ? r : undefined;
        });
        await sleep(scaled(300));
        assert.deepEqual(
          (await runsOf(svc, 'strict')).map((e) => e.status),
          ['missed'],
        );
        assert.match(strict[0].error!, /misfire grace time of 1 s/);
        assert.equal((await svc.http.get(`${api}/jobs/strict`).expect(200)).body.last_status, 'missed');
        assert.deepEqual(
          lenient.map((e) => e.status),
          ['succeeded'],
        );
        // The fires missed while down are recorded once, not replayed one by one.
        assert.equal(ticking.filter((e) => e.status === 'missed').length, 1);
      } finally {
        await svc.close();
      }
    });
  });

  describe(`default jobs on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let dir: string;
    before(async () => {
      db = await testDatabase(name);
      dir = await tempDir('default-jobs');
    });
    after(async () => {
      await db?.drop();
      await fs.rm(dir, { recursive: true, force: true });
    });

    const write = (file: string, text: string) => fs.writeFile(path.join(dir, file), text);

    it('upserts by job_id at every boot, applies edits, prunes removed files, keeps API jobs', async () => {
      await write('a.yaml', 'job_id: file-a\nhandler: echo\nkwargs:\n  n: 1\nperiodically: 1 hour\nmisfire_grace_time: 60\n');
      await write('b.yml', "job_id: file-b\nhandler: echo\ncron: '0 4 * * *'\ntimezone: Europe/Prague\nstate: paused\n");
      let svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: dir });
      let a;
      try {
        a = (await svc.http.get(`${api}/jobs/file-a`).expect(200)).body;
        assert.equal(a.source, 'file');
        assert.deepEqual(a.kwargs, { n: 1 });
        const b = (await svc.http.get(`${api}/jobs/file-b`).expect(200)).body;
        assert.equal(b.cron, '0 4 * * *');
        assert.equal(b.state, 'paused');
        await svc.http.post(`${api}/jobs/echo?job_id=from-api&state=paused`).send({}).expect(201);
      } finally {
        await svc.close();
      }

      // Restart unchanged: no duplicates, the next run is kept.
      svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: dir });
      try {
        const user = (await svc.http.get(`${api}/jobs?job_type=user`).expect(200)).body.jobs;
        assert.deepEqual(user.map((j: { job_id: string }) => j.job_id).sort(), ['file-a', 'file-b', 'from-api']);
        assert.equal((await svc.http.get(`${api}/jobs/file-a`).expect(200)).body.next_run_time, a.next_run_time);
      } finally {
        await svc.close();
      }

      await write('a.yaml', 'job_id: file-a\nhandler: echo\nkwargs:\n  n: 2\nperiodically: 1 hour\nmisfire_grace_time: 60\n');
      await fs.rm(path.join(dir, 'b.yml'));
      svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: dir });
      try {
        const edited = (await svc.http.get(`${api}/jobs/file-a`).expect(200)).body;
        assert.deepEqual(edited.kwargs, { n: 2 }, 'the edit reached the database');
        assert.equal(edited.next_run_time, a.next_run_time, 'same schedule, same next run');
        assert.equal((await svc.http.get(`${api}/jobs/file-b`)).status, 404, 'the job whose file was removed is removed');
        assert.equal((await svc.http.get(`${api}/jobs/from-api`)).status, 200, 'jobs from the API are not pruned');
      } finally {
        await svc.close();
      }
    });

    it('a schedule edit in a file reschedules the job', async () => {
      await write('a.yaml', 'job_id: file-a\nhandler: echo\nkwargs:\n  n: 2\nperiodically: 1 second\n');
      const svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: dir });
      try {
        await waitFor('a run on the new one-second schedule', async () => (await runsOf(svc, 'file-a')).some((e) => e.status === 'succeeded'));
      } finally {
        await svc.close();
      }
    });

    it('an invalid file stops the boot with the file name, the field and the reason, and changes nothing', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['c.yaml', 'job_id: file-c\nhandler: echo\nperiodically: now and then\n', /c\.yaml: periodically: cannot read 'now and then'/],
        ['c.yaml', 'handler: echo\n', /c\.yaml: job_id: is required/],
        ['c.yaml', 'job_id: file-c\nhandler: nope\n', /c\.yaml: handler: no handler named 'nope'/],
        ['c.yaml', 'job_id: file-c\nhandler: http-request\nkwargs:\n  url: 42\n', /c\.yaml: kwargs\.url: must be string/],
        ['c.yaml', 'job_id: file-c\nhandler: echo\ncolour: red\n', /c\.yaml: colour: is not a job option/],
        ['c.yaml', 'job_id: file-a\nhandler: echo\n', /c\.yaml: job_id: 'file-a' is also the job_id in a\.yaml/],
        ['c.yaml', 'job_id: [unclosed\n', /c\.yaml: \(file\): is not valid YAML/],
      ];
      for (const [file, text, expected] of cases) {
        await write(file, text);
        await assert.rejects(startService(db, { JOBS_DEFAULT_JOBS_DIR: dir }), (err: Error) => {
          assert.match(err.message, expected);
          return true;
        });
      }
      await fs.rm(path.join(dir, 'c.yaml'));
      const svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: dir });
      try {
        assert.equal((await svc.http.get(`${api}/jobs/file-c`)).status, 404);
        assert.equal((await svc.http.get(`${api}/jobs/file-a`)).status, 200);
      } finally {
        await svc.close();
      }
    });

    it('the shipped default jobs load', async () => {
      const svc = await startService(db, { JOBS_DEFAULT_JOBS_DIR: path.join(projectRoot, 'default-jobs') });
      try {
        const cleanup = (await svc.http.get(`${api}/jobs/cleanup-old-executions`).expect(200)).body;
        assert.equal(cleanup.state, 'paused', 'the destructive default job ships paused');
        assert.equal(cleanup.handler, 'cleanup-executions');
        const check = (await svc.http.get(`${api}/jobs/self-check`).expect(200)).body;
        assert.equal(check.state, 'running');
        assert.ok(check.next_run_time);
      } finally {
        await svc.close();
      }
    });
  });

  describe(`service state at boot and readiness on ${name}`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(async () => db?.drop());

    it('JOB_SERVICE_PAUSED=true boots paused; the stored state then persists; false boots running', async () => {
      let svc = await startService(db, { JOB_SERVICE_PAUSED: 'true' });
      try {
        const paused = (await svc.http.get(`${api}/service/state`).expect(200)).body;
        assert.deepEqual(paused, { state: 'paused', paused_at: paused.paused_at, paused_by: 'JOB_SERVICE_PAUSED' });
        await svc.http.post(`${api}/jobs/echo?job_id=boot-paused`).send({}).expect(201);
        await sleep(scaled(600));
        assert.equal((await runsOf(svc, 'boot-paused')).length, 0);
      } finally {
        await svc.close();
      }
      svc = await startService(db);
      try {
        const paused = (await svc.http.get(`${api}/service/state`).expect(200)).body;
        assert.deepEqual(paused, { state: 'paused', paused_at: paused.paused_at, paused_by: 'JOB_SERVICE_PAUSED' });
      } finally {
        await svc.close();
      }
      svc = await startService(db, { JOB_SERVICE_PAUSED: 'false' });
      try {
        assert.deepEqual((await svc.http.get(`${api}/service/state`).expect(200)).body, { state: 'running' });
        await waitFor('the held run', async () => (await runsOf(svc, 'boot-paused')).some((e) => e.status === 'succeeded'));
      } finally {
        await svc.close();
      }
    });

    it('readiness answers 503 while the database cannot be reached', async (t) => {
      if (name === 'embedded') {
        const svc = await startService(db);
        try {
          await svc.http.get(`${api}/readiness`).expect(200);
          await svc.service.store.close();
          const res = await svc.http.get(`${api}/readiness`);
          assert.equal(res.status, 503);
          assert.match(res.headers['content-type'], /problem\+json/);
          assert.match(res.body.detail, /database/);
          assert.equal((await svc.http.get(`${api}/liveness`)).status, 200, 'liveness does not depend on the database');
        } finally {
          await svc.close();
        }
        return;
      }
      // The server behind a loopback proxy that the test cuts and restores. MongoDB is
      // reached as one host (directConnection), or the driver would go to the members the
      // replica set names, around the proxy.
      if (name === 'mongodb' && !/^mongodb:\/\/[^/,?#]+(\/|$)/.test(db.env.DATABASE_URL)) {
        t.skip('TEST_MONGODB_URL names several hosts or is mongodb+srv://: a proxy stands in front of one host only');
        return;
      }
      const target = new URL(db.env.DATABASE_URL);
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || (name === 'mongodb' ? 27017 : 5432)), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const port = (proxy.address() as net.AddressInfo).port;
      const viaProxy = new URL(target);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(port);
      if (name === 'mongodb') viaProxy.searchParams.set('directConnection', 'true');
      const svc = await startService(db, { DATABASE_URL: viaProxy.toString() });
      try {
        await svc.http.get(`${api}/readiness`).expect(200);
        proxy.close();
        for (const s of sockets) s.destroy();
        const res = await svc.http.get(`${api}/readiness`);
        assert.equal(res.status, 503);
        assert.match(res.body.detail, /database/);
        assert.equal((await svc.http.get(`${api}/liveness`)).status, 200);
        // The database comes back: so does readiness.
        await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
        await waitFor('readiness after the database is back', async () => (await svc.http.get(`${api}/readiness`)).status === 200);
      } finally {
        await svc.close();
        proxy.close();
        for (const s of sockets) s.destroy();
      }
    });
  });
}
