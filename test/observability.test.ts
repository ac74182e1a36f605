/**
 * Metrics, the audit log and the run log lines, on the real service: metric values move with
 * real runs and real HTTP calls; every call that changes something leaves an audit record,
 * paged through GET /audit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { migrations } from '../src/store/sql/migrations/index.js';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { capturedLogger, noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { reader: secret(), writer: secret(), admin: secret() };
const tokenList = `reader:${T.reader}:read,writer:${T.writer}:write,admin:${T.admin}:admin`;

/** Prometheus exposition text as series -> value; a series' labels are sorted so the key is canonical. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

const series = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;

interface AuditBody {
  id: string;
  time: string;
  request_id: string | null;
  token_name: string | null;
  operation: string;
  method: string;
  path: string;
  job_id: string | null;
  execution_id: string | null;
  worker_id: string | null;
  batch_id: string | null;
  status: number;
  outcome: string;
}

for (const { name, skip } of stores) {
  describe(`metrics, audit and run logs on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    const captured = capturedLogger('info');
    const as = (who: keyof typeof T) => ({ Authorization: `Bearer ${T[who]}` });

    const scrape = async () => {
      const res = await svc.http.get(`${api}/metrics`).expect(200);
      assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
      return { text: res.text, m: parseMetrics(res.text) };
    };
    const batchDone = (id: string, n: number) =>
      waitFor(`batch ${id}`, async () => {
        const b = (await svc.http.get(`${api}/batches/${id}`).set(as('reader')).expect(200)).body;
        return b.finished_at && b.total === n ? b : undefined;
      });
    const runDone = (id: string) =>
      waitFor(`run ${id}`, async () => {
        const e = (await svc.http.get(`${api}/executions/${id}`).set(as('reader')).expect(200)).body;
        return e.finished_at ? e : undefined;
      });

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_API_TOKENS: tokenList }, { log: captured.log });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('/metrics names every metric, with the process metrics', async () => {
      const { text } = await scrape();
      for (const [metric, type] of [
        ['jobs_runs_started_total', 'counter'],
        ['jobs_runs_finished_total', 'counter'],
        ['jobs_run_duration_seconds', 'histogram'],
        ['jobs_run_start_lag_seconds', 'histogram'],
        ['jobs_runs_queued', 'gauge'],
        ['jobs_workers', 'gauge'],
        ['jobs_store_up', 'gauge'],
        ['jobs_http_requests_total', 'counter'],
        ['jobs_http_request_duration_seconds', 'histogram'],
        ['process_cpu_user_seconds_total', 'counter'],
        ['process_resident_memory_bytes', 'gauge'],
        ['nodejs_heap_size_used_bytes', 'gauge'],
        ['nodejs_eventloop_lag_seconds', 'gauge'],
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${metric} ${type}$`, 'm'), metric);
        assert.match(text, new RegExp(`^# HELP ${metric} `, 'm'), metric);
      }
    });

    it('run metrics move with runs: started, finished by status, durations, start lag, queued runs', async () => {
      const { m: m0 } = await scrape();
      const delta = (m: Map<string, number>, name: string, labels: Record<string, string> = {}) => (m.get(series(name, labels)) ?? 0) - (m0.get(series(name, labels)) ?? 0);

      await svc.http.post(`${api}/jobs/echo?job_id=metrics-echo&when=2099-01-01T00:00:00Z`).set(as('writer')).send({ message: 'm' }).expect(201);
      const three = await svc.http.post(`${api}/jobs/metrics-echo/executions`).set(as('writer')).send({ times: 3 }).expect(202);
      await batchDone(three.body.batch_id, 3);
      // A run that fails: nothing listens on port 1 of loopback.
      await svc.http
        .post(`${api}/jobs`)
        .set(as('writer'))
        .send({ handler: 'http-request', job_id: 'metrics-fail', kwargs: { url: 'http://127.0.0.1:1/', timeout: 5 }, when: '2099-01-01T00:00:00Z' })
        .expect(201);
      const failing = await svc.http.post(`${api}/jobs/metrics-fail/executions`).set(as('writer')).expect(202);
      assert.equal((await runDone(failing.body.execution_ids[0])).status, 'failed');

      const { m: m1 } = await scrape();
      assert.equal(delta(m1, 'jobs_runs_started_total', { handler: 'echo' }), 3);
      assert.equal(delta(m1, 'jobs_runs_finished_total', { handler: 'echo', status: 'succeeded' }), 3);
      assert.equal(delta(m1, 'jobs_run_duration_seconds_count', { handler: 'echo' }), 3);
      assert.equal(delta(m1, 'jobs_run_start_lag_seconds_count', { handler: 'echo' }), 3);
      assert.ok(delta(m1, 'jobs_run_duration_seconds_sum', { handler: 'echo' }) >= 0);
      assert.ok(delta(m1, 'jobs_run_start_lag_seconds_sum', { handler: 'echo' }) > 0, 'a queued run starts some time after it was due');
      assert.equal(m1.get(series('jobs_run_duration_seconds_bucket', { handler: 'echo', le: '+Inf' })), m1.get(series('jobs_run_duration_seconds_count', { handler: 'echo' })));
      assert.equal(delta(m1, 'jobs_runs_started_total', { handler: 'http-request' }), 1);
      assert.equal(delta(m1, 'jobs_runs_finished_total', { handler: 'http-request', status: 'failed' }), 1);
      assert.equal(delta(m1, 'jobs_runs_finished_total', { handler: 'http-request', status: 'succeeded' }), 0);
      assert.equal(m1.get(series('jobs_runs_queued')), 0);
      assert.equal(m1.get(series('jobs_store_up')), 1);

      // Paused, runs stay queued: the gauge reads them from the database.
      await svc.http.put(`${api}/service/state?state=paused`).set(as('admin')).expect(200);
      const four = await svc.http.post(`${api}/jobs/metrics-echo/executions`).set(as('writer')).send({ times: 4 }).expect(202);
      const { m: m2 } = await scrape();
      assert.equal(m2.get(series('jobs_runs_queued')), 4);
      assert.equal(delta(m2, 'jobs_runs_started_total', { handler: 'echo' }), 3);
      // A queued run cancelled before it starts ends there, and is counted as cancelled.
      await svc.http.post(`${api}/executions/${four.body.execution_ids[0]}/cancel`).set(as('writer')).expect(200);
      const { m: m2b } = await scrape();
      assert.equal(m2b.get(series('jobs_runs_queued')), 3);
      assert.equal(delta(m2b, 'jobs_runs_finished_total', { handler: 'echo', status: 'cancelled' }), 1);
      await svc.http.put(`${api}/service/state?state=running`).set(as('admin')).expect(200);
      await batchDone(four.body.batch_id, 4);
      const { m: m3 } = await scrape();
      assert.equal(m3.get(series('jobs_runs_queued')), 0);
      assert.equal(delta(m3, 'jobs_runs_started_total', { handler: 'echo' }), 6);
      assert.equal(delta(m3, 'jobs_runs_finished_total', { handler: 'echo', status: 'succeeded' }), 6);
      assert.equal(delta(m3, 'jobs_runs_finished_total', { handler: 'echo', status: 'cancelled' }), 1);
    });

    it('the workers gauge follows the workers in the database', async () => {
      const stats = (await svc.http.get(`${api}/stats`).set(as('reader')).expect(200)).body;
      let { m } = await scrape();
      for (const state of ['active', 'blocked', 'gone']) assert.equal(m.get(series('jobs_workers', { state })), stats.workers[state] ?? 0, state);
      assert.equal(m.get(series('jobs_workers', { state: 'active' })), 1);
      const id = svc.service.worker!.id;
      await svc.http.put(`${api}/workers/${id}/state?state=blocked`).set(as('admin')).expect(200);
      ({ m } = await scrape());
      assert.equal(m.get(series('jobs_workers', { state: 'blocked' })), 1);
      assert.equal(m.get(series('jobs_workers', { state: 'active' })), 0);
      await svc.http.put(`${api}/workers/${id}/state?state=active`).set(as('admin')).expect(200);
      ({ m } = await scrape());
      assert.equal(m.get(series('jobs_workers', { state: 'active' })), 1);
    });

    it('HTTP metrics count requests by operationId and status, and time them', async () => {
      const { m: m0 } = await scrape();
      const delta = (m: Map<string, number>, name: string, labels: Record<string, string>) => (m.get(series(name, labels)) ?? 0) - (m0.get(series(name, labels)) ?? 0);
      for (let i = 0; i < 3; i++) await svc.http.get(`${api}/jobs`).set(as('reader')).expect(200);
      await svc.http.get(`${api}/jobs/no-such-job`).set(as('reader')).expect(404);
      await svc.http.get(`${api}/jobs`).expect(401);
      await svc.http.post(`${api}/jobs`).set(as('reader')).send({ handler: 'echo' }).expect(403);
      await svc.http.get(`${api}/no/such/route`).expect(404);
      const { m: m1 } = await scrape();
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'listJobs', status: '200' }), 3);
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'listJobs', status: '401' }), 1);
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'getJob', status: '404' }), 1);
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'createJob', status: '403' }), 1);
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'none', status: '404' }), 1);
      // The previous scrape is counted once it has answered.
      assert.equal(delta(m1, 'jobs_http_requests_total', { operation: 'getMetrics', status: '200' }), 1);
      assert.equal(delta(m1, 'jobs_http_request_duration_seconds_count', { operation: 'listJobs' }), 4);
      assert.ok(delta(m1, 'jobs_http_request_duration_seconds_sum', { operation: 'listJobs' }) > 0);
    });

    it('logs one line per run start and end with execution, job, handler, status and duration', async () => {
      const runs = captured.records().filter((r) => r.msg === 'run started' || r.msg === 'run finished');
      const started = runs.filter((r) => r.msg === 'run started' && r.handler === 'echo' && r.job_id === 'metrics-echo');
      const finished = runs.filter((r) => r.msg === 'run finished' && r.handler === 'echo' && r.job_id === 'metrics-echo');
      // Six ran; one was cancelled while queued and ends with a line of its own, never started.
      assert.equal(started.length, 6);
      assert.equal(finished.length, 7);
      const [cancelled, ...ran] = [...finished].sort((a, b) => (a.status === 'cancelled' ? -1 : b.status === 'cancelled' ? 1 : 0));
      assert.equal(cancelled.status, 'cancelled');
      assert.ok(!started.some((s) => s.execution_id === cancelled.execution_id));
      for (const f of ran) {
        assert.equal(f.status, 'succeeded');
        assert.equal(typeof f.duration_ms, 'number');
        assert.ok(started.some((s) => s.execution_id === f.execution_id));
      }
      const failed = runs.find((r) => r.msg === 'run finished' && r.job_id === 'metrics-fail');
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.handler, 'http-request');
      assert.match(String(failed?.error), /ECONNREFUSED|fetch failed|connect/i);
    });

    describe('audit', () => {
      const list = async (query = '') => (await svc.http.get(`${api}/audit${query}`).set(as('admin')).expect(200)).body as { audit: AuditBody[]; next_cursor: string | null };
      let since: string;

      it('records every call that changes something, whatever its outcome, with the ids it touched', async () => {
        since = new Date().toISOString();
        await new Promise((r) => setTimeout(r, 5));
        let step = 0;
        // Each call carries its own request id, which its audit record keeps.
        const id = () => `audit-step-${++step}`;
        const created = await svc.http.post(`${api}/jobs/echo?job_id=audit-job&when=2099-01-01T00:00:00Z`).set(as('writer')).set('X-Request-Id', id()).send({}).expect(201);
        const one = await svc.http.post(`${api}/jobs/audit-job/executions`).set(as('writer')).set('X-Request-Id', id()).expect(202);
        const many = await svc.http.post(`${api}/jobs/audit-job/executions`).set(as('writer')).set('X-Request-Id', id()).send({ times: 2 }).expect(202);
        await batchDone(many.body.batch_id, 2);
        await svc.http.post(`${api}/jobs`).set(as('writer')).set('X-Request-Id', id()).send({ handler: 'echo', job_id: 'audit-job' }).expect(409);
        await svc.http.post(`${api}/jobs/echo?periodically=0%20seconds&job_id=audit-bad`).set(as('writer')).set('X-Request-Id', id()).send({}).expect(400);
        await svc.http.post(`${api}/executions/no-such-run/cancel`).set(as('writer')).set('X-Request-Id', id()).expect(404);
        await svc.http.put(`${api}/service/state?state=running`).set(as('writer')).set('X-Request-Id', id()).expect(403);
        await svc.http.delete(`${api}/jobs/audit-job`).set('Authorization', 'Bearer not-a-known-token').set('X-Request-Id', id()).expect(401);
        await svc.http.put(`${api}/workers/${svc.service.worker!.id}/state?state=active`).set(as('admin')).set('X-Request-Id', id()).expect(200);
        await svc.http.delete(`${api}/jobs/audit-job`).set(as('writer')).set('X-Request-Id', id()).expect(200);
        // Reads are not audited.
        for (const url of ['/jobs', '/jobs/no-such', '/executions', '/audit']) await svc.http.get(`${api}${url}`).set(as('admin')).set('X-Request-Id', 'audit-read');

        const got = (await list(`?since=${encodeURIComponent(since)}`)).audit;
        for (let i = 1; i < got.length; i++) assert.ok(got[i - 1].time >= got[i].time, 'newest first');
        const byStep = [...got].sort((a, b) => Number(a.request_id!.split('-')[2]) - Number(b.request_id!.split('-')[2]));
        assert.deepEqual(
          byStep.map((r) => r.request_id),
          Array.from({ length: 10 }, (_, i) => `audit-step-${i + 1}`),
        );
        const shape = byStep.map((r) => [r.operation, r.method, r.status, r.outcome, r.token_name, r.job_id, r.execution_id, r.worker_id, r.batch_id]);
        assert.deepEqual(shape, [
          ['scheduleEcho', 'POST', 201, 'success', 'writer', created.body.job.job_id, null, null, null],
          ['runJob', 'POST', 202, 'success', 'writer', 'audit-job', one.body.execution_ids[0], null, null],
          ['runJob', 'POST', 202, 'success', 'writer', 'audit-job', null, null, many.body.batch_id],
          ['createJob', 'POST', 409, 'rejected', 'writer', 'audit-job', null, null, null],
          ['scheduleEcho', 'POST', 400, 'rejected', 'writer', 'audit-bad', null, null, null],
          ['cancelExecution', 'POST', 404, 'rejected', 'writer', null, 'no-such-run', null, null],
          ['setServiceState', 'PUT', 403, 'denied', 'writer', null, null, null, null],
          ['deleteJob', 'DELETE', 401, 'denied', null, 'audit-job', null, null, null],
          ['setWorkerState', 'PUT', 200, 'success', 'admin', null, null, svc.service.worker!.id, null],
          ['deleteJob', 'DELETE', 200, 'success', 'writer', 'audit-job', null, null, null],
        ]);
        assert.equal(byStep[0].path, '/api/v1/jobs/echo');
        assert.equal(byStep[9].path, '/api/v1/jobs/audit-job');
        for (const r of got) {
          assert.ok(r.time >= since, `${r.time} >= ${since}`);
          assert.match(r.id, /^[0-9a-f-]{36}$/);
        }
      });

      it('GET /audit pages newest first like GET /executions, filters by operation, token and time', async () => {
        const all = (await list(`?since=${encodeURIComponent(since)}&limit=1000`)).audit;
        assert.equal(all.length, 10);
        const paged: AuditBody[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const q: string = `?since=${encodeURIComponent(since)}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page = await list(q);
          assert.ok(page.audit.length <= 3);
          paged.push(...page.audit);
          cursor = page.next_cursor;
          pages += 1;
        } while (cursor);
        assert.equal(pages, 4);
        assert.deepEqual(paged, all);
        for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].time >= all[i].time);

        const runs = (await list(`?operation=runJob&since=${encodeURIComponent(since)}`)).audit;
        assert.deepEqual(
          runs.map((r) => r.operation),
          ['runJob', 'runJob'],
        );
        const byAdmin = (await list(`?token=admin&since=${encodeURIComponent(since)}`)).audit;
        assert.ok(byAdmin.length >= 1 && byAdmin.every((r) => r.token_name === 'admin'));
        const until = all[4].time;
        const older = (await list(`?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`)).audit;
        assert.deepEqual(
          older,
          all.filter((r) => r.time < until),
        );

        const bad = await svc.http.get(`${api}/audit?cursor=nonsense`).set(as('admin'));
        assert.equal(bad.status, 400);
        assert.equal(bad.body.errors[0].field, 'query.cursor');
        const badDate = await svc.http.get(`${api}/audit?since=yesterday`).set(as('admin'));
        assert.equal(badDate.status, 400);
        assert.equal(badDate.body.errors[0].field, 'query.since');
        await svc.http.get(`${api}/audit`).set(as('writer')).expect(403);
      });

      it('a failed audit write is logged and never turns a success into an error', async (t) => {
        if (!(svc.service.store instanceof SqlStore)) {
          t.skip('MongoDB creates a dropped collection again on insert: no real way to make the write fail');
          return;
        }
        const store = svc.service.store;
        await store.db.exec('DROP TABLE audit');
        try {
          const res = await svc.http.post(`${api}/jobs/echo?job_id=audit-lost&when=2099-01-01T00:00:00Z`).set(as('writer')).send({}).expect(201);
          const line = captured.records().find((r) => r.msg === 'audit record not written' && (r.audit as { request_id?: string })?.request_id === res.headers['x-request-id']);
          assert.ok(line, 'the lost audit record is logged');
          assert.equal(line.level, 50);
          assert.match(String((line.err as { message?: string })?.message), /audit/);
          assert.equal((line.audit as { job_id?: string }).job_id, 'audit-lost');
        } finally {
          // migrate() runs only migrations not run yet: the dropped table comes back from their
          // DDL (each is safe to run again), the columns later ones add to it too.
          for (const m of migrations) await store.db.exec(m.sql);
        }
        await svc.http.delete(`${api}/jobs/audit-lost`).set(as('writer')).expect(200);
        assert.equal((await list('?operation=deleteJob&limit=1')).audit[0].job_id, 'audit-lost');
      });
    });
  });
}

describe('with the database gone (embedded)', () => {
  let db: TestDatabase;
  let svc: Running;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db);
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('/metrics still answers, with jobs_store_up 0; readiness 503 with the reason; liveness 200', async () => {
    assert.equal(parseMetrics((await svc.http.get(`${api}/metrics`).expect(200)).text).get(series('jobs_store_up')), 1);
    await svc.service.store.close();
    const res = await svc.http.get(`${api}/metrics`).expect(200);
    const m = parseMetrics(res.text);
    assert.equal(m.get(series('jobs_store_up')), 0);
    assert.ok((m.get(series('process_cpu_user_seconds_total')) ?? 0) > 0, 'the process metrics are still there');
    const ready = await svc.http.get(`${api}/readiness`);
    assert.equal(ready.status, 503);
    assert.match(ready.headers['content-type'], /^application\/problem\+json/);
    assert.match(ready.body.detail, /the database cannot be reached: .*closed/i);
    await svc.http.get(`${api}/liveness`).expect(200);
  });
});
