/**
 * Runs again and chains, on every store: restart of an ended run, bulk retry and cancel with
 * the filters of GET /executions and their quotas, on_success / on_failure / on_finish with
 * kwargs mapped from the ending run, fan-in (after_all), cycles refused at create, and the
 * chain sweep that writes the chains of an end whose process died before writing them, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type ProblemError } from '../src/client/index.js';
import { blankExecution } from '../src/scheduling/run/blank-execution.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { workerCrashingAt } from './support/crashing-worker.js';

noticeSkippedStores();

const api = '/api/v1';
/** Far enough ahead that a job made with it runs only when asked. */
const later = '2099-01-01T00:00:00Z';
/** An address nothing answers: an http-request run to it fails at once. */
const failingUrl = 'http://127.0.0.1:9/';

interface Run {
  id: string;
  status: string;
  trigger: string;
  kwargs: Record<string, unknown>;
  attempt: number;
  batch_id: string | null;
  restarted_from: string | null;
  triggered_by: { execution_id: string; job_id: string; on: string } | null;
  selection: unknown;
}

for (const { name, skip } of stores) {
  describe(`runs again and chains on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    const runsOf = async (jobId: string): Promise<Run[]> => (await svc.http.get(`${api}/jobs/${jobId}/executions`).expect(200)).body.executions;
    const job = (body: Record<string, unknown>) => svc.http.post(`${api}/jobs`).send({ when: later, ...body });
    const runJob = async (jobId: string, times = 1): Promise<string[]> => (await svc.http.post(`${api}/jobs/${jobId}/executions`).send({ times }).expect(202)).body.execution_ids;
    const ended = (jobId: string, n: number) =>
      waitFor(`${n} ended runs of ${jobId}`, async () => {
        const r = await runsOf(jobId);
        return r.filter((e) => !['queued', 'running'].includes(e.status)).length >= n ? r : undefined;
      });
    const paused = async <T>(fn: () => Promise<T>): Promise<T> => {
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      try {
        return await fn();
      } finally {
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
      }
    };

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_MAX_BULK_RUNS: '4', JOBS_MAX_QUEUED_RUNS_PER_JOB: '3', JOBS_CHAIN_SWEEP_MS: '200' });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('restarts an ended run with its kwargs and selection, linked to it; a run not ended answers 409', async () => {
      await job({ handler: 'echo', job_id: 'again', kwargs: { message: 'first' } }).expect(201);
      const [first] = await runJob('again');
      await ended('again', 1);
      const restart = await svc.http.post(`${api}/executions/${first}/restart`).expect(202);
      assert.equal(restart.headers.location, `/api/v1/executions/${restart.body.id}`);
      assert.equal(restart.body.trigger, 'restart');
      assert.equal(restart.body.restarted_from, first);
      assert.deepEqual(restart.body.kwargs, { message: 'first' });
      const runs = await ended('again', 2);
      const second = runs.find((r) => r.id === restart.body.id)!;
      assert.equal(second.status, 'succeeded');
      assert.equal(second.restarted_from, first);

      const queued = await paused(async () => {
        const [id] = await runJob('again');
        const res = await svc.http.post(`${api}/executions/${id}/restart`).expect(409);
        assert.match(res.body.detail, /only an ended run can be restarted/);
        return id;
      });
      await ended('again', 3);
      assert.ok((await runsOf('again')).some((r) => r.id === queued && r.status === 'succeeded'));
      await svc.http.post(`${api}/executions/no-such-run/restart`).expect(404);
    });

    it('retries the ended runs a filter matches as one batch, within JOBS_MAX_BULK_RUNS and the queue quotas', async () => {
      await job({ handler: 'http-request', job_id: 'flaky', kwargs: { url: failingUrl, timeout: 1 } }).expect(201);
      await job({ handler: 'echo', job_id: 'fine', kwargs: {} }).expect(201);
      await runJob('flaky', 2);
      await runJob('fine');
      await ended('flaky', 2);
      await ended('fine', 1);

      // Without a status: the runs that did not succeed, so fine's run is left out.
      const res = await svc.http.post(`${api}/executions/retry`).send({ handler: 'http-request', job_id: 'flaky' }).expect(200);
      assert.equal(res.body.count, 2);
      assert.ok(res.body.batch_id);
      const runs = await ended('flaky', 4);
      const retried = runs.filter((r) => r.batch_id === res.body.batch_id);
      assert.equal(retried.length, 2);
      for (const r of retried) {
        assert.equal(r.trigger, 'restart');
        assert.ok(runs.some((o) => o.id === r.restarted_from && o.status === 'failed'));
      }
      const batch = (await svc.http.get(`${api}/batches/${res.body.batch_id}`).expect(200)).body;
      assert.equal(batch.total, 2);

      const none = await svc.http.post(`${api}/executions/retry`).send({ job_id: 'fine' }).expect(200);
      assert.deepEqual(none.body, { count: 0, batch_id: null });

      // Four failed runs of flaky now, and one more of nothing: five would pass JOBS_MAX_BULK_RUNS (4).
      await runJob('flaky');
      await ended('flaky', 5);
      const over = await svc.http.post(`${api}/executions/retry`).send({ job_id: 'flaky' }).expect(429);
      assert.match(over.body.detail, /JOBS_MAX_BULK_RUNS/);
      assert.equal((await runsOf('flaky')).length, 5, 'a refused retry queues nothing');

      // Within the bulk limit but past the job's queue (JOBS_MAX_QUEUED_RUNS_PER_JOB = 3): 429, nothing queued.
      const since = new Date(Date.now() - scaled(60_000)).toISOString();
      await paused(async () => {
        await runJob('fine', 2);
        await svc.http.post(`${api}/executions/${(await runsOf('fine')).find((r) => r.status === 'succeeded')!.id}/restart`).expect(202);
        const full = await svc.http.post(`${api}/executions/retry`).send({ job_id: 'fine', status: 'succeeded', since }).expect(429);
        assert.match(full.body.detail, /JOBS_MAX_QUEUED_RUNS_PER_JOB/);
      });

      const bad = await svc.http.post(`${api}/executions/retry`).send({ status: 'queued' }).expect(400);
      assert.equal(bad.body.errors[0].field, 'body.status');
      const badTime = await svc.http.post(`${api}/executions/retry`).send({ since: 'yesterday' }).expect(400);
      assert.match(JSON.stringify(badTime.body.errors), /since/);
    });

    it('cancels the queued runs a filter matches, and refuses a filter past JOBS_MAX_BULK_RUNS', async () => {
      await job({ handler: 'echo', job_id: 'held', kwargs: {} }).expect(201);
      await job({ handler: 'echo', job_id: 'kept', kwargs: {} }).expect(201);
      await paused(async () => {
        await runJob('held', 3);
        await runJob('kept');
        const res = await svc.http.post(`${api}/executions/cancel`).send({ job_id: 'held', status: 'queued' }).expect(200);
        assert.deepEqual(res.body, { count: 3, batch_id: null });
        const held = await runsOf('held');
        assert.deepEqual(
          held.map((r) => r.status),
          ['cancelled', 'cancelled', 'cancelled'],
        );
        assert.equal((await runsOf('kept'))[0].status, 'queued', 'runs outside the filter are left alone');
        const batch = (await svc.http.post(`${api}/jobs/held/executions`).send({ times: 2 }).expect(202)).body.batch_id;
        const byBatch = await svc.http.post(`${api}/executions/cancel`).send({ batch_id: batch }).expect(200);
        assert.deepEqual(byBatch.body, { count: 2, batch_id: batch });
        const bad = await svc.http.post(`${api}/executions/cancel`).send({ status: 'failed' }).expect(400);
        assert.equal(bad.body.errors[0].field, 'body.status');
      });
      await ended('kept', 1);
      // Five ended runs of held now match a retry filter of more than JOBS_MAX_BULK_RUNS (4).
      const over = await svc.http.post(`${api}/executions/retry`).send({ job_id: 'held' }).expect(429);
      assert.equal(over.body.title, 'Too many runs match');
    });

    it('starts on_success, on_failure and on_finish jobs with kwargs mapped from the ending run', async () => {
      await job({ handler: 'echo', job_id: 'down', kwargs: { fixed: 'kept' } }).expect(201);
      await job({ handler: 'echo', job_id: 'alert', kwargs: {} }).expect(201);
      await job({ handler: 'echo', job_id: 'log', kwargs: {} }).expect(201);
      const up = await job({
        handler: 'echo',
        job_id: 'up',
        kwargs: { message: 'hello', deep: { n: 5 } },
        on_success: [
          { job_id: 'down', kwargs: { from: '$.kwargs.message', n: '$.kwargs.deep.n', status: '$.result.status', run: '$.result.execution_id', lit: 7, none: '$.kwargs.absent' } },
        ],
        on_failure: [{ job_id: 'alert' }],
        on_finish: [{ job_id: 'log', kwargs: { status: '$.result.status', took: '$.result.duration_ms' } }],
      }).expect(201);
      assert.equal(up.body.job.on_success[0].job_id, 'down');
      assert.deepEqual(up.body.job.after_all, []);
      const [upRun] = await runJob('up');
      const [down] = await ended('down', 1);
      assert.equal(down.trigger, 'chain');
      assert.deepEqual(down.triggered_by, { execution_id: upRun, job_id: 'up', on: 'success' });
      assert.deepEqual(down.kwargs, { fixed: 'kept', from: 'hello', n: 5, status: 'succeeded', run: upRun, lit: 7 });
      const [log] = await ended('log', 1);
      const upEnd = (await svc.http.get(`${api}/executions/${upRun}`).expect(200)).body;
      assert.equal(typeof upEnd.duration_ms, 'number');
      assert.deepEqual(log.kwargs, { status: 'succeeded', took: upEnd.duration_ms }, 'the ending run as recorded, its duration among it');
      assert.equal(log.triggered_by?.on, 'finish');

      // A failing job with one retry: on_failure and on_finish once, after the last attempt; on_success never.
      await job({
        handler: 'http-request',
        job_id: 'breaks',
        kwargs: { url: failingUrl, timeout: 1 },
        retries: 1,
        on_success: [{ job_id: 'down' }],
        on_failure: [{ job_id: 'alert', kwargs: { error: '$.result.error', attempt: '$.result.attempt' } }],
        on_finish: [{ job_id: 'log', kwargs: { status: '$.result.status' } }],
      }).expect(201);
      await runJob('breaks');
      await ended('breaks', 2);
      const [alert] = await ended('alert', 1);
      assert.equal(alert.triggered_by?.job_id, 'breaks');
      assert.equal(alert.triggered_by?.on, 'failure');
      assert.equal(alert.kwargs.attempt, 2, 'after the last attempt, not the first');
      assert.ok(typeof alert.kwargs.error === 'string' && alert.kwargs.error.length > 0);
      await ended('log', 2);
      await sleep(scaled(1500));
      assert.equal((await runsOf('alert')).length, 1, 'on_failure once, not per attempt');
      assert.equal((await runsOf('down')).length, 1, 'on_success not for a failed run');
      assert.deepEqual((await runsOf('log')).map((r) => r.kwargs.status).sort(), ['failed', 'succeeded']);
    });

    it('starts a fan-in job once every after_all job has succeeded since its last run', async () => {
      await job({ handler: 'echo', job_id: 'left', kwargs: {} }).expect(201);
      await job({ handler: 'echo', job_id: 'right', kwargs: {} }).expect(201);
      await job({ handler: 'echo', job_id: 'joined', kwargs: {}, after_all: ['left', 'right'] }).expect(201);
      await runJob('left');
      await ended('left', 1);
      await sleep(scaled(1500));
      assert.equal((await runsOf('joined')).length, 0, 'not before both succeeded');
      const [right] = await runJob('right');
      const [joined] = await ended('joined', 1);
      assert.equal(joined.trigger, 'chain');
      assert.deepEqual(joined.triggered_by, { execution_id: right, job_id: 'right', on: 'after_all' });
      // One side again: not enough, the other has not succeeded since.
      await runJob('left');
      await ended('left', 2);
      await sleep(scaled(1500));
      assert.equal((await runsOf('joined')).length, 1);
      await runJob('right');
      await ended('joined', 2);
      await sleep(scaled(1000));
      assert.equal((await runsOf('joined')).length, 2, 'once per round');
    });

    it('refuses a cycle at create with 400 naming the field, and bad chain fields', async () => {
      await job({ handler: 'echo', job_id: 'c1', kwargs: {}, on_success: [{ job_id: 'c2' }] }).expect(201);
      const cycle = await job({ handler: 'echo', job_id: 'c2', kwargs: {}, on_finish: [{ job_id: 'c3' }, { job_id: 'c1' }] }).expect(400);
      assert.equal(cycle.body.errors[0].field, 'body.on_finish');
      assert.match(cycle.body.errors[0].reason, /c2 -> c1 -> c2/);
      const self = await job({ handler: 'echo', job_id: 'c4', kwargs: {}, on_failure: [{ job_id: 'c4' }] }).expect(400);
      assert.equal(self.body.errors[0].field, 'body.on_failure');
      // A fan-in edge counts: c5 waits for c6 and also starts it.
      const fan = await job({ handler: 'echo', job_id: 'c5', kwargs: {}, after_all: ['c6'], on_success: [{ job_id: 'c6' }] }).expect(400);
      assert.equal(fan.body.errors[0].field, 'body.on_success');
      await job({ handler: 'echo', job_id: 'c7', kwargs: {}, on_success: [{ job_id: 'c1' }] }).expect(201);
      const viaFanIn = await job({ handler: 'echo', job_id: 'c8', kwargs: {}, after_all: ['c1'], on_success: [{ job_id: 'c7' }] }).expect(400);
      assert.match(viaFanIn.body.errors[0].reason, /cycle/);
      assert.equal((await svc.http.get(`${api}/jobs/c2`)).status, 404, 'nothing stored');

      const bad = await job({ handler: 'echo', job_id: 'c9', kwargs: {}, on_success: [{ job_id: 'c1', kwargs: { x: '$.result.nope', y: '$.other' } }] }).expect(400);
      assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), ['body.on_success.0.kwargs.x', 'body.on_success.0.kwargs.y']);
      const dup = await job({ handler: 'echo', job_id: 'c10', kwargs: {}, after_all: ['c1', 'c1'] }).expect(400);
      assert.equal(dup.body.errors[0].field, 'body.after_all');
      // A run of http-request may not override its url: a mapping onto it is refused, as a run's override would be.
      const locked = await job({ handler: 'echo', job_id: 'c11', kwargs: {}, on_success: [{ job_id: 'flaky', kwargs: { url: 'http://127.0.0.1:1/elsewhere' } }] }).expect(400);
      assert.equal(locked.body.errors[0].field, 'body.on_success.0.kwargs.url');
    });

    it('the client SDK restarts, retries and cancels, and reads the chain fields', async () => {
      const client = createClient({ baseUrl: `http://127.0.0.1:${await svc.service.listen()}/api/v1` });
      const { job } = await client.jobs.create({
        handler: 'echo',
        job_id: 'sdk-up',
        kwargs: { n: 1 },
        when: later,
        on_finish: [{ job_id: 'sdk-down', kwargs: { n: '$.kwargs.n' } }],
      });
      assert.deepEqual(job.on_finish, [{ job_id: 'sdk-down', kwargs: { n: '$.kwargs.n' } }]);
      await client.jobs.create({ handler: 'echo', job_id: 'sdk-down', kwargs: {}, when: later });
      const [id] = (await client.runJob('sdk-up')).execution_ids;
      await client.waitForExecution(id, { timeoutMs: scaled(20_000), intervalMs: 100 });
      const again = await client.executions.restart(id);
      assert.equal(again.restarted_from, id);
      await client.waitForExecution(again.id, { timeoutMs: scaled(20_000), intervalMs: 100 });
      const retried = await client.executions.retryMany({ job_id: 'sdk-up', status: 'succeeded' });
      assert.equal(retried.count, 2);
      await client.waitForBatch(retried.batch_id!, { timeoutMs: scaled(20_000), intervalMs: 100 });
      const down = await waitFor('a chained run per end of sdk-up', async () => {
        const r = (await client.executions.list({ job_id: 'sdk-down' })).executions;
        return r.length >= 4 ? r : undefined;
      });
      assert.ok(down.every((r) => r.trigger === 'chain' && r.triggered_by?.job_id === 'sdk-up' && r.kwargs.n === 1));
      const none = await client.executions.cancelMany({ job_id: 'sdk-up', status: 'queued' });
      assert.deepEqual(none, { count: 0, batch_id: null });
      await assert.rejects(client.executions.restart('no-such-run'), (e: ProblemError) => e.status === 404);
    });

    it('writes the chains of an end left without them (a crash after the end) once, however many sweeps', async () => {
      await job({ handler: 'echo', job_id: 'after-crash', kwargs: {} }).expect(201);
      await job({ handler: 'echo', job_id: 'crashed', kwargs: { message: 'm' }, on_success: [{ job_id: 'after-crash', kwargs: { message: '$.kwargs.message' } }] }).expect(201);
      const { store, runner } = svc.service;
      const crashed = (await store.getJob('crashed'))!;
      const at = new Date(Date.now() - scaled(60_000));
      const id = blankExecution().id;
      // What a process that died right after writing the end leaves: the end, its chains not written.
      await store.insertExecution({
        ...runner.newExecution(crashed, { trigger: 'manual', scheduled_at: at, created_at: new Date(crashed.created_at.getTime() + 1) }),
        id,
        idempotency_key: id,
        status: 'succeeded',
        started_at: at,
        finished_at: at,
        duration_ms: 1,
      });
      assert.equal((await store.getExecution(id))!.chains_pending, true);
      await Promise.all([runner.sweepChains(true), runner.sweepChains(true), runner.sweepChains(true)]);
      await runner.sweepChains(true);
      const runs = await ended('after-crash', 1);
      await sleep(scaled(500));
      const all = await runsOf('after-crash');
      assert.equal(all.length, 1, 'exactly one chained run');
      assert.deepEqual(runs[0].triggered_by, { execution_id: id, job_id: 'crashed', on: 'success' });
      assert.deepEqual(runs[0].kwargs, { message: 'm' });
      assert.equal((await store.getExecution(id))!.chains_pending, false);
      // A run of a job without chains is not marked: its end writes nothing more.
      const plain = (await runsOf('held'))[0];
      assert.equal((await store.getExecution(plain.id))!.chains_pending, false);
    });
  });
}

