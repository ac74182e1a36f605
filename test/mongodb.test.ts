/**
 * The service end to end on a real MongoDB (TEST_MONGODB_URL), on a fresh database dropped
 * afterwards. The suites that loop over `stores` (api, lifecycle, executions, smoke, the store
 * contract) run on MongoDB too when the URL is set; this one adds what only MongoDB has: its
 * indexes and Agenda's rows in its collection. Without the URL the suite is reported skipped,
 * never passed: no MongoDB server can be installed here, and none is imitated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Collection, Document } from 'mongodb';
import type { MongoStore } from '../src/store/mongo/mongo-store.js';
import { sleep, startService, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

const reason = process.env.TEST_MONGODB_URL ? false : 'TEST_MONGODB_URL is not set (no MongoDB server can be installed here)';
if (reason) console.log(`# SKIPPED MongoDB store: ${reason}`);

const api = '/api/v1';

interface Run {
  id: string;
  status: string;
  batch_id: string | null;
  started_at: string | null;
}

describe('the service on MongoDB', { skip: reason }, () => {
  let db: TestDatabase;
  let svc: Running;
  let agendaJobs: Collection<Document>;

  before(async () => {
    db = await testDatabase('mongodb');
    svc = await startService(db);
    agendaJobs = (svc.service.store as MongoStore).db.collection('agenda_jobs');
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  const runsOf = async (jobId: string): Promise<Run[]> => (await svc.http.get(`${api}/jobs/${jobId}/executions?limit=1000`).expect(200)).body.executions;
  const run = async (id: string): Promise<Run> => (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
  const agendaRows = (filter: Document) => agendaJobs.countDocuments(filter);

  it('boots on its own database with every index', async () => {
    const store = svc.service.store as MongoStore;
    assert.equal(store.kind, 'mongodb');
    const names = async (collection: string) => (await store.db.collection(collection).indexes()).map((i) => i.name);
    assert.deepEqual((await names('executions')).sort(), [
      '_id_',
      'execution_active_idx',
      'execution_batch_idx',
      'execution_created_idx',
      'execution_handler_idx',
      'execution_job_idx',
      'execution_job_scheduled_idx',
      'execution_parent_idx',
      'execution_status_idx',
      'execution_worker_idx',
    ]);
    assert.ok((await names('jobs')).includes('job_source_idx'));
    assert.ok((await names('failures')).includes('failure_time_idx'));
    assert.deepEqual((await names('workers')).sort(), ['_id_', 'worker_alive_idx', 'worker_started_idx']);
    assert.deepEqual((await names('job_versions')).sort(), ['_id_', 'job_version_idx']);
    assert.deepEqual((await names('pauses')).sort(), ['_id_', 'pause_job_idx']);
    const agendaIndexes = await agendaJobs.indexes();
    const unique = agendaIndexes.find((i) => i.name === 'agenda_jobs_service_job_idx');
    assert.equal(unique?.unique, true, 'one schedule row per job, enforced by the database');
    assert.ok(agendaIndexes.some((i) => i.name === 'agenda_jobs_run_idx'));
    await svc.http.get(`${api}/readiness`).expect(200);
  });

  it('creates a job that runs, lists it, pauses it and deletes it', async () => {
    await svc.http.post(`${api}/jobs/echo?job_id=mongo-tick&periodically=1%20second`).send({ message: 'hi' }).expect(201);
    assert.equal(await agendaRows({ 'data.job_id': 'mongo-tick' }), 1, 'its schedule row');
    await waitFor('a run of the periodic job', async () => (await runsOf('mongo-tick')).some((e) => e.status === 'succeeded'));

    const listed = (await svc.http.get(`${api}/jobs?job_type=user`).expect(200)).body.jobs as Array<{ job_id: string }>;
    assert.ok(listed.some((j) => j.job_id === 'mongo-tick'));
    const runs = (await svc.http.get(`${api}/executions?job_id=mongo-tick`).expect(200)).body.executions as Array<{ created_at: string }>;
    assert.ok(runs.length >= 1);
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i - 1].created_at >= runs[i].created_at, 'newest first');

    assert.deepEqual((await svc.http.put(`${api}/jobs/mongo-tick?state=paused`).expect(200)).body, { job_id: 'mongo-tick', state: 'paused' });
    const paused = (await svc.http.get(`${api}/jobs/mongo-tick`).expect(200)).body;
    assert.equal(paused.state, 'paused');
    assert.equal(paused.next_run_time, null);
    assert.equal(await agendaRows({ 'data.job_id': 'mongo-tick', disabled: true }), 1, 'its schedule row is disabled, not duplicated');
    assert.equal(await agendaRows({ 'data.job_id': 'mongo-tick' }), 1);
    // A run queued just before the pause may still finish; after that nothing starts.
    await sleep(500);
    const settled = (await runsOf('mongo-tick')).length;
    await sleep(1500);
    assert.equal((await runsOf('mongo-tick')).length, settled, 'a paused job does not run');

    assert.deepEqual((await svc.http.delete(`${api}/jobs/mongo-tick`).expect(200)).body, { removed: ['mongo-tick'] });
    assert.equal((await svc.http.get(`${api}/jobs/mongo-tick`)).status, 404);
    assert.equal(await agendaRows({ 'data.job_id': 'mongo-tick' }), 0, 'its schedule row is gone');
    assert.equal((await runsOf('mongo-tick')).length, settled, 'its run records stay');
  });

  it('runs a job now three times as one batch', async () => {
    await svc.http.post(`${api}/jobs/echo?job_id=mongo-manual&state=paused`).send({ message: 'now' }).expect(201);
    const res = await svc.http.post(`${api}/jobs/mongo-manual/executions`).send({ times: 3 }).expect(202);
    const batch = res.body.batch_id as string;
    assert.ok(batch);
    assert.equal(res.body.execution_ids.length, 3);
    const summary = await waitFor('the whole batch', async () => {
      const b = (await svc.http.get(`${api}/batches/${batch}`).expect(200)).body;
      return b.counts.succeeded === 3 ? b : undefined;
    });
    assert.equal(summary.total, 3);
    assert.equal(summary.job_id, 'mongo-manual');
    assert.ok(summary.started_at && summary.finished_at);
    const listed = (await svc.http.get(`${api}/executions?batch_id=${batch}`).expect(200)).body.executions as Run[];
    assert.deepEqual(listed.map((e) => e.id).sort(), [...res.body.execution_ids].sort());
    // Agenda removes a run's row once the handler's function has returned, just after the run is recorded.
    await waitFor('the finished run rows removed', async () => (await agendaRows({ 'data.execution_id': { $in: res.body.execution_ids } })) === 0);
  });

  it('cancels a queued run: its row is removed and it never starts', async () => {
    await svc.http.put(`${api}/service/state?state=paused`).expect(200);
    try {
      const res = await svc.http.post(`${api}/jobs/mongo-manual/executions`).expect(202);
      const id = res.body.execution_ids[0] as string;
      assert.equal((await run(id)).status, 'queued');
      assert.equal(await agendaRows({ 'data.execution_id': id }), 1, 'its run row');
      const cancelled = await svc.http.post(`${api}/executions/${id}/cancel`).expect(200);
      assert.equal(cancelled.body.status, 'cancelled');
      assert.equal(await agendaRows({ 'data.execution_id': id }), 0, 'its run row is removed');
      await svc.http.put(`${api}/service/state?state=running`).expect(200);
      await sleep(800);
      const after = await run(id);
      assert.equal(after.status, 'cancelled');
      assert.equal(after.started_at, null, 'it never started');
      assert.equal((await svc.http.post(`${api}/executions/${id}/cancel`)).status, 409);
    } finally {
      await svc.http.put(`${api}/service/state?state=running`).expect(200);
    }
  });
});
