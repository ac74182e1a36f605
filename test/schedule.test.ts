/**
 * Schedules users can reason about, on every store: next fires and a preview of a schedule
 * (exact across daylight-saving changes), start_at / end_at / max_runs, jitter, catch-up after
 * a pause, backfill of a past range, and their jobsctl commands.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { main } from '../src/cli/program.js';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Run {
  id: string;
  status: string;
  trigger: string;
  scheduled_at: string;
  started_at: string | null;
  created_at: string;
  batch_id: string | null;
  error: string | null;
  jitter_ms: number | null;
}

async function runsOf(svc: Running, jobId: string): Promise<Run[]> {
  return (await svc.http.get(`${api}/jobs/${jobId}/executions?limit=1000`).expect(200)).body.executions;
}

const iso = (s: string) => new Date(s).toISOString();
const fields = (res: { body: { errors?: Array<{ field: string; reason: string }> } }) => (res.body.errors ?? []).map((e) => e.field).sort();

for (const { name, skip } of stores) {
  describe(`schedules on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_MAX_NEXT_FIRES: '500', JOBS_CATCH_UP_MAX_FIRES: '50', JOBS_MAX_JITTER_SECONDS: '600' });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('next fires of a cron job in its zone: Europe/Berlin across spring-forward, America/New_York across fall-back', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'berlin', handler: 'echo', cron: '30 2 * * *', timezone: 'Europe/Berlin', start_at: '2027-03-26T00:00:00Z' }).expect(201);
      const berlin = (await svc.http.get(`${api}/jobs/berlin/next-fires?count=4`).expect(200)).body;
      assert.equal(berlin.timezone, 'Europe/Berlin');
      assert.equal(berlin.schedule_ended, null);
      // 02:30 does not exist on 28 March 2027 (02:00 CET -> 03:00 CEST): that day fires at 03:30 CEST.
      assert.deepEqual(berlin.fires, ['2027-03-26T01:30:00.000Z', '2027-03-27T01:30:00.000Z', '2027-03-28T01:30:00.000Z', '2027-03-29T00:30:00.000Z']);
      const job = (await svc.http.get(`${api}/jobs/berlin`).expect(200)).body;
      assert.equal(job.next_run_time, berlin.fires[0], 'the first fire is the first cron time at or after start_at');
      assert.equal(job.start_at, '2027-03-26T00:00:00.000Z');

      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'new-york', handler: 'echo', cron: '30 1 * * *', timezone: 'America/New_York', start_at: '2027-11-06T00:00:00Z' })
        .expect(201);
      const ny = (await svc.http.get(`${api}/jobs/new-york/next-fires?count=3`).expect(200)).body;
      // 01:30 happens twice on 7 November 2027 (EDT, then EST): it fires once, at the first.
      assert.deepEqual(ny.fires, ['2027-11-06T05:30:00.000Z', '2027-11-07T05:30:00.000Z', '2027-11-08T06:30:00.000Z']);

      const fallBack = (
        await svc.http.post(`${api}/schedules/preview`).send({ cron: '0 9 * * *', timezone: 'America/New_York', start_at: '2027-03-13T00:00:00Z', count: 3 }).expect(200)
      ).body;
      assert.deepEqual(fallBack.fires, ['2027-03-13T14:00:00.000Z', '2027-03-14T13:00:00.000Z', '2027-03-15T13:00:00.000Z'], '09:00 local stays 09:00 across spring-forward');
    });

    it('a preview counts 23 hourly fires on a spring-forward day and 25 on a fall-back day (Europe/Berlin)', async () => {
      const day = async (start: string, end: string) =>
        (await svc.http.post(`${api}/schedules/preview`).send({ cron: '0 * * * *', timezone: 'Europe/Berlin', start_at: start, end_at: end, count: 100 }).expect(200)).body
          .fires as string[];
      const spring = await day('2027-03-27T23:00:00Z', '2027-03-28T21:59:59Z');
      assert.equal(spring.length, 23);
      assert.equal(spring[2], '2027-03-28T01:00:00.000Z', '03:00 CEST follows 01:00 CET');
      const fall = await day('2027-10-30T22:00:00Z', '2027-10-31T22:59:59Z');
      assert.equal(fall.length, 25);
      assert.deepEqual(fall.slice(1, 4), ['2027-10-30T23:00:00.000Z', '2027-10-31T00:00:00.000Z', '2027-10-31T01:00:00.000Z'], '02:00 CEST and 02:00 CET both fire');
      const gaps = fall.slice(1).map((f, i) => new Date(f).getTime() - new Date(fall[i]).getTime());
      assert.ok(
        gaps.every((g) => g === 3600_000),
        'every fire an hour after the last',
      );

      const interval = (
        await svc.http.post(`${api}/schedules/preview`).send({ periodically: '6 hours', start_at: '2027-01-01T00:00:00Z', end_at: '2027-01-02T00:00:00Z', count: 10 }).expect(200)
      ).body.fires;
      assert.deepEqual(interval, ['2027-01-01T00:00:00.000Z', '2027-01-01T06:00:00.000Z', '2027-01-01T12:00:00.000Z', '2027-01-01T18:00:00.000Z', '2027-01-02T00:00:00.000Z']);
    });

    it('bad schedule fields answer 400 naming every field, on create and on preview; nothing is stored', async () => {
      const bad = await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'bad-window', handler: 'echo', periodically: '1 hour', start_at: '2030-01-02T00:00:00Z', end_at: '2030-01-01T00:00:00Z', jitter: 601 })
        .expect(400);
      assert.deepEqual(fields(bad), ['body.end_at', 'body.jitter']);
      assert.match(bad.body.errors.find((e: { field: string }) => e.field === 'body.jitter').reason, /JOBS_MAX_JITTER_SECONDS/);
      await svc.http.get(`${api}/jobs/bad-window`).expect(404);
      const schema = await svc.http.post(`${api}/jobs`).send({ handler: 'echo', periodically: '1 hour', max_runs: 0, jitter: -1 }).expect(400);
      assert.deepEqual(fields(schema), ['body.jitter', 'body.max_runs']);
      const past = await svc.http.post(`${api}/jobs`).send({ handler: 'echo', periodically: '1 hour', end_at: '2020-01-01T00:00:00Z', start_at: 'someday' }).expect(400);
      assert.deepEqual(fields(past), ['body.end_at', 'body.start_at']);
      const policy = await svc.http.post(`${api}/jobs`).send({ handler: 'echo', periodically: '1 hour', catch_up: 'sometimes' }).expect(400);
      assert.deepEqual(fields(policy), ['body.catch_up']);
      const preview = await svc.http.post(`${api}/schedules/preview`).send({ cron: '61 * * * *', start_at: 'soon' }).expect(400);
      assert.deepEqual(fields(preview), ['body.cron', 'body.start_at']);
      const tooMany = await svc.http.post(`${api}/schedules/preview`).send({ periodically: '1 hour', count: 501 }).expect(400);
      assert.deepEqual(fields(tooMany), ['body.count']);
      assert.match(tooMany.body.errors[0].reason, /JOBS_MAX_NEXT_FIRES/);
      const query = await svc.http.get(`${api}/jobs/berlin/next-fires?count=501`).expect(400);
      assert.deepEqual(fields(query), ['query.count']);
      await svc.http.get(`${api}/jobs/nobody/next-fires`).expect(404);
    });

    it('max_runs: the job stops after that many runs and says so; end_at: no fire after it', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'thrice', handler: 'echo', periodically: '1 second', max_runs: 3 }).expect(201);
      const job = await waitFor(
        'the schedule to end after 3 runs',
        async () => {
          const j = (await svc.http.get(`${api}/jobs/thrice`).expect(200)).body;
          return j.schedule_ended === 'max_runs' ? j : undefined;
        },
        30_000,
      );
      assert.equal(job.next_run_time, null);
      assert.equal(job.max_runs, 3);
      await sleep(scaled(2500));
      const runs = await runsOf(svc, 'thrice');
      assert.equal(runs.filter((r) => r.trigger === 'schedule' && r.status !== 'missed').length, 3, 'exactly max_runs runs');
      const next = (await svc.http.get(`${api}/jobs/thrice/next-fires`).expect(200)).body;
      assert.deepEqual(next.fires, []);
      assert.equal(next.schedule_ended, 'max_runs');

      const endAt = new Date(Date.now() + scaled(2500));
      await svc.http.post(`${api}/jobs`).send({ job_id: 'until', handler: 'echo', periodically: '1 second', end_at: endAt.toISOString() }).expect(201);
      const before = (await svc.http.get(`${api}/jobs/until/next-fires?count=100`).expect(200)).body.fires as string[];
      assert.ok(before.length >= 1 && before.every((f) => new Date(f) <= endAt), 'the next fires stop at end_at');
      await waitFor('the schedule to end at end_at', async () => (await svc.http.get(`${api}/jobs/until`).expect(200)).body.schedule_ended === 'end_at', 30_000);
      await sleep(scaled(1500));
      const ran = await runsOf(svc, 'until');
      assert.ok(ran.length >= 1, 'it ran before end_at');
      assert.ok(
        ran.every((r) => new Date(r.scheduled_at) <= endAt),
        'no fire after end_at',
      );
    });

    it('start_at: an interval job without when first fires at its start', async () => {
      const start = '2031-05-01T08:00:00.000Z';
      const job = (await svc.http.post(`${api}/jobs`).send({ job_id: 'later', handler: 'echo', periodically: '1 day', start_at: start }).expect(201)).body.job;
      assert.equal(job.next_run_time, start);
      const fires = (await svc.http.get(`${api}/jobs/later/next-fires?count=2`).expect(200)).body.fires;
      assert.deepEqual(fires, [start, '2031-05-02T08:00:00.000Z']);
      // Paused, the next fires are still listed, and reads show the new fields.
      await svc.http.put(`${api}/jobs/later?state=paused`).expect(200);
      assert.deepEqual((await svc.http.get(`${api}/jobs/later/next-fires?count=1`).expect(200)).body.fires, [start]);
      const read = (await svc.http.get(`${api}/jobs/later`).expect(200)).body;
      assert.deepEqual([read.catch_up, read.max_runs, read.jitter, read.end_at, read.schedule_ended], ['none', null, null, null, null]);
    });

    it('jitter: each scheduled run waits a random delay up to it, recorded as jitter_ms', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'jittery', handler: 'echo', periodically: '1 second', jitter: 1 }).expect(201);
      await svc.http.post(`${api}/jobs`).send({ job_id: 'steady', handler: 'echo', periodically: '1 second' }).expect(201);
      const runs = await waitFor(
        'four started runs with jitter',
        async () => {
          const r = (await runsOf(svc, 'jittery')).filter((x) => x.started_at);
          return r.length >= 4 ? r : undefined;
        },
        30_000,
      );
      await svc.http.put(`${api}/jobs/jittery?state=paused`).expect(200);
      for (const r of runs) {
        assert.ok(r.jitter_ms !== null && r.jitter_ms >= 0 && r.jitter_ms < 1000, `jitter_ms ${r.jitter_ms} within 0..1000`);
        // The run's row came due jitter_ms after the fire was recorded (created_at).
        assert.ok(new Date(r.started_at!).getTime() >= new Date(r.created_at).getTime() + r.jitter_ms! - 5, 'the run started no earlier than its jitter');
      }
      assert.ok(new Set(runs.map((r) => r.jitter_ms)).size > 1, 'the delays differ');
      await waitFor('a run without jitter', async () => (await runsOf(svc, 'steady')).some((r) => r.started_at));
      await svc.http.put(`${api}/jobs/steady?state=paused`).expect(200);
      assert.ok((await runsOf(svc, 'steady')).every((r) => r.jitter_ms === null));
    });

    it("catch-up after a pause: 'all' runs every missed fire, 'last' one, 'none' records one missed run", async () => {
      for (const policy of ['all', 'last', 'none']) {
        await svc.http
          .post(`${api}/jobs`)
          .send({ job_id: `cu-${policy}`, handler: 'echo', periodically: '1 second', misfire_grace_time: 1, catch_up: policy })
          .expect(201);
      }
      for (const policy of ['all', 'last', 'none'])
        await waitFor(`a first run of cu-${policy}`, async () => (await runsOf(svc, `cu-${policy}`)).some((r) => r.status === 'succeeded'));
      for (const policy of ['all', 'last', 'none']) await svc.http.put(`${api}/jobs/cu-${policy}?state=paused`).expect(200);
      const pausedAt = Date.now();
      await sleep(Math.max(scaled(4000), 4000));
      const resumedAt = Date.now();
      for (const policy of ['all', 'last', 'none']) await svc.http.put(`${api}/jobs/cu-${policy}?state=running`).expect(200);
      // The first fire after the resume catches up; its records share their created_at (on a
      // loaded machine a later fire may be late enough to catch up too).
      const firstCatchUp = (runs: Run[]) => {
        const caught = runs.filter((r) => r.trigger === 'catch_up' && new Date(r.created_at).getTime() >= resumedAt - 1000);
        const first = Math.min(...caught.map((r) => new Date(r.created_at).getTime()));
        return caught.filter((r) => new Date(r.created_at).getTime() === first);
      };

      const all = await waitFor(
        "cu-all's catch-up runs to end",
        async () => {
          const c = firstCatchUp(await runsOf(svc, 'cu-all'));
          return c.length > 0 && c.every((r) => r.status === 'succeeded') ? c : undefined;
        },
        30_000,
      );
      assert.ok(all.length >= 3, `one run per fire of the pause, ${all.length}`);
      const times = all.map((r) => new Date(r.scheduled_at).getTime()).sort((a, b) => a - b);
      assert.deepEqual(
        times.map((t) => t - times[0]),
        times.map((_, i) => i * 1000),
        'every fire of the job grid once',
      );
      assert.ok(times[0] >= pausedAt - 2000 && times[times.length - 1] <= Date.now(), 'fires of the pause');

      const last = await waitFor('cu-last catch-up run', async () => {
        const c = firstCatchUp(await runsOf(svc, 'cu-last'));
        return c.length > 0 && c.every((r) => r.status === 'succeeded') ? c : undefined;
      });
      assert.equal(last.length, 1, "'last' runs once");
      assert.ok(new Date(last[0].scheduled_at).getTime() >= resumedAt - 2000, 'the latest missed fire');

      const none = await waitFor('cu-none missed record', async () => {
        const r = (await runsOf(svc, 'cu-none')).filter((x) => new Date(x.created_at).getTime() >= resumedAt - 1000);
        return r.some((x) => x.status === 'missed') ? r : undefined;
      });
      assert.equal(none.filter((x) => x.trigger === 'catch_up').length, 0);
      const missed = none.find((x) => x.status === 'missed' && new Date(x.scheduled_at).getTime() < resumedAt - 1000);
      assert.ok(missed, 'the fire due while paused is recorded missed');
      assert.match(missed.error!, /beyond the misfire grace time/);
      for (const policy of ['all', 'last', 'none']) await svc.http.delete(`${api}/jobs/cu-${policy}`).expect(200);
    });

    it('backfill runs the fires of a past range as one batch, bounded by JOBS_CATCH_UP_MAX_FIRES', async () => {
      await svc.http.post(`${api}/jobs`).send({ job_id: 'hourly', handler: 'echo', cron: '0 * * * *' }).expect(201);
      const since = '2026-01-10T00:00:00Z';
      const until = '2026-01-10T05:00:00Z';
      const res = await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since, until }).expect(202);
      assert.equal(res.body.count, 5);
      assert.ok(res.body.batch_id);
      assert.equal(res.headers.location, `/api/v1/batches/${res.body.batch_id}`);
      const batch = await waitFor('the backfill batch to end', async () => {
        const b = (await svc.http.get(`${api}/batches/${res.body.batch_id}`).expect(200)).body;
        return b.counts.succeeded === 5 ? b : undefined;
      });
      assert.equal(batch.total, 5);
      const runs = (await runsOf(svc, 'hourly')).filter((r) => r.trigger === 'backfill');
      assert.deepEqual(
        runs.map((r) => r.scheduled_at).sort(),
        [0, 1, 2, 3, 4].map((h) => iso(`2026-01-10T0${h}:00:00Z`)),
      );
      assert.ok(runs.every((r) => r.batch_id === res.body.batch_id));

      const empty = (await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since: '2026-01-10T00:10:00Z', until: '2026-01-10T00:50:00Z' }).expect(202)).body;
      assert.deepEqual(empty, { count: 0, batch_id: null, execution_ids: [] });
      const tooLong = await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since: '2026-01-01T00:00:00Z', until: '2026-01-10T00:00:00Z' }).expect(400);
      assert.deepEqual(fields(tooLong), ['body.until']);
      assert.match(tooLong.body.errors[0].reason, /JOBS_CATCH_UP_MAX_FIRES/);
      const future = await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since: '2026-01-01T00:00:00Z', until: '2099-01-01T00:00:00Z' }).expect(400);
      assert.deepEqual(fields(future), ['body.until']);
      const reversed = await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since: until, until: since }).expect(400);
      assert.deepEqual(fields(reversed), ['body.until']);
      await svc.http.post(`${api}/jobs/hourly/backfill`).send({ since }).expect(400);
      await svc.http.post(`${api}/jobs/nobody/backfill`).send({ since, until }).expect(404);
      await svc.http.post(`${api}/jobs`).send({ job_id: 'once', handler: 'echo', when: '2099-01-01T00:00:00Z' }).expect(201);
      const once = await svc.http.post(`${api}/jobs/once/backfill`).send({ since, until }).expect(400);
      assert.deepEqual(fields(once), ['path.job_id']);

      // An interval job's backfill lies on its grid.
      const grid = (await svc.http.post(`${api}/jobs`).send({ job_id: 'grid', handler: 'echo', periodically: '1 hour', start_at: '2031-01-01T00:30:00Z' }).expect(201)).body.job;
      assert.equal(grid.next_run_time, '2031-01-01T00:30:00.000Z');
      const g = (await svc.http.post(`${api}/jobs/grid/backfill`).send({ since: '2026-01-10T00:00:00Z', until: '2026-01-10T03:00:00Z' }).expect(202)).body;
      assert.equal(g.count, 0, 'no fire before start_at');
      await svc.http.delete(`${api}/jobs/grid`).expect(200);
      await svc.http.post(`${api}/jobs`).send({ job_id: 'grid2', handler: 'echo', periodically: '1 hour', when: '2031-01-01T00:30:00Z' }).expect(201);
      const g2 = (await svc.http.post(`${api}/jobs/grid2/backfill`).send({ since: '2026-01-10T00:00:00Z', until: '2026-01-10T03:00:00Z' }).expect(202)).body;
      assert.equal(g2.count, 3);
      const scheduled = (await runsOf(svc, 'grid2')).map((r) => r.scheduled_at).sort();
      assert.deepEqual(scheduled, ['2026-01-10T00:30:00.000Z', '2026-01-10T01:30:00.000Z', '2026-01-10T02:30:00.000Z']);
    });

    it('jobsctl jobs next-fires and jobs backfill', async () => {
      const port = await svc.service.listen();
      const url = `http://127.0.0.1:${port}/api/v1`;
      const out = async (args: string[]) => {
        let stdout = '';
        let stderr = '';
        const sink = (f: (s: string) => void) =>
          new Writable({
            write(chunk, _e, done) {
              f(chunk.toString());
              done();
            },
          });
        const code = await main(['--url', url, ...args], { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
        return { code, stdout, stderr };
      };
      const table = await out(['jobs', 'next-fires', 'berlin', '--count', '3']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /2027-03-28 01:30:00Z/);
      assert.match(table.stdout, /2027-03-28 03:30:00 GMT\+2/, 'the fire in the job zone, after the clocks moved');
      const json = await out(['--json', 'jobs', 'next-fires', 'thrice']);
      assert.equal(json.code, 0, json.stderr);
      assert.equal(JSON.parse(json.stdout).schedule_ended, 'max_runs');
      const ended = await out(['jobs', 'next-fires', 'thrice']);
      assert.match(ended.stdout, /schedule ended \(max_runs\)/);
      const bf = await out(['jobs', 'backfill', 'hourly', '--since', '2026-02-01T00:00:00Z', '--until', '2026-02-01T02:00:00Z']);
      assert.equal(bf.code, 0, bf.stderr);
      assert.match(bf.stdout, /^queued 2 run\(s\) in batch [0-9a-f-]{36}\n$/);
      const refused = await out(['jobs', 'backfill', 'hourly', '--since', '2026-02-01T00:00:00Z', '--until', '2099-02-01T02:00:00Z']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /until/);
    });
  });
}
