/**
 * A pause or a resume is two writes (the job, then its schedule row). A process killed
 * (kill -9) between them leaves a state that fires nothing it should not; the client's
 * retry of the request that failed makes the schedule row agree with the job, and, left alone,
 * a worker's sweep gives a running job the row it lacks. A change cut the same way leaves the
 * row at the old time; the sweep moves it to the job's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { serviceCrashingAt } from './support/crashing-worker.js';

noticeSkippedStores();

const api = '/api/v1';

for (const { name, skip } of stores) {
  describe(`a pause or a resume cut in half by kill -9 (${name})`, { skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(name);
    });
    after(() => db.drop());

    it('a resume: nothing fires until the retry, which makes the job fire again (the sweep held off)', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      await setup.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'resumed', periodically: '1 second', state: 'paused' }).expect(201);
      await setup.close();

      // An API-only process takes the resume and dies between its two writes.
      const crashed = await serviceCrashingAt(db, 'state-half-written', (base) => fetch(`${base}/jobs/resumed?state=running`, { method: 'PUT' }), {
        JOBS_WORKER: 'false',
      });
      assert.equal(crashed.signal, 'SIGKILL', `the service killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      // The sweep that would give the job its row (next test) waits longer than this test lasts.
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: '3600000' });
      try {
        const runs = async () => (await s.service.store.listExecutions({ job_id: 'resumed' }, null, 100)).items;
        // The job was written; its schedule row is still disabled, so nothing runs yet.
        assert.equal((await s.service.store.getJob('resumed'))!.state, 'running');
        await sleep(scaled(2500));
        assert.equal((await runs()).length, 0);

        // The client tries again: answered as a no-op, the request writes the row, and the job runs every second.
        await s.http.put(`${api}/jobs/resumed?state=running`).expect(200);
        await waitFor('two runs of the resumed job', async () => (await runs()).filter((r) => r.status === 'succeeded').length >= 2, 20_000, 100);
      } finally {
        await s.close();
      }
    });

    it('a resume never retried: the sweep gives the job its schedule row, and it fires', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      await setup.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'forgotten', periodically: '1 second', state: 'paused' }).expect(201);
      for (const id of ['other-paused', 'other-running']) {
        await setup.http
          .post(`${api}/jobs`)
          .send({ handler: 'echo', job_id: id, periodically: '1 hour', state: id === 'other-paused' ? 'paused' : 'running' })
          .expect(201);
      }
      await setup.close();

      const crashed = await serviceCrashingAt(db, 'state-half-written', (base) => fetch(`${base}/jobs/forgotten?state=running`, { method: 'PUT' }), {
        JOBS_WORKER: 'false',
      });
      assert.equal(crashed.signal, 'SIGKILL', `the service killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      // What the sweep will find: the running job whose row is still disabled, and no other.
      const later = new Date(Date.now() + 60_000);
      const look = await startService(db, { JOBS_WORKER: 'false' });
      try {
        const found = await look.service.engine.unscheduled(null, 100, later);
        assert.deepEqual(found.ids, ['forgotten'], 'only the running job whose row is disabled is without a schedule row');
        assert.equal(found.last, null, 'the slice reached the end of the jobs');
        const slice = await look.service.engine.unscheduled(null, 2, later);
        assert.deepEqual([slice.ids, slice.last], [['forgotten'], 'other-paused'], 'a slice of two ends at the second job in job_id order');
        assert.deepEqual((await look.service.engine.unscheduled('other-paused', 2, later)).ids, [], 'the next slice holds no such job');
      } finally {
        await look.close();
      }

      // Nobody retries: a worker's sweep gives the job its row.
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)) });
      try {
        const runs = async () => (await s.service.store.listExecutions({ job_id: 'forgotten' }, null, 100)).items;
        await waitFor('two runs of the resumed job', async () => (await runs()).filter((r) => r.status === 'succeeded').length >= 2, scaled(20_000), 100);
        assert.deepEqual((await s.service.engine.unscheduled(null, 100, new Date(Date.now() + 60_000))).ids, [], 'nothing is left without a row');
        assert.equal((await s.service.store.getJob('other-paused'))!.state, 'paused', 'a paused job is left as it is');
        assert.equal((await s.service.store.listExecutions({ job_id: 'other-paused' }, null, 10)).items.length, 0, 'a paused job fires nothing');
      } finally {
        await s.close();
      }
    });

    it('a resume by a change of the job, cut after the job is written: the same change again makes it fire', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      await setup.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'changed', periodically: '1 second', state: 'paused' }).expect(201);
      await setup.close();

      const change = { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'running' }) };
      const crashed = await serviceCrashingAt(db, 'state-half-written', (base) => fetch(`${base}/jobs/changed`, change), { JOBS_WORKER: 'false' });
      assert.equal(crashed.signal, 'SIGKILL', `the service killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      const s = await startService(db);
      try {
        assert.equal((await s.service.store.getJob('changed'))!.state, 'running', 'the job was written before the kill');
        const runs = async () => (await s.service.store.listExecutions({ job_id: 'changed' }, null, 100)).items;
        await s.http.patch(`${api}/jobs/changed`).send({ state: 'running' }).expect(200);
        await waitFor('a run of the resumed job', async () => (await runs()).some((r) => r.status === 'succeeded'), 20_000, 100);
      } finally {
        await s.close();
      }
    });

    it('a change that moved the next fire earlier, cut before its row is written: the sweep moves the row to the time the job says', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      const later = new Date(Date.now() + 3_600_000).toISOString();
      for (const id of ['moved-earlier', 'kept-time']) await setup.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: id, when: later }).expect(201);
      await setup.close();

      // An API-only process writes the job's new time and dies before its row's: the row keeps the
      // old time. The time is taken once the process listens (a time already past is refused).
      let soon = '';
      const crashed = await serviceCrashingAt(
        db,
        'row-half-written',
        (base) => {
          soon = new Date(Date.now() + scaled(4000)).toISOString();
          return fetch(`${base}/jobs/moved-earlier`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ when: soon }) });
        },
        { JOBS_WORKER: 'false' },
      );
      assert.equal(crashed.signal, 'SIGKILL', `the service killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      const look = await startService(db, { JOBS_WORKER: 'false' });
      try {
        assert.equal((await look.service.store.getJob('moved-earlier'))!.next_run_at?.toISOString(), soon, 'the job was written before the kill');
        const found = await look.service.engine.unscheduled(null, 100, new Date(Date.now() + 60_000));
        assert.deepEqual(found.ids, ['moved-earlier'], 'only the job whose row is at another time than its own is out of step');
        // The write looks again: a job written after the time given (as by a change since the look) keeps its row.
        assert.deepEqual(await look.service.engine.repairSchedules(found.ids, new Date(Date.now() - 3_600_000)), [], 'a job written since is left alone');
        assert.deepEqual((await look.service.engine.unscheduled(null, 100, new Date(Date.now() + 60_000))).ids, ['moved-earlier'], 'and its row as it was');
      } finally {
        await look.close();
      }

      // Nobody retries: a worker's sweep moves the row to the job's time, and the job runs then.
      const s = await startService(db, { JOBS_UNDISPATCHED_AGE_MS: String(scaled(1000)) });
      try {
        const runs = async (jobId: string) => (await s.service.store.listExecutions({ job_id: jobId }, null, 100)).items;
        const [run] = await waitFor(
          'the run at the time the job was moved to',
          async () => {
            const rs = await runs('moved-earlier');
            return rs.some((r) => r.status === 'succeeded') && rs;
          },
          scaled(20_000),
          100,
        );
        assert.equal(run.scheduled_at.toISOString(), soon, 'it ran for the time the job says, not the old time of its row');
        assert.ok(!(await s.service.engine.unscheduled(null, 100, new Date(Date.now() + 60_000))).ids.includes('moved-earlier'), 'its row is in step');
        assert.deepEqual(await runs('kept-time'), [], 'a job whose row agrees keeps its time');
      } finally {
        await s.close();
      }
    });

    it('a pause: nothing fires after the crash, the job stays paused, and a resume makes it fire again', async () => {
      const setup = await startService(db, { JOBS_WORKER: 'false' });
      await setup.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'paused', periodically: '1 second', start_at: '2099-01-01T00:00:00Z' }).expect(201);
      // Due now: the schedule row fires as soon as a worker looks.
      await setup.http.patch(`${api}/jobs/paused`).send({ start_at: null }).expect(200);
      await setup.close();

      const crashed = await serviceCrashingAt(db, 'state-half-written', (base) => fetch(`${base}/jobs/paused?state=paused`, { method: 'PUT' }), {
        JOBS_WORKER: 'false',
      });
      assert.equal(crashed.signal, 'SIGKILL', `the service killed itself at the crash point (exit ${crashed.code}): ${crashed.log.slice(-2000)}`);

      const s = await startService(db);
      try {
        const runs = async () => (await s.service.store.listExecutions({ job_id: 'paused' }, null, 100)).items;
        // The job row was written first: it is paused, and its row (left enabled) fires nothing.
        assert.equal((await s.service.store.getJob('paused'))!.state, 'paused');
        await sleep(scaled(2500));
        assert.equal((await runs()).length, 0, 'a paused job fires nothing');
        await s.http.put(`${api}/jobs/paused?state=running`).expect(200);
        await waitFor('a run of the resumed job', async () => (await runs()).some((r) => r.status === 'succeeded'), 20_000, 100);
      } finally {
        await s.close();
      }
    });
  });
}
