/**
 * The job lifecycle's features together, where one meets another: versions of a job with a
 * window, the ledger inside that window, secrets referred to by notification rules and chain
 * links (admin only, on every path that stores them), and an automatic pause as the ledger and
 * the live events see it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { expectedFires } from '../src/scheduling/ledger.js';
import { noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { writer: secret(), admin: secret() };

function assertProblem(res: Response, status: number, field: string) {
  assert.equal(res.status, status, `${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  assert.ok(
    (res.body.errors ?? []).some((e: { field: string }) => e.field === field),
    `no error naming ${field}: ${res.text}`,
  );
}

describe('the fires a version expected', () => {
  it('start at the range asked for, not at the version’s first fire, and stay inside its window', () => {
    const first = new Date('2020-01-01T00:00:00Z');
    const since = new Date('2026-06-01T00:00:00Z');
    const version = {
      job_id: 'j',
      version: 1,
      changed_at: first,
      changed_by: null,
      changed: [],
      definition: { periodically: '1 second', end_at: '2026-06-01T00:00:09.500Z' },
      first_fire: first,
    };
    const started = process.hrtime.bigint();
    const fires = expectedFires([version], since, new Date('2026-06-02T00:00:00Z'), 100, () => 1);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Six and a half years of one-second fires lie before `since`: walking them would take minutes.
    assert.ok(ms < scaled(2000), `took ${ms} ms`);
    assert.deepEqual(
      fires.map((f) => f.time.toISOString()),
      Array.from({ length: 10 }, (_, i) => `2026-06-01T00:00:0${i}.000Z`),
      'one fire a second from since, none after end_at',
    );
    const windowed = expectedFires(
      [{ ...version, definition: { periodically: '1 second', start_at: '2026-06-01T00:00:05Z' } }],
      since,
      new Date('2026-06-01T00:00:08Z'),
      100,
      () => 1,
    );
    assert.deepEqual(
      windowed.map((f) => f.time.toISOString()),
      ['2026-06-01T00:00:05.000Z', '2026-06-01T00:00:06.000Z', '2026-06-01T00:00:07.000Z'],
      'none before start_at',
    );
  });
});

for (const { name, skip } of stores) {
  describe(`the lifecycle's features together on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    const as = (who: keyof typeof T) => ({
      post: (path: string, body: unknown) =>
        svc.http
          .post(`${api}${path}`)
          .set('Authorization', `Bearer ${T[who]}`)
          .send(body as object),
      patch: (path: string, body: unknown) =>
        svc.http
          .patch(`${api}${path}`)
          .set('Authorization', `Bearer ${T[who]}`)
          .send(body as object),
      get: (path: string) => svc.http.get(`${api}${path}`).set('Authorization', `Bearer ${T[who]}`),
    });
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_API_TOKENS: `writer:${T.writer}:write, admin:${T.admin}:admin`, JOBS_SECRETS_KEY: randomBytes(32).toString('base64') });
      await as('admin').post('/secrets', { name: 'hook-key', value: 'k3y-value-1' }).expect(201);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('lists the versions of a job with a window, its dates as dates', async () => {
      const startAt = new Date(Date.now() + 3600_000).toISOString();
      const endAt = new Date(Date.now() + 86400_000).toISOString();
      await as('writer').post('/jobs', { job_id: 'windowed', handler: 'echo', periodically: '1 hour', start_at: startAt, end_at: endAt }).expect(201);
      await as('writer')
        .patch('/jobs/windowed', { kwargs: { n: 2 } })
        .expect(200);
      const res = await as('writer').get('/jobs/windowed/versions').expect(200);
      assert.deepEqual(
        res.body.versions.map((v: { version: number }) => v.version),
        [1, 2],
      );
      assert.equal(res.body.versions[1].definition.start_at, startAt);
      assert.equal(res.body.versions[1].definition.end_at, endAt);
    });

    it('refuses a write token secrets in notification rules and chain links, on create, bulk create and change', async () => {
      const notify = [{ on: ['failed'], webhook: { url: 'http://127.0.0.1:9/hook', secret: { $secret: 'hook-key' } } }];
      assertProblem(await as('writer').post('/jobs', { job_id: 'n1', handler: 'echo', notify }), 403, 'body.notify.0.webhook.secret');
      assertProblem(await as('writer').post('/jobs/bulk', { jobs: [{ job_id: 'n2', handler: 'echo', notify }] }), 403, 'body.jobs[0].notify.0.webhook.secret');
      await as('writer').post('/jobs', { job_id: 'n3', handler: 'echo' }).expect(201);
      assertProblem(await as('writer').patch('/jobs/n3', { notify }), 403, 'body.notify.0.webhook.secret');
      const link = [{ job_id: 'n3', kwargs: { token: { $secret: 'hook-key' } } }];
      assertProblem(await as('writer').patch('/jobs/n3', { on_success: link }), 403, 'body.on_success.0.kwargs.token');
      // Nothing of it was stored, and an admin may do it.
      const n3 = (await as('writer').get('/jobs/n3').expect(200)).body;
      assert.deepEqual([n3.version, n3.notify, n3.on_success], [1, [], []]);
      await as('admin').patch('/jobs/n3', { notify }).expect(200);
    });

    it('an automatic pause is an event and counts in the ledger as skipped while paused', async () => {
      const { store } = svc.service;
      await as('admin')
        .post('/jobs', { job_id: 'fails', handler: 'http-request', kwargs: { url: 'http://127.0.0.1:9/nothing' }, periodically: '1 hour', pause_after_failures: 2 })
        .expect(201);
      for (let i = 0; i < 2; i++) {
        const [id] = (await as('admin').post('/jobs/fails/executions', {}).expect(202)).body.execution_ids;
        await waitFor('the run to end', async () => {
          const e = await store.getExecution(id);
          return e && !['queued', 'running'].includes(e.status) ? e : null;
        });
      }
      const job = await waitFor('the job to pause itself', async () => {
        const j = (await as('admin').get('/jobs/fails').expect(200)).body;
        return j.state === 'paused' ? j : null;
      });
      assert.equal(job.state, 'paused');
      const events = await waitFor('its job.paused event', async () => {
        const page = await store.readEvents(0, [], 1000);
        const found = page.filter((e) => e.type === 'job.paused' && e.job_id === 'fails');
        return found.length ? found : null;
      });
      assert.equal(events.length, 1);
      const pauses = await store.listPauses('fails', new Date(0), new Date(Date.now() + 60_000));
      assert.equal(pauses.length, 1, 'the automatic pause is recorded for the ledger');
      assert.equal(pauses[0].resumed_at, null);
    });
  });
}