for (const { name, skip } of stores) {
  describe(`a run's end cut off from its chains by kill -9 (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('has its chained run written once, by the sweep of another process', async () => {
      // The jobs are made by an API-only process; a worker runs the source and kills itself
      // right after the run's end is written, before its chains are.
      const apiOnly = await startService(db, { JOBS_WORKER: 'false' });
      await apiOnly.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'target', kwargs: {}, when: later }).expect(201);
      await apiOnly.http
        .post(`${api}/jobs`)
        .send({ handler: 'echo', job_id: 'source', kwargs: { message: 'before the crash' }, on_success: [{ job_id: 'target', kwargs: { message: '$.kwargs.message' } }] })
        .expect(201);
      await apiOnly.close();

      const crashed = await workerCrashingAt(db, 'chains-pending');
      assert.equal(crashed.signal, 'SIGKILL', `the worker killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)), JOBS_CHAIN_SWEEP_MS: '200' });
      try {
        const [source] = (await s.service.store.listExecutions({ job_id: 'source' }, null, 10)).items;
        assert.equal(source.status, 'succeeded', 'the end was written before the kill');
        const runs = await waitFor(
          'the chained run to end',
          async () => {
            const r = (await s.service.store.listExecutions({ job_id: 'target' }, null, 10)).items;
            return r.some((e) => e.status === 'succeeded') ? r : undefined;
          },
          30_000,
          100,
        );
        await sleep(scaled(1500));
        assert.equal((await s.service.store.listExecutions({ job_id: 'target' }, null, 10)).items.length, 1, 'exactly one chained run');
        assert.deepEqual(runs[0].triggered_by, { execution_id: source.id, job_id: 'source', on: 'success' });
        assert.deepEqual(runs[0].kwargs, { message: 'before the crash' });
        assert.equal((await s.service.store.getExecution(source.id))!.chains_pending, false);
      } finally {
        await s.close();
      }
    });
  });
}
