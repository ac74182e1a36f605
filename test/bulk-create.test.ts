/**
 * POST /jobs/bulk: many jobs in one request, all or nothing, each entry checked as POST /jobs
 * checks it; through the API on every store, and through the SDK and jobsctl. A create, single
 * or bulk, stores the job, its schedule row and its job.created event together or none of them
 * (Engine.createJobs: on SQL one statement).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/program.js';
import { createClient, ProblemError } from '../src/client/index.js';
import type { SqlClient } from '../src/db/sql-client.js';
import { noticeSkippedStores, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ field: string; reason: string }>;
}

type Res = { status: number; headers: Record<string, string>; body: unknown };

function assertProblem(res: Res, status: number, field: string, reason: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 500));
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  const e = (res.body as Problem).errors?.find((x) => x.field === field);
  assert.ok(e, `expected a field error on ${field}, got ${JSON.stringify((res.body as Problem).errors)}`);
  assert.match(e.reason, reason);
}

for (const { name, skip } of stores) {
  describe(`bulk create on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_MAX_BULK_JOBS: '1000' });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    /** How many of the jobs named `prefix` 0 .. n-1 exist. */
    const count = async (prefix: string, n = 10) => {
      let found = 0;
      for (let i = 0; i < n; i++) if ((await svc.http.get(`${api}/jobs/${prefix}${i}`)).status === 200) found += 1;
      return found;
    };

    it('creates every job of the list, in its order, scheduled; one-shot jobs run', async () => {
      const jobs = Array.from({ length: 1000 }, (_, i) => ({ job_id: `many-${String(i).padStart(4, '0')}`, handler: 'echo', kwargs: { n: i }, periodically: '1 hour' }));
      const res = await svc.http.post(`${api}/jobs/bulk`).send({ jobs });
      assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 500));
      const body = res.body as { jobs: Array<{ job_id: string; handler: string; kwargs: { n: number }; next_run_time: string | null }>; jobs_count: number };
      assert.equal(body.jobs_count, 1000);
      assert.deepEqual(
        body.jobs.map((j) => j.job_id),
        jobs.map((j) => j.job_id),
      );
      assert.deepEqual(body.jobs[7].kwargs, { n: 7 });
      const listed = await svc.http.get(`${api}/jobs?job_type=user&limit=1000`).expect(200);
      assert.equal((listed.body as { jobs: Array<{ job_id: string }> }).jobs.filter((j) => j.job_id.startsWith('many-')).length, 1000);
      const one = await svc.http.get(`${api}/jobs/many-0500`).expect(200);
      assert.equal((one.body as { handler: string }).handler, 'echo');
      assert.ok((one.body as { stats: { next_execution: { scheduled_at: string } | null } }).stats.next_execution, 'the job has its next run');

      // One-shot jobs without `when` run at once: their schedule rows exist and fire.
      const now = await svc.http
        .post(`${api}/jobs/bulk`)
        .send({ jobs: [0, 1, 2].map((i) => ({ job_id: `now-${i}`, handler: 'echo', kwargs: { message: `bulk ${i}` } })) })
        .expect(201);
      assert.equal((now.body as { jobs_count: number }).jobs_count, 3);
      for (const i of [0, 1, 2]) {
        await waitFor(`the run of now-${i}`, async () => {
          const r = await svc.http.get(`${api}/jobs/now-${i}/executions`);
          return (r.body as { executions?: Array<{ status: string }> }).executions?.some((e) => e.status === 'succeeded');
        });
      }
    });

    it('Prefer: return=minimal answers the ids in the order given; other preferences answer the jobs', async () => {
      const jobs = [
        { job_id: 'pref-0', handler: 'echo', when: '2099-01-01T00:00:00Z' },
        { handler: 'echo', kwargs: { n: 1 }, when: '2099-01-01T00:00:00Z' },
        { job_id: 'pref-2', handler: 'echo', periodically: '1 hour' },
      ];
      const res = await svc.http.post(`${api}/jobs/bulk`).set('Prefer', 'respond-async, Return=minimal; x=1').send({ jobs });
      assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 500));
      assert.equal(res.headers['preference-applied'], 'return=minimal');
      const ids = res.body as { job_ids: string[]; jobs_count: number; jobs?: unknown };
      assert.equal(ids.jobs_count, 3);
      assert.equal(ids.jobs, undefined);
      assert.equal(ids.job_ids[0], 'pref-0');
      assert.equal(ids.job_ids[2], 'pref-2');
      // A generated id is a time-ordered UUID (version 7): new ids join job_pkey at its right edge.
      assert.match(ids.job_ids[1], /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const generated = await svc.http.get(`${api}/jobs/${ids.job_ids[1]}`).expect(200);
      assert.deepEqual((generated.body as { kwargs: unknown }).kwargs, { n: 1 });
      assert.ok((await svc.http.get(`${api}/jobs/pref-2`).expect(200)).body.next_run_time, 'the periodic job is scheduled');

      // The ids are the only thing that changes: a bad entry is the same 400, and nothing is stored.
      const bad = await svc.http
        .post(`${api}/jobs/bulk`)
        .set('Prefer', 'return=minimal')
        .send({
          jobs: [
            { job_id: 'pref-3', handler: 'echo' },
            { job_id: 'pref-4', handler: 'echo', periodically: 'often' },
          ],
        });
      assertProblem(bad, 400, 'body.jobs[1].periodically', /.+/);
      await svc.http.get(`${api}/jobs/pref-3`).expect(404);

      for (const prefer of ['return=representation', 'wait=10', 'return=minimalist']) {
        const full = await svc.http
          .post(`${api}/jobs/bulk`)
          .set('Prefer', prefer)
          .send({ jobs: [{ handler: 'echo', when: '2099-01-01T00:00:00Z' }] })
          .expect(201);
        assert.equal(full.headers['preference-applied'], undefined, prefer);
        assert.equal((full.body as { jobs: Array<{ handler: string }> }).jobs[0].handler, 'echo', prefer);
      }
    });

    it('names every bad field of every entry and creates none of them', async () => {
      const res = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { job_id: 'bad-0', handler: 'echo' },
          { job_id: 'bad-1', handler: 'echo', periodically: 'now and then' },
          { job_id: 'bad-2', handler: 'http-request', kwargs: { url: 42 } },
          { job_id: 'bad-3', handler: 'no-such-handler' },
        ],
      });
      assertProblem(res, 400, 'body.jobs[1].periodically', /./);
      assertProblem(res, 400, 'body.jobs[2].kwargs.url', /./);
      assertProblem(res, 400, 'body.jobs[3].handler', /no handler named 'no-such-handler'/);
      assert.equal(await count('bad-'), 0);
    });

    it('refuses a job_id given twice, or taken already, and creates none of them', async () => {
      const twice = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { job_id: 'dup-0', handler: 'echo' },
          { job_id: 'dup-1', handler: 'echo' },
          { job_id: 'dup-0', handler: 'echo' },
        ],
      });
      assertProblem(twice, 400, 'body.jobs[2].job_id', /also the job_id of jobs\[0\]/);
      assert.equal(await count('dup-'), 0);

      await svc.http.post(`${api}/jobs`).send({ job_id: 'taken-1', handler: 'echo', when: '2099-01-01T00:00:00Z' }).expect(201);
      const taken = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { job_id: 'taken-0', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { job_id: 'taken-1', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { job_id: 'taken-2', handler: 'echo', when: '2099-01-01T00:00:00Z' },
        ],
      });
      assertProblem(taken, 409, 'body.jobs[1].job_id', /is taken/);
      assert.equal(await count('taken-'), 1);
    });

    it('stores each entry as POST /jobs stores the same body, its options given or left out', async () => {
      for (const id of ['same-target', 'same-upstream']) await svc.http.post(`${api}/jobs`).send({ job_id: id, handler: 'echo', when: '2099-01-01T00:00:00Z' }).expect(201);
      const full = {
        handler: 'echo',
        kwargs: { message: 'full', nested: { list: [1, 'two', null] } },
        cron: '0 6 * * *',
        timezone: 'Europe/Prague',
        misfire_grace_time: 30,
        timeout: 60,
        concurrency_policy: 'replace',
        retries: 2,
        retry_backoff: 5,
        catch_up: 'last',
        start_at: '2098-01-01T00:00:00Z',
        end_at: '2099-06-01T00:00:00Z',
        max_runs: 5,
        jitter: 3,
        state: 'paused',
        on_success: [{ job_id: 'same-target' }],
        after_all: ['same-upstream'],
        pause_after_failures: 3,
        deadline: { start_within: 60 },
      };
      const bare = { handler: 'echo', when: '2099-01-01T00:00:00Z' };
      const bulk = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { ...full, job_id: 'same-bulk-full' },
          { ...bare, job_id: 'same-bulk-bare' },
        ],
      });
      assert.equal(bulk.status, 201, JSON.stringify(bulk.body));
      await svc.http
        .post(`${api}/jobs`)
        .send({ ...full, job_id: 'same-one-full' })
        .expect(201);
      await svc.http
        .post(`${api}/jobs`)
        .send({ ...bare, job_id: 'same-one-bare' })
        .expect(201);
      // Everything but the id and the times of the create itself.
      const shown = (j: Record<string, unknown>) => {
        const { job_id: _id, created_at: _c, updated_at: _u, stats: _s, ...rest } = j;
        return rest;
      };
      const created = (bulk.body as { jobs: Array<Record<string, unknown>> }).jobs;
      for (const kind of ['full', 'bare']) {
        const [fromBulk, fromOne] = await Promise.all([svc.http.get(`${api}/jobs/same-bulk-${kind}`).expect(200), svc.http.get(`${api}/jobs/same-one-${kind}`).expect(200)]);
        assert.deepEqual(shown(fromBulk.body as Record<string, unknown>), shown(fromOne.body as Record<string, unknown>), kind);
        // The answer of the bulk create shows what a read shows.
        assert.deepEqual(shown(created[kind === 'full' ? 0 : 1]), shown(fromBulk.body as Record<string, unknown>), kind);
      }
      const stored = (await svc.http.get(`${api}/jobs/same-bulk-full`).expect(200)).body as Record<string, unknown>;
      assert.deepEqual(stored.kwargs, full.kwargs);
      assert.equal(stored.timeout, 60);
      assert.equal(stored.state, 'paused');
      assert.deepEqual(stored.deadline, { start_within: 60, run_within: null });
      const bareStored = (await svc.http.get(`${api}/jobs/same-bulk-bare`).expect(200)).body as Record<string, unknown>;
      assert.equal(bareStored.timeout, null);
      assert.deepEqual(bareStored.kwargs, {});
      assert.deepEqual(bareStored.on_success, []);
    });

    it('checks the secret references of the entries that have any, naming the entry', async () => {
      const res = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { job_id: 'secret-0', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { job_id: 'secret-1', handler: 'echo', kwargs: {}, when: '2099-01-01T00:00:00Z' },
          { job_id: 'secret-2', handler: 'echo', kwargs: { message: { $secret: 'no-such-secret' } }, when: '2099-01-01T00:00:00Z' },
        ],
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const errors = (res.body as Problem).errors ?? [];
      assert.ok(
        errors.some((e) => e.field.startsWith('body.jobs[2].kwargs') && /no-such-secret/.test(e.reason)),
        JSON.stringify(errors),
      );
      assert.equal(await count('secret-', 3), 0);
    });

    it('names a chain that would make a cycle by its entry', async () => {
      const res = await svc.http.post(`${api}/jobs/bulk`).send({
        jobs: [
          { job_id: 'cycle-0', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { job_id: 'cycle-1', handler: 'echo', when: '2099-01-01T00:00:00Z', on_success: [{ job_id: 'cycle-2' }] },
          { job_id: 'cycle-2', handler: 'echo', when: '2099-01-01T00:00:00Z', on_success: [{ job_id: 'cycle-1' }] },
        ],
      });
      assertProblem(res, 400, 'body.jobs[2].on_success', /makes a cycle: cycle-2 -> cycle-1 -> cycle-2/);
      assert.equal(await count('cycle-', 3), 0);
    });

    it('stores none of the list when an id is taken between the check and the insert, named or generated', async () => {
      const { store, engine } = svc.service;
      const createJobs = engine.createJobs;
      // Another create lands first, under the last id of the list: for generated ids only a
      // collision could do that, and the insert's own check is what keeps the list whole.
      engine.createJobs = async (write, to) => {
        const last = write.jobs[write.jobs.length - 1];
        await store.insertJobs([{ ...last, kwargs: { meanwhile: true } }]);
        return createJobs(write, to);
      };
      try {
        const named = await svc.http.post(`${api}/jobs/bulk`).send({ jobs: [0, 1, 2].map((i) => ({ job_id: `race-${i}`, handler: 'echo', when: '2099-01-01T00:00:00Z' })) });
        assertProblem(named, 409, 'body.jobs[2].job_id', /is taken/);
        assert.equal(await count('race-', 3), 1);
        assert.deepEqual((await svc.http.get(`${api}/jobs/race-2`).expect(200)).body.kwargs, { meanwhile: true });

        const before = (await svc.http.get(`${api}/jobs?job_type=user&limit=1000`).expect(200)).body as { jobs: Array<{ job_id: string }> };
        const generated = await svc.http
          .post(`${api}/jobs/bulk`)
          .send({ jobs: [0, 1, 2].map(() => ({ handler: 'echo', kwargs: { generated: true }, when: '2099-01-01T00:00:00Z' })) });
        assertProblem(generated, 409, 'body.jobs[2].job_id', /is taken/);
        const after = (await svc.http.get(`${api}/jobs?job_type=user&limit=1000`).expect(200)).body as { jobs: Array<{ job_id: string; kwargs: unknown }> };
        // Only the job that came meanwhile is new.
        const added = after.jobs.filter((j) => !before.jobs.some((b) => b.job_id === j.job_id));
        assert.deepEqual(
          added.map((j) => j.kwargs),
          [{ meanwhile: true }],
        );
      } finally {
        engine.createJobs = createJobs;
      }
    });

    const createdEvents = async (after: number, jobId: string) =>
      (await svc.service.store.readEvents(after, [], 1000)).filter((e) => e.type === 'job.created' && e.job_id === jobId);

    it('stores the job with its schedule row and one job.created event; a taken id adds nothing', async () => {
      const { scheduler, store } = svc.service;
      const since = await store.lastEventId();
      const when = new Date(Date.now() + 1000).toISOString();
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'created-1', when, kwargs: { first: true } }, { source: 'api' });
      await assert.rejects(scheduler.postScheduleJob({ handler: 'echo', job_id: 'created-1', when, kwargs: { first: false } }, { source: 'api' }), /exists already/);
      assert.deepEqual((await store.getJob('created-1'))?.kwargs, { first: true });
      // The schedule row is there: the run starts when the job falls due.
      await waitFor('the run of created-1', async () => (await store.listExecutions({ job_id: 'created-1' }, null, 10)).items.find((e) => e.status === 'succeeded'));
      assert.equal((await createdEvents(since, 'created-1')).length, 1);
    });

    it('stores none of a list created all or nothing when one id is taken', async () => {
      const { scheduler, store, engine } = svc.service;
      await scheduler.postScheduleJob({ handler: 'echo', job_id: 'whole-2', when: '2099-01-01T00:00:00Z' }, { source: 'api' });
      const jobs = [0, 1, 2].map((i) => scheduler.buildJob({ handler: 'echo', job_id: `whole-${i}`, when: '2099-01-01T00:00:00Z' }, { source: 'api' }));
      const since = await store.lastEventId();
      assert.deepEqual(await engine.createJobs({ jobs, all: true }, store), []);
      assert.equal(await store.getJob('whole-0'), null);
      assert.equal(await store.getJob('whole-1'), null);
      assert.equal((await createdEvents(since, 'whole-0')).length, 0);
      // Without `all`, the others are stored.
      assert.deepEqual(await engine.createJobs({ jobs }, store), ['whole-0', 'whole-1']);
    });

    it('gives schedule rows time-ordered ids (UUID v7) on SQL', { skip: name === 'mongodb' ? "Agenda's rows have ObjectIds, time-ordered already" : false }, async () => {
      const sql = (svc.service.engine as unknown as { sql: SqlClient }).sql;
      const before = Date.now();
      await svc.http
        .post(`${api}/jobs/bulk`)
        .send({ jobs: [0, 1, 2].map((i) => ({ job_id: `ordered-${i}`, handler: 'echo', when: '2099-01-01T00:00:00Z' })) })
        .expect(201);
      const after = Date.now();
      const rows = await sql.query<{ id: string }>(`SELECT id::text AS id FROM dispatch WHERE job_id LIKE 'ordered-%'`, []);
      assert.equal(rows.rows.length, 3);
      for (const { id } of rows.rows) {
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
        // The database's clock, within a second of this process's.
        assert.ok(ms >= before - 1000 && ms <= after + 1000, `${id}: ${ms} not within ${before}..${after}`);
      }
    });

    it(
      'leaves no job and no event when the schedule row cannot be written',
      { skip: name === 'mongodb' ? 'the refusal is a CHECK constraint of the SQL dispatch table' : false },
      async () => {
        const { scheduler, store, engine } = svc.service;
        const sql = (engine as unknown as { sql: SqlClient }).sql;
        await sql.query(`ALTER TABLE dispatch ADD CONSTRAINT refused_rows CHECK (job_id IS NULL OR job_id NOT LIKE 'refused-%') NOT VALID`, []);
        try {
          const since = await store.lastEventId();
          await assert.rejects(scheduler.postScheduleJob({ handler: 'echo', job_id: 'refused-1', when: '2099-01-01T00:00:00Z' }, { source: 'api' }), /refused_rows/);
          await assert.rejects(
            scheduler.postScheduleJobs(
              ['kept-2', 'refused-3'].map((job_id) => ({ handler: 'echo', job_id, when: '2099-01-01T00:00:00Z' })),
              { source: 'api' },
            ),
            /refused_rows/,
          );
          for (const id of ['refused-1', 'kept-2', 'refused-3']) {
            assert.equal(await store.getJob(id), null, id);
            assert.equal((await createdEvents(since, id)).length, 0, id);
          }
        } finally {
          await sql.query('ALTER TABLE dispatch DROP CONSTRAINT refused_rows', []);
        }
      },
    );

    it('leaves one audit record for the request and one job.created event for each job', async () => {
      const after = await svc.service.store.lastEventId();
      const ids = Array.from({ length: 300 }, (_, i) => `audited-${i}`);
      const res = await svc.http
        .post(`${api}/jobs/bulk`)
        .set('X-Request-Id', 'bulk-audit-1')
        .send({ jobs: ids.map((job_id) => ({ job_id, handler: 'echo', when: '2099-01-01T00:00:00Z' })) })
        .expect(201);
      assert.equal((res.body as { jobs_count: number }).jobs_count, 300);
      const records = await waitFor('the audit record', async () => {
        const page = await svc.service.store.listAudit({ operation: 'createJobs' }, null, 1000);
        const mine = page.items.filter((a) => a.request_id === 'bulk-audit-1');
        return mine.length ? mine : undefined;
      });
      assert.equal(records.length, 1);
      assert.equal(records[0].status, 201);
      assert.equal(records[0].outcome, 'success');
      const created = await waitFor('the events', async () => {
        const events = (await svc.service.store.readEvents(after, [], 10_000)).filter((e) => e.type === 'job.created' && e.job_id?.startsWith('audited-'));
        return events.length >= ids.length ? events : undefined;
      });
      assert.deepEqual(created.map((e) => e.job_id).sort(), [...ids].sort());
    });

    it('refuses more jobs than JOBS_MAX_BULK_JOBS, an empty list and a body that is not a list of jobs', async () => {
      const over = await svc.http.post(`${api}/jobs/bulk`).send({ jobs: Array.from({ length: 1001 }, (_, i) => ({ job_id: `over-${i}`, handler: 'echo' })) });
      assertProblem(over, 400, 'body.jobs', /at most 1000 at once \(JOBS_MAX_BULK_JOBS\)/);
      assert.equal(await count('over-', 3), 0);
      const empty = await svc.http.post(`${api}/jobs/bulk`).send({ jobs: [] });
      assert.equal(empty.status, 400);
      assert.match(empty.headers['content-type'], /^application\/problem\+json/);
      const notList = await svc.http.post(`${api}/jobs/bulk`).send([{ handler: 'echo' }]);
      assert.equal(notList.status, 400);
      assert.match(notList.headers['content-type'], /^application\/problem\+json/);
    });
  });
}

