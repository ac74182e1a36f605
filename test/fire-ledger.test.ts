import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, slowServer, startService, stores, testDatabase, timeScale, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Fire {
  time: string;
  outcome: string;
  version: number;
  execution_id?: string;
  active_execution_id?: string;
}
interface Run {
  id: string;
  status: string;
  trigger: string;
  scheduled_at: string;
  job_version: number | null;
  attempt: number;
}

async function runsOf(svc: Running, jobId: string): Promise<Run[]> {
  return (await svc.http.get(`${api}/jobs/${jobId}/executions?limit=1000`).expect(200)).body.executions;
}

async function firesOf(svc: Running, jobId: string, since: Date, until = new Date()): Promise<Fire[]> {
  const q = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}`;
  return (await svc.http.get(`${api}/jobs/${jobId}/fires?${q}`).expect(200)).body.fires;
}

/** Cron steps of seconds that divide a minute evenly, so each step is a regular grid. */
const evenSteps = [2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
const stepAtLeast = (s: number) => evenSteps.find((n) => n >= s) ?? 30;

for (const { name, skip } of stores) {
  describe(`the fire ledger on ${name}`, { skip, timeout: scaled(240_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let slow: Awaited<ReturnType<typeof slowServer>>;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db);
    });
    after(async () => {
      await svc?.close();
      await slow?.close();
      await db?.drop();
    });

    it("edits a periodic job's cron while it runs: no fire lost or doubled, the ledger shows the change", async () => {
      const first = stepAtLeast(Math.ceil(2 * timeScale));
      const second = stepAtLeast(first + 1);
      // Each run lasts longer than a step of the first schedule: the change lands while one runs.
      slow = await slowServer(Math.round(first * 1000 * 0.75));
      const since = new Date();
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'recron', handler: 'http-request', kwargs: { url: slow.url }, cron: `*/${first} * * * * *`, concurrency_policy: 'allow' })
        .expect(201);
      // Two fires of the first schedule, and the change while the second one runs.
      const running = await waitFor(
        'a second run, running',
        async () => {
          const runs = await runsOf(svc, 'recron');
          return runs.length >= 2 && runs.find((r) => r.status === 'running');
        },
        scaled(first * 4000),
        20,
      );
      const changedAt = Date.now();
      const changed = (
        await svc.http
          .patch(`${api}/jobs/recron`)
          .send({ cron: `*/${second} * * * * *` })
          .expect(200)
      ).body.job;
      assert.equal(changed.version, 2);
      // Three fires of the new schedule.
      await waitFor(
        'three fires of the new schedule',
        async () => (await runsOf(svc, 'recron')).filter((r) => new Date(r.scheduled_at).getTime() > changedAt).length >= 3,
        scaled(second * 6000),
      );
      const until = new Date();
      // The run in progress at the change went on as it was.
      const ended = await waitFor('the run under way at the change to end', async () => {
        const r = (await svc.http.get(`${api}/executions/${running.id}`).expect(200)).body as Run;
        return r.status !== 'running' && r.status !== 'queued' && r;
      });
      assert.equal(ended.status, 'succeeded');
      assert.equal(ended.job_version, 1);

      const fires = await firesOf(svc, 'recron', since, until);
      const runs = (await runsOf(svc, 'recron')).filter((r) => new Date(r.scheduled_at) < until);
      const seconds = (f: { time: string }) => new Date(f.time).getUTCSeconds();
      const v1 = fires.filter((f) => f.version === 1);
      const v2 = fires.filter((f) => f.version === 2);
      assert.ok(v1.length >= 2 && v2.length >= 3, JSON.stringify(fires));
      for (const f of v1) {
        assert.equal(seconds(f) % first, 0, `a fire of version 1 is on its ${first} s grid: ${f.time}`);
        assert.ok(new Date(f.time).getTime() <= changedAt + 1000, `version 1 expected ${f.time} only until the change`);
      }
      for (const f of v2) {
        assert.equal(seconds(f) % second, 0, `a fire of version 2 is on its ${second} s grid: ${f.time}`);
        assert.ok(new Date(f.time).getTime() > changedAt, `version 2 expected ${f.time} only after the change`);
      }
      // Every expected fire ran (or is due at the very edge of the range), once.
      for (const f of fires) assert.ok(f.outcome === 'ran' || (f.outcome === 'pending' && until.getTime() - new Date(f.time).getTime() < scaled(3000)), JSON.stringify(f));
      const times = runs.map((r) => r.scheduled_at);
      assert.equal(new Set(times).size, times.length, `no fire doubled: ${times.join(', ')}`);
      const ran = fires.filter((f) => f.outcome === 'ran');
      assert.deepEqual(new Set(ran.map((f) => f.execution_id)), new Set(runs.map((r) => r.id)), 'every run is a fire of the ledger and every fire that ran is a run');
      for (const f of ran) assert.equal(runs.find((r) => r.id === f.execution_id)?.job_version, f.version, `the run of ${f.time} was made from version ${f.version}`);
      await svc.http.delete(`${api}/jobs/recron`).expect(200);
    });

    it('shows fires skipped under forbid with the run that was active', async () => {
      const step = Math.max(1, Math.round(timeScale));
      const busy = await slowServer(step * 3500);
      try {
        const since = new Date();
        await svc.http
          .post(`${api}/jobs`)
          .send({ job_id: 'busy', handler: 'http-request', kwargs: { url: busy.url, request_timeout: 60 }, periodically: `${step} seconds`, concurrency_policy: 'forbid' })
          .expect(201);
        const fires = await waitFor(
          'two fires skipped while a run was active',
          async () => {
            const f = await firesOf(svc, 'busy', since);
            return f.filter((x) => x.outcome === 'skipped_concurrency').length >= 2 && f;
          },
          scaled(20_000),
        );
        const ran = fires.find((f) => f.outcome === 'ran')!;
        const skipped = fires.filter((f) => f.outcome === 'skipped_concurrency');
        assert.ok(ran, JSON.stringify(fires));
        assert.equal(skipped[0].active_execution_id, ran.execution_id, 'the skipped fire names the run that was active');
        const record = (await svc.http.get(`${api}/executions/${skipped[0].execution_id}`).expect(200)).body as Run;
        assert.equal(record.status, 'missed');
        await svc.http.put(`${api}/jobs/busy?state=paused`).expect(200);
      } finally {
        await busy.close();
      }
    });

    it('shows fires skipped while the job was paused, while the service was paused, and missed beyond the grace', async () => {
      const step = Math.max(1, Math.round(timeScale));
      const since = new Date();
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'ticker', handler: 'echo', periodically: `${step} seconds`, misfire_grace_time: 1 })
        .expect(201);
      await waitFor('a first run', async () => (await runsOf(svc, 'ticker')).some((r) => r.status === 'succeeded'), scaled(10_000));
      await svc.http.put(`${api}/jobs/ticker?state=paused`).expect(200);
      await sleep(step * 3000 + 500);
      await svc.http.put(`${api}/jobs/ticker?state=running`).expect(200);
      await waitFor(
        'a run after the resume',
        async () => (await firesOf(svc, 'ticker', since)).some((f, i, all) => f.outcome === 'ran' && all.slice(0, i).some((p) => p.outcome === 'skipped_paused')),
        scaled(10_000),
      );
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      await sleep(step * 3000 + 500);
      await svc.http.put(`${api}/service/state?state=running`).expect(200);
      const fires = await waitFor(
        'the fire overdue after the service pause',
        async () => {
          const f = await firesOf(svc, 'ticker', since);
          const lastPaused = f.findLastIndex((x) => x.outcome === 'service_paused');
          return lastPaused >= 0 && f.slice(lastPaused + 1).some((x) => x.outcome === 'ran') && f;
        },
        scaled(15_000),
      );
      const outcomes = new Set(fires.map((f) => f.outcome));
      for (const o of ['ran', 'skipped_paused', 'service_paused', 'missed']) assert.ok(outcomes.has(o), `${o} in ${JSON.stringify(fires)}`);
      const missed = fires.find((f) => f.outcome === 'missed' && f.execution_id);
      assert.ok(missed, `the overdue fire beyond its grace left a missed record: ${JSON.stringify(fires)}`);
      await svc.http.put(`${api}/jobs/ticker?state=paused`).expect(200);
    });

    it('answers 400 for a range it does not serve, 404 for an unknown job', async () => {
      const r = await svc.http.get(`${api}/jobs/ticker/fires?since=2026-01-01T00:00:00Z&until=2026-12-31T00:00:00Z`).expect(400);
      assert.equal(r.body.errors[0].field, 'query.until');
      assert.match(r.body.errors[0].reason, /JOBS_LEDGER_MAX_RANGE_SECONDS/);
      await svc.http.get(`${api}/jobs/ticker/fires?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z`).expect(400);
      await svc.http.get(`${api}/jobs/ticker/fires?since=later`).expect(400);
      await svc.http.get(`${api}/jobs/nothing-here/fires`).expect(404);
    });
  });
}
