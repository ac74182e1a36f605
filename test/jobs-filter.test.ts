/**
 * GET /jobs filtered (the dashboard's jobs list): by job_id prefix, handler, state, source and
 * the latest run's status, together, paged by cursor, on every store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();
const api = '/api/v1';

for (const { name, skip } of stores) {
  describe(`GET /jobs with filters (${name})`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    const ids = (body: { jobs: Array<{ job_id: string }> }) => body.jobs.map((j) => j.job_id);

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
      for (let i = 0; i < 7; i++) {
        await svc.http
          .post(`${api}/jobs`)
          .send({ handler: 'echo', job_id: `report-${i}`, kwargs: { i }, periodically: '1 day', state: i % 2 ? 'paused' : 'running' })
          .expect(201);
      }
      await svc.http
        .post(`${api}/jobs`)
        .send({ handler: 'http-request', job_id: 'ping', kwargs: { url: 'http://127.0.0.1:9/' }, periodically: '1 day' })
        .expect(201);
      await svc.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'reporter', kwargs: {}, periodically: '1 day' }).expect(201);
      // One failure, so a filtered listing of `all` can be seen to leave failure records out.
      const run = (await svc.http.post(`${api}/jobs/ping/executions`).send({}).expect(202)).body.execution_ids[0];
      await waitFor('the ping run failed', async () => (await svc.http.get(`${api}/executions/${run}`)).body.status === 'failed', 20_000);
      await svc.http.post(`${api}/jobs/report-2/executions`).send({}).expect(202);
      await waitFor('report-2 succeeded', async () => (await svc.http.get(`${api}/jobs/report-2`)).body.last_status === 'succeeded', 20_000);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('each filter keeps only the jobs that match, all of them together', async () => {
      assert.deepEqual(
        ids((await svc.http.get(`${api}/jobs?job_type=user&search=report-`).expect(200)).body),
        [0, 1, 2, 3, 4, 5, 6].map((i) => `report-${i}`),
      );
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&handler=http-request`).expect(200)).body), ['ping']);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&state=paused`).expect(200)).body), ['report-1', 'report-3', 'report-5']);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&last_status=failed`).expect(200)).body), ['ping']);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&last_status=succeeded&search=report`).expect(200)).body), ['report-2']);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&source=file`).expect(200)).body), []);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&search=report&handler=echo&state=running`).expect(200)).body), [
        'report-0',
        'report-2',
        'report-4',
        'report-6',
        'reporter',
      ]);
      // A prefix is a prefix, not a pattern.
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&search=${encodeURIComponent('report_%')}`).expect(200)).body), []);
      assert.deepEqual(ids((await svc.http.get(`${api}/jobs?job_type=user&search=${encodeURIComponent('.*')}`).expect(200)).body), []);
    });

    it('a filtered listing of all jobs lists no failure records', async () => {
      const all = (await svc.http.get(`${api}/jobs?search=p`).expect(200)).body;
      assert.deepEqual(ids(all), ['ping']);
      assert.equal(all.next_cursor, null);
      const unfiltered = (await svc.http.get(`${api}/jobs?job_type=failed`).expect(200)).body;
      assert.equal(unfiltered.jobs.length, 1, 'the failure record is there');
    });

    it('filtered pages follow one another by cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `${api}/jobs?job_type=user&handler=echo&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page: { jobs: Array<{ job_id: string; handler: string }>; next_cursor: string | null } = (await svc.http.get(q).expect(200)).body;
        assert.ok(page.jobs.length <= 3);
        assert.ok(page.jobs.every((j) => j.handler === 'echo'));
        seen.push(...ids(page));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, [...[0, 1, 2, 3, 4, 5, 6].map((i) => `report-${i}`), 'reporter']);
    });

    it('a bad filter is a 400 naming it', async () => {
      for (const [query, field] of [
        ['state=sleeping', 'query.state'],
        ['source=disk', 'query.source'],
        ['last_status=great', 'query.last_status'],
        ['search=', 'query.search'],
      ]) {
        const res = await svc.http.get(`${api}/jobs?${query}`).expect(400);
        assert.match(res.headers['content-type'], /application\/problem\+json/);
        assert.ok(
          (res.body.errors as Array<{ field: string }>).some((e) => e.field === field),
          `${query}: ${JSON.stringify(res.body.errors)}`,
        );
      }
    });
  });
}