/** A stream that keeps what is written to it. */
function captured(): Writable & { text: string } {
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        stream.text += chunk.toString();
        done();
      },
    }),
    { text: '' },
  );
  return stream;
}

// The SDK and jobsctl only speak HTTP: one store is enough for them.
for (const { name, skip } of stores.filter((s) => s.name === 'embedded')) {
  describe(`bulk create through the SDK and jobsctl on ${name}`, { skip, timeout: 300_000 }, () => {
    let db: TestDatabase;
    let svc: Running;
    let url: string;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { PORT: '0', HOST: '127.0.0.1' });
      url = `http://127.0.0.1:${await svc.service.listen()}/api/v1`;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('jobs.createManyIds answers only the ids, in the order given', async () => {
      const client = createClient({ baseUrl: url });
      const created = await client.jobs.createManyIds([
        { job_id: 'ids-1', handler: 'echo', when: '2099-01-01T00:00:00Z' },
        { handler: 'echo', when: '2099-01-01T00:00:00Z' },
      ]);
      assert.equal(created.jobs_count, 2);
      assert.equal(created.job_ids.length, 2);
      assert.equal(created.job_ids[0], 'ids-1');
      assert.equal((await client.jobs.get(created.job_ids[1])).handler, 'echo');
    });

    it('jobs.createMany creates the list, and answers a ProblemError naming the field', async () => {
      const client = createClient({ baseUrl: url });
      const created = await client.jobs.createMany([
        { job_id: 'sdk-1', handler: 'echo', when: '2099-01-01T00:00:00Z' },
        { job_id: 'sdk-2', handler: 'echo', cron: '0 3 * * *', timezone: 'Europe/Prague' },
      ]);
      assert.equal(created.jobs_count, 2);
      assert.equal((await client.jobs.get('sdk-2')).cron, '0 3 * * *');
      await assert.rejects(
        () =>
          client.jobs.createMany([
            { job_id: 'sdk-3', handler: 'echo' },
            { job_id: 'sdk-1', handler: 'echo' },
          ]),
        (err) => err instanceof ProblemError && err.problem.status === 409 && JSON.stringify(err.problem).includes('body.jobs[1].job_id'),
      );
      await assert.rejects(
        () => client.jobs.get('sdk-3'),
        (err) => err instanceof ProblemError && err.problem.status === 404,
      );
    });

    it('jobsctl jobs create-many reads a file or stdin', async () => {
      const dir = await tempDir('bulk');
      const file = path.join(dir, 'jobs.json');
      await fs.writeFile(
        file,
        JSON.stringify([
          { job_id: 'cli-1', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { job_id: 'cli-2', handler: 'echo', when: '2099-01-01T00:00:00Z' },
        ]),
      );
      const run = async (args: string[], stdin?: string) => {
        const stdout = captured();
        const stderr = captured();
        const io = {
          stdout,
          stderr,
          ...(stdin === undefined
            ? {}
            : {
                stdin: (async function* () {
                  yield Buffer.from(stdin);
                })() as unknown as NodeJS.ReadableStream,
              }),
        };
        const code = await main(['--url', url, ...args], io);
        return { code, stdout: stdout.text, stderr: stderr.text };
      };
      const fromFile = await run(['jobs', 'create-many', file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.match(fromFile.stdout, /created 2 job\(s\)/);
      assert.match(fromFile.stdout, /cli-2/);
      const fromStdin = await run(['--json', 'jobs', 'create-many', '-'], JSON.stringify({ jobs: [{ job_id: 'cli-3', handler: 'echo', when: '2099-01-01T00:00:00Z' }] }));
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      assert.equal((JSON.parse(fromStdin.stdout) as { jobs_count: number }).jobs_count, 1);
      const ids = await run(
        ['jobs', 'create-many', '--ids', '-'],
        JSON.stringify([
          { job_id: 'cli-4', handler: 'echo', when: '2099-01-01T00:00:00Z' },
          { handler: 'echo', when: '2099-01-01T00:00:00Z' },
        ]),
      );
      assert.equal(ids.code, 0, ids.stderr);
      const lines = ids.stdout.trim().split('\n');
      assert.equal(lines.length, 2, ids.stdout);
      assert.equal(lines[0], 'cli-4');
      assert.match(lines[1], /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      const idsJson = await run(['--json', 'jobs', 'create-many', '--ids', '-'], JSON.stringify([{ job_id: 'cli-5', handler: 'echo', when: '2099-01-01T00:00:00Z' }]));
      assert.deepEqual(JSON.parse(idsJson.stdout), { job_ids: ['cli-5'], jobs_count: 1 });
      const taken = await run(['jobs', 'create-many', file]);
      assert.equal(taken.code, 1, taken.stdout);
      assert.match(taken.stderr, /job_id/);
      const notJson = await run(['jobs', 'create-many', '-'], 'not json');
      assert.equal(notJson.code, 2);
      assert.match(notJson.stderr, /not JSON/);
    });
  });
}
