import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ field: string; reason: string }>;
}

/** Checks a problem+json answer and that it names `field` among its failing fields. */
function assertProblem(res: { status: number; headers: Record<string, string>; body: Problem }, status: number, field?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  assert.ok(res.body.detail.length > 0);
  if (field) {
    assert.ok(
      res.body.errors?.some((e) => e.field === field),
      `expected a field error on ${field}, got ${JSON.stringify(res.body.errors)}`,
    );
    for (const e of res.body.errors!) assert.ok(e.reason.length > 0);
  }
}

for (const { name, skip } of stores) {
  describe(`API contract on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    const jobsCount = async () => (await svc.http.get(`${api}/jobs?job_type=all&limit=1000`).expect(200)).body.jobs.length as number;

    describe('health and service state', () => {
      it('liveness and readiness answer 200 {}', async () => {
        assert.deepEqual((await svc.http.get(`${api}/liveness`).expect(200)).body, {});
        assert.deepEqual((await svc.http.get(`${api}/readiness`).expect(200)).body, {});
      });

      it('pauses and resumes the service idempotently; another state is 400', async () => {
        assert.deepEqual((await svc.http.get(`${api}/service/state`).expect(200)).body, { state: 'running' });
        assert.deepEqual((await svc.http.put(`${api}/service/state?state=paused`).expect(200)).body, { state: 'paused' });
        const paused = (await svc.http.get(`${api}/service/state`).expect(200)).body;
        assert.deepEqual(paused, { state: 'paused', paused_at: paused.paused_at, paused_by: 'anonymous' });
        assert.ok(Date.parse(paused.paused_at) > Date.now() - 60_000, `paused_at ${paused.paused_at}`);
        await sleep(20);
        assert.deepEqual((await svc.http.put(`${api}/service/state?state=paused`).expect(200)).body, { state: 'paused' });
        assert.deepEqual((await svc.http.get(`${api}/service/state`).expect(200)).body, paused, 'a second pause keeps the time of the first');
        assertProblem(await svc.http.put(`${api}/service/state?state=sleeping`), 400, 'query.state');
        assertProblem(await svc.http.put(`${api}/service/state`), 400, 'query.state');
        assert.deepEqual((await svc.http.put(`${api}/service/state?state=running`).expect(200)).body, { state: 'running' });
      });

      it('serves the document as JSON and YAML, and Swagger UI from local files', async () => {
        const json = await svc.http.get(`${api}/openapi.json`).expect(200);
        assert.equal(json.body.info.title, 'jobs-service');
        assert.ok(json.body.paths['/jobs/flow-scheduling'].post);
        const yaml = await svc.http.get(`${api}/openapi.yaml`).expect(200);
        assert.match(yaml.headers['content-type'], /yaml/);
        assert.match(yaml.text, /^openapi: 3\.0\.3/m);
        const ui = await svc.http.get(`${api}/ui`).expect(200);
        assert.match(ui.text, /swagger-ui-bundle\.js/);
        assert.doesNotMatch(ui.text, /https?:\/\//, 'the UI page loads nothing from another host');
        const init = await svc.http.get(`${api}/ui/swagger-initializer.js`).expect(200);
        assert.match(init.text, /\/api\/v1\/openapi\.json/);
        await svc.http
          .get(`${api}/ui/swagger-ui-bundle.js`)
          .expect(200)
          .expect('content-type', /javascript/);
        assertProblem(await svc.http.get(`${api}/ui/nope.js`), 404);
      });

      it('answers unknown routes with a 404 problem', async () => {
        assertProblem(await svc.http.get(`${api}/nothing-here`), 404);
        assertProblem(await svc.http.get('/elsewhere'), 404);
      });

      it('routes by the most specific path, with 405 for a known path and another method', async () => {
        // POST /jobs/flow-scheduling is a path of its own; a GET there is GET /jobs/{job_id}.
        const asJob = await svc.http.get(`${api}/jobs/flow-scheduling`);
        assertProblem(asJob, 404);
        assert.match(asJob.body.detail, /no job with job_id 'flow-scheduling'/);
        assertProblem(await svc.http.post(`${api}/jobs/some-job`), 405);
        assertProblem(await svc.http.get(`${api}v2/jobs`), 404);
        // A trailing slash is the same path.
        assert.equal((await svc.http.get(`${api}/jobs/`)).status, 200);
      });

      it('answers a path parameter that is not valid percent-encoding with a 400 naming it', async () => {
        assertProblem(await svc.http.get(`${api}/jobs/%E0%A4%A`), 400, 'path.job_id');
        // Encoded characters are decoded: the id asked for is 'a b'.
        const res = await svc.http.get(`${api}/jobs/a%20b`);
        assertProblem(res, 404);
        assert.match(res.body.detail, /'a b'/);
      });
    });

    describe('the Bayesian job routes', () => {
      let jobId: string;

      it('POST /jobs/flow-scheduling creates a job (201) with the options from the query', async () => {
        const res = await svc.http
          .post(`${api}/jobs/flow-scheduling?state=paused&job_id=bayes-1&periodically=2%20days&misfire_grace_time=30`)
          .send({ flow_name: 'echo', flow_arguments: [{ ecosystem: 'npm', name: 'serve-static', version: '1.7.1', force: true }] })
          .expect(201);
        jobId = res.body.job.job_id;
        assert.equal(jobId, 'bayes-1');
        assert.equal(res.headers.location, `${api}/jobs/bayes-1`);
        const job = res.body.job;
        assert.equal(job.handler, 'flow-scheduling');
        assert.equal(job.state, 'paused');
        assert.equal(job.periodically, '2 days');
        assert.equal(job.misfire_grace_time, 30);
        assert.equal(job.when, null);
        assert.deepEqual(job.kwargs.flow_name, 'echo');
      });

      it('a duplicate job_id answers 409 and changes nothing', async () => {
        const before = (await svc.http.get(`${api}/jobs/bayes-1`).expect(200)).body;
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling?job_id=bayes-1`).send({ flow_name: 'echo', flow_arguments: [{}] }), 409, 'query.job_id');
        assert.deepEqual((await svc.http.get(`${api}/jobs/bayes-1`).expect(200)).body, before);
      });

      it('creates sent at the same time: each id stored once, the others 409, every job scheduled', async () => {
        const ids = ['same-a', 'same-b', 'same-a', 'same-c', 'same-a', 'same-b'];
        const answers = await Promise.all(
          ids.map((id, i) => svc.http.post(`${api}/jobs`).send({ job_id: id, handler: 'echo', kwargs: { i }, when: new Date(Date.now() + scaled(1000)).toISOString() })),
        );
        const created = answers.filter((r) => r.status === 201).map((r) => r.body.job.job_id as string);
        assert.deepEqual(created.sort(), ['same-a', 'same-b', 'same-c']);
        for (const r of answers.filter((x) => x.status !== 201)) assertProblem(r, 409, 'body.job_id');
        for (const id of created) {
          // The stored job is the one whose request got the 201, and its schedule fires once.
          const winner = answers.find((r) => r.status === 201 && r.body.job.job_id === id)!;
          const job = await waitFor(`the run of ${id}`, async () => {
            const j = (await svc.http.get(`${api}/jobs/${id}`).expect(200)).body;
            return j.stats.latest_execution?.status === 'succeeded' ? j : null;
          });
          assert.deepEqual(job.kwargs, winner.body.job.kwargs);
          assert.equal(job.stats.total, 1);
        }
      });

      it('GET /jobs/{job_id} shows the job with its next and last run; 404 when unknown', async () => {
        await svc.http.put(`${api}/jobs/${jobId}?state=running`).expect(200, { job_id: jobId, state: 'running' });
        const job = (await svc.http.get(`${api}/jobs/${jobId}`).expect(200)).body;
        assert.equal(job.state, 'running');
        const next = Date.parse(job.next_run_time);
        assert.ok(next > Date.now() + 2 * 86400_000 - 60_000 && next <= Date.now() + 2 * 86400_000, `next run ${job.next_run_time} is two days ahead`);
        assert.equal(job.last_run_time, null);
        assert.equal(job.last_status, null);
        assertProblem(await svc.http.get(`${api}/jobs/no-such-job`), 404);
      });

      it('GET /jobs/{job_id} sent at the same time: each answers its own job, read together on PostgreSQL', async () => {
        const base = `http://127.0.0.1:${await svc.service.listen()}${api}`;
        const ids = Array.from({ length: 12 }, (_, i) => `together-${i}`);
        const jobs = await svc.http.post(`${api}/jobs/bulk`).send({ jobs: ids.map((id, i) => ({ job_id: id, handler: 'echo', kwargs: { i }, state: 'paused' })) });
        assert.equal(jobs.status, 201);
        // A change answered before the reads is in what they answer.
        await svc.http
          .patch(`${api}/jobs/together-3`)
          .send({ kwargs: { i: 'changed' } })
          .expect(200);
        const sql = svc.service.store instanceof SqlStore ? (svc.service.store.db as { query: (...a: unknown[]) => unknown }) : undefined;
        const query = sql?.query;
        let reads = 0;
        if (sql && query) sql.query = (text: unknown, ...rest: unknown[]) => (/WITH ORDINALITY AS k\(id, at\)/.test(String(text)) && (reads += 1), query.call(sql, text, ...rest));
        const asked = [...ids, ...ids, 'together-none'];
        let answers: Array<{ status: number; body: { job_id?: string; kwargs?: { i: unknown }; stats?: { total: number } } }>;
        try {
          answers = await Promise.all(
            asked.map(async (id) => {
              const res = await fetch(`${base}/jobs/${id}`);
              return { status: res.status, body: (await res.json()) as { job_id?: string; kwargs?: { i: unknown } } };
            }),
          );
        } finally {
          if (sql && query) sql.query = query;
        }
        asked.forEach((id, k) => {
          if (id === 'together-none') return assert.equal(answers[k].status, 404);
          const i = Number(id.slice('together-'.length));
          assert.deepEqual([answers[k].status, answers[k].body.job_id, answers[k].body.kwargs], [200, id, { i: i === 3 ? 'changed' : i }], id);
          assert.equal(answers[k].body.stats?.total, 0);
        });
        // On PostgreSQL reads made while one is under way go together in the next; PGlite, in
        // this process, answers each before the next request is read.
        if (sql && name === 'postgres') assert.ok(reads >= 1 && reads < asked.length, `${reads} statements read ${asked.length} jobs`);
      });

      it('PUT /jobs/{job_id}?state= pauses and resumes; 400 for a bad state, 404 for an unknown job', async () => {
        assert.deepEqual((await svc.http.put(`${api}/jobs/${jobId}?state=paused`).expect(200)).body, { job_id: jobId, state: 'paused' });
        assert.equal((await svc.http.get(`${api}/jobs/${jobId}`).expect(200)).body.next_run_time, null);
        assertProblem(await svc.http.put(`${api}/jobs/${jobId}?state=active`), 400, 'query.state');
        assertProblem(await svc.http.put(`${api}/jobs/no-such-job?state=paused`), 404);
        await svc.http.put(`${api}/jobs/${jobId}?state=running`).expect(200);
      });

      it('DELETE /jobs answers 405', async () => {
        const res = await svc.http.delete(`${api}/jobs`);
        assertProblem(res, 405);
        assert.match(res.headers.allow, /GET/);
      });

      it('DELETE /jobs/{job_id} removes it (200), then answers 410', async () => {
        assert.deepEqual((await svc.http.delete(`${api}/jobs/${jobId}`).expect(200)).body, { removed: [jobId] });
        assertProblem(await svc.http.delete(`${api}/jobs/${jobId}`), 410);
        assertProblem(await svc.http.get(`${api}/jobs/${jobId}`), 404);
      });

      it('a job without job_id gets one generated', async () => {
        const res = await svc.http.post(`${api}/jobs/echo?state=paused`).send({ message: 'x' }).expect(201);
        assert.match(res.body.job.job_id, /^[0-9a-f-]{36}$/);
        await svc.http.delete(`${api}/jobs/${res.body.job.job_id}`).expect(200);
      });

      it('GET /jobs with another job_type is 400', async () => {
        assertProblem(await svc.http.get(`${api}/jobs?job_type=some`), 400, 'query.job_type');
      });
    });

    describe('runs, failures and clean-failed', () => {
      it('a failing run leaves a failure record listed by job_type=failed, and clean-failed removes it', async () => {
        const res = await svc.http.post(`${api}/jobs/http-request?job_id=will-fail`).send({ url: 'http://127.0.0.1:9/nothing', timeout: 2 }).expect(201);
        assert.equal(res.body.job.job_id, 'will-fail');
        const failure = await waitFor('a failure record', async () => {
          const list = (await svc.http.get(`${api}/jobs?job_type=failed`).expect(200)).body;
          return list.jobs.find((f: { failed_job_id: string }) => f.failed_job_id === 'will-fail');
        });
        assert.equal(failure.handler, 'http-request');
        assert.deepEqual(failure.kwargs, { url: 'http://127.0.0.1:9/nothing', timeout: 2 });
        assert.match(failure.error, /127\.0\.0\.1:9/);
        assert.match(failure.traceback, /Error/);
        assert.ok(Date.parse(failure.time) > 0);

        const job = (await svc.http.get(`${api}/jobs/will-fail`).expect(200)).body;
        assert.equal(job.last_status, 'failed');
        assert.ok(job.last_run_time);
        assert.equal(job.next_run_time, null, 'a one-shot job has no next run after it ran');

        const run = (await svc.http.get(`${api}/executions/${failure.execution_id}`).expect(200)).body;
        assert.equal(run.status, 'failed');
        assert.equal(run.job_id, 'will-fail');
        assert.ok(run.duration_ms >= 0);
        assert.ok(Date.parse(run.started_at) >= Date.parse(run.scheduled_at) - 5);
        assert.match(run.stack, /Error/);

        const all = (await svc.http.get(`${api}/jobs?job_type=all&limit=1000`).expect(200)).body;
        assert.ok(all.jobs.some((j: { job_id?: string }) => j.job_id === 'will-fail'));
        assert.ok(all.jobs.some((j: { failed_job_id?: string }) => j.failed_job_id === 'will-fail'));
        const user = (await svc.http.get(`${api}/jobs?job_type=user&limit=1000`).expect(200)).body;
        assert.ok(user.jobs.every((j: { job_id?: string }) => j.job_id !== undefined));

        const cleaned = (await svc.http.delete(`${api}/jobs/clean-failed`).expect(200)).body;
        assert.ok(cleaned.removed.includes(failure.execution_id));
        assert.equal((await svc.http.get(`${api}/jobs?job_type=failed`).expect(200)).body.jobs_count, 0);
        assert.deepEqual((await svc.http.delete(`${api}/jobs/clean-failed`).expect(200)).body, { removed: [] });
      });

      it('selective-flow-scheduling runs only the named steps of the child handler', async () => {
        const res = await svc.http
          .post(`${api}/jobs/selective-flow-scheduling`)
          .send({ flow_name: 'cleanup-executions', task_names: ['failures'], run_subsequent: false, flow_arguments: [{ older_than: '3650 days' }] })
          .expect(201);
        const jobId = res.body.job.job_id;
        const child = await waitFor('the child run', async () => {
          const runs = (await svc.http.get(`${api}/executions?job_id=${jobId}`).expect(200)).body.executions;
          return runs.find((e: { trigger: string; status: string }) => e.trigger === 'flow' && e.status === 'succeeded');
        });
        assert.deepEqual(child.selection, { task_names: ['failures'], run_subsequent: false });
        const output = (await svc.http.get(`${api}/executions/${child.id}/output`).expect(200)).body;
        const text = output.lines.join('\n');
        assert.match(text, /step failures started/);
        assert.doesNotMatch(text, /step executions started/);
        assert.equal(output.truncated, false);

        assertProblem(
          await svc.http.post(`${api}/jobs/selective-flow-scheduling`).send({ flow_name: 'cleanup-executions', task_names: ['nope'], flow_arguments: [{}] }),
          400,
          'body.task_names.0',
        );
        assertProblem(await svc.http.post(`${api}/jobs/selective-flow-scheduling`).send({ flow_name: 'echo', task_names: ['x'], flow_arguments: [{}] }), 400, 'body.flow_name');
      });

      it('flow_arguments are checked against the flow handler schema at creation', async () => {
        assertProblem(
          await svc.http.post(`${api}/jobs/flow-scheduling`).send({ flow_name: 'http-request', flow_arguments: [{ url: 'http://x' }, { method: 'GET' }] }),
          400,
          'body.flow_arguments.1.url',
        );
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).send({ flow_name: 'bayesianFlow', flow_arguments: [{}] }), 400, 'body.flow_name');
      });
    });

    describe('the generic POST /jobs and the catalog', () => {
      it('creates a job for any handler with options in the body', async () => {
        const res = await svc.http
          .post(`${api}/jobs`)
          .send({ handler: 'echo', kwargs: { message: 'hi' }, job_id: 'generic-1', cron: '0 3 * * *', timezone: 'Europe/Prague', state: 'paused' })
          .expect(201);
        assert.equal(res.body.job.cron, '0 3 * * *');
        assert.equal(res.body.job.timezone, 'Europe/Prague');
        await svc.http.delete(`${api}/jobs/generic-1`).expect(200);
      });

      it('validates kwargs against the handler schema, and the handler itself', async () => {
        assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'http-request', kwargs: { method: 'GET' } }), 400, 'body.kwargs.url');
        assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'http-request', kwargs: { url: 'ftp://x' } }), 400, 'body.kwargs.url');
        assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'no-such-handler', kwargs: {} }), 400, 'body.handler');
        assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', kwargs: {}, color: 'red' }), 400, 'body.color');
        assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'cleanup-executions', kwargs: { older_than: 'soon' } }), 400, 'body.kwargs.older_than');
      });

      it('GET /handlers lists the catalog with kwargs schemas and steps', async () => {
        const { handlers } = (await svc.http.get(`${api}/handlers`).expect(200)).body;
        const names = handlers.map((h: { name: string }) => h.name);
        for (const n of ['flow-scheduling', 'selective-flow-scheduling', 'http-request', 'echo', 'cleanup-executions']) assert.ok(names.includes(n), n);
        const cleanup = handlers.find((h: { name: string }) => h.name === 'cleanup-executions');
        assert.deepEqual(cleanup.steps, ['executions', 'failures']);
        const http = handlers.find((h: { name: string }) => h.name === 'http-request');
        assert.deepEqual(http.kwargs_schema.required, ['url']);
      });
    });

    describe('bad input never yields a 5xx and changes nothing', () => {
      it('rejects each kind of bad input with a problem naming the field', async () => {
        const count = await jobsCount();
        const flow = { flow_name: 'echo', flow_arguments: [{}] };
        const post = (query: string) => svc.http.post(`${api}/jobs/flow-scheduling${query}`).send(flow);

        const malformed = await svc.http.post(`${api}/jobs/flow-scheduling`).set('Content-Type', 'application/json').send('{"flow_name": ');
        assertProblem(malformed, 400, 'body');
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).send({ flow_name: 'echo', flow_arguments: 'all' }), 400, 'body.flow_arguments');
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).send({ flow_arguments: [{}] }), 400, 'body.flow_name');
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).send({ ...flow, extra: 1 }), 400, 'body.extra');
        assertProblem(await svc.http.post(`${api}/jobs/echo`).send({ note: 'a\u0000b' }), 400, 'body.note');
        // Strings PostgreSQL cannot store, made with JSON's escapes: a lone surrogate in a value and in a key.
        const raw = (text: string) => svc.http.post(`${api}/jobs/echo`).set('Content-Type', 'application/json').send(text);
        assertProblem(await raw('{"note": "a\\ud800b"}'), 400, 'body.note');
        assertProblem(await raw('{"x\\udc00": 1}'), 400, 'body.x\\udc00');
        // Nested 100,000 deep: refused where it passes JOBS_BODY_MAX_DEPTH (64), not by the call stack.
        const deep = 100_000;
        assertProblem(await raw(`{"note": ${'['.repeat(deep)}${']'.repeat(deep)}}`), 400, `body.note${'.0'.repeat(63)}`);
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`), 400, 'body');
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).set('Content-Type', 'text/plain').send('hello'), 415);
        const big = { flow_name: 'echo', flow_arguments: [{ pad: 'x'.repeat(2 * 1024 * 1024) }] };
        assertProblem(await svc.http.post(`${api}/jobs/flow-scheduling`).send(big), 413);

        assertProblem(await post('?periodically=0%20seconds'), 400, 'query.periodically');
        assertProblem(await post('?periodically=-5%20minutes'), 400, 'query.periodically');
        assertProblem(await post('?periodically=sometimes'), 400, 'query.periodically');
        assertProblem(await post('?periodically=0:00:00'), 400, 'query.periodically');
        assertProblem(await post('?when=yesterday'), 400, 'query.when');
        assertProblem(await post('?when=2001-01-01T00:00:00Z'), 400, 'query.when');
        assertProblem(await post('?when=2031-02-30T00:00:00Z'), 400, 'query.when');
        assertProblem(await post('?misfire_grace_time=later'), 400, 'query.misfire_grace_time');
        assertProblem(await post('?misfire_grace_time=0'), 400, 'query.misfire_grace_time');
        assertProblem(await post('?cron=61%20*%20*%20*%20*'), 400, 'query.cron');
        assertProblem(await post('?cron=*%20*%20*'), 400, 'query.cron');
        assertProblem(await post('?cron=0%203%20*%20*%20*&timezone=Mars/Olympus'), 400, 'query.timezone');
        assertProblem(await post('?cron=0%203%20*%20*%20*&periodically=1%20day'), 400, 'query.cron');
        assertProblem(await post('?state=active'), 400, 'query.state');
        assertProblem(await post('?job_id=has%20space'), 400, 'query.job_id');
        assertProblem(await svc.http.get(`${api}/jobs?limit=0`), 400, 'query.limit');
        assertProblem(await svc.http.get(`${api}/jobs?limit=abc`), 400, 'query.limit');
        assertProblem(await svc.http.get(`${api}/jobs?cursor=garbage`), 400, 'query.cursor');
        assertProblem(await svc.http.get(`${api}/executions?cursor=garbage`), 400, 'query.cursor');

        // Several bad fields at once are all named.
        const several = await post('?periodically=never&when=soon');
        assertProblem(several, 400, 'query.periodically');
        assertProblem(several, 400, 'query.when');

        assert.equal(await jobsCount(), count, 'no bad request stored anything');
      });
    });

    describe('listing and paging', () => {
      it('pages jobs in a stable job_id order with a cursor', async () => {
        const ids = ['page-c', 'page-a', 'page-e', 'page-b', 'page-d'];
        for (const id of ids) await svc.http.post(`${api}/jobs/echo?state=paused&job_id=${id}`).send({}).expect(201);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const q: string = `${api}/jobs?job_type=user&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page = (await svc.http.get(q).expect(200)).body;
          assert.ok(page.jobs_count <= 2);
          assert.equal(page.jobs_count, page.jobs.length);
          seen.push(...page.jobs.map((j: { job_id: string }) => j.job_id));
          cursor = page.next_cursor;
          pages += 1;
        } while (cursor && pages < 100);
        const mine = seen.filter((id) => id.startsWith('page-'));
        assert.deepEqual(mine, [...ids].sort());
        assert.deepEqual(seen, [...seen].sort(), 'job_id order');
        assert.equal(new Set(seen).size, seen.length, 'no job twice');
        const first = (await svc.http.get(`${api}/jobs?job_type=user`).expect(200)).body;
        assert.ok(first.jobs.length <= 100);
        for (const id of ids) await svc.http.delete(`${api}/jobs/${id}`).expect(200);
      });
    });

    describe('scheduling semantics', () => {
      it('a periodic job runs on its interval and shows its next and last run', async () => {
        await svc.http.post(`${api}/jobs/echo?job_id=every-second&periodically=1%20second`).send({ n: 1 }).expect(201);
        const runs = await waitFor('two runs', async () => {
          const r = (await svc.http.get(`${api}/jobs/every-second/executions`).expect(200)).body.executions;
          return r.filter((e: { status: string }) => e.status === 'succeeded').length >= 2 ? r : undefined;
        });
        const due = runs.map((e: { scheduled_at: string }) => Date.parse(e.scheduled_at)).sort();
        const step = due[1] - due[0];
        assert.equal(step % 1000, 0, `fires stay on the 1 s grid, got ${step} ms apart`);
        const job = (await svc.http.get(`${api}/jobs/every-second`).expect(200)).body;
        assert.equal(job.last_status, 'succeeded');
        assert.ok(Date.parse(job.next_run_time) > Date.parse(job.last_run_time));
        await svc.http.delete(`${api}/jobs/every-second`).expect(200);
      });

      it('a one-shot job with `when` runs at that time, not before', async () => {
        const when = new Date(Date.now() + scaled(1500));
        await svc.http
          .post(`${api}/jobs/echo?job_id=at-when&when=${encodeURIComponent(when.toISOString())}`)
          .send({})
          .expect(201);
        const run = await waitFor('the run', async () => {
          const r = (await svc.http.get(`${api}/jobs/at-when/executions`).expect(200)).body.executions;
          return r.find((e: { status: string }) => e.status === 'succeeded');
        });
        assert.ok(Date.parse(run.started_at) >= when.getTime(), `started ${run.started_at}, due ${when.toISOString()}`);
        assert.equal(Date.parse(run.scheduled_at), when.getTime());
        await svc.http.delete(`${api}/jobs/at-when`).expect(200);
      });

      it('a 6-field cron job runs every second', async () => {
        await svc.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'cron-sec', cron: '* * * * * *' }).expect(201);
        await waitFor('two cron runs', async () => {
          const r = (await svc.http.get(`${api}/jobs/cron-sec/executions`).expect(200)).body.executions;
          return r.filter((e: { status: string }) => e.status === 'succeeded').length >= 2;
        });
        await svc.http.delete(`${api}/jobs/cron-sec`).expect(200);
      });

      it('a paused job does not run until resumed', async () => {
        await svc.http.post(`${api}/jobs/echo?job_id=held&state=paused`).send({}).expect(201);
        await sleep(scaled(700));
        assert.equal((await svc.http.get(`${api}/jobs/held/executions`).expect(200)).body.executions.length, 0);
        await svc.http.put(`${api}/jobs/held?state=running`).expect(200);
        await waitFor('the resumed run', async () => {
          const r = (await svc.http.get(`${api}/jobs/held/executions`).expect(200)).body.executions;
          return r.some((e: { status: string }) => e.status === 'succeeded');
        });
        await svc.http.delete(`${api}/jobs/held`).expect(200);
      });

      it('nothing runs while the service is paused; due jobs run once it resumes', async () => {
        await svc.http.put(`${api}/service/state?state=paused`).expect(200);
        await svc.http.post(`${api}/jobs/echo?job_id=while-paused`).send({}).expect(201);
        await sleep(scaled(700));
        assert.equal((await svc.http.get(`${api}/jobs/while-paused/executions`).expect(200)).body.executions.length, 0);
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
        await waitFor('the run after resume', async () => {
          const r = (await svc.http.get(`${api}/jobs/while-paused/executions`).expect(200)).body.executions;
          return r.some((e: { status: string }) => e.status === 'succeeded');
        });
        await svc.http.delete(`${api}/jobs/while-paused`).expect(200);
      });
    });
  });
}
