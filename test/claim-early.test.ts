/**
 * JOBS_CLAIM_EARLY_MS: a worker claims a row up to that long before it is due and holds it in
 * its local queue; the run starts at its time, never sooner. It fires from the claim's read of
 * the job only if the job is unchanged by then, else from a fresh read: a job paused or changed
 * after the claim runs as it stands at its time. A row let go unfired keeps the time its job was
 * moved to meanwhile.
 *
 * JOBS_FIRE_LEAD_MS: such a row's fire is written up to that long ahead of its time: the run is
 * recorded `running`, started at its time, before that time comes, and its handler starts at
 * that time, never sooner; a cancel while it waits ends it without calling the handler. A job
 * with a run under way is fired at its time, so its concurrency policy sees what runs then. A
 * periodic job's runs (queued on run rows of their own) start at their times as well, each
 * time once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { SqlClient } from '../src/db/sql-client.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import type { Logger } from '../src/observability/log.js';
import { capturedLogger, noticeSkippedStores, scaled, sleep, slowServer, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

/**
 * A service that claims rows up to `earlyMs` before their time, with a long poll interval and
 * lock lifetime: only the early claim takes the rows before their time. Both stretch with the
 * machine, as the due times below do: a row is announced to the worker when it falls due
 * within a poll interval, and one due later waits for the next poll, which would then claim it
 * at its time, not before.
 */
function earlyClaimer(db: TestDatabase, earlyMs: number, log: Logger, env: Record<string, string> = {}): Promise<Running> {
  const settings = { JOBS_CLAIM_EARLY_MS: String(earlyMs), JOBS_POLL_INTERVAL_MS: String(scaled(20_000)), JOBS_LOCK_LIFETIME_MS: String(scaled(60_000)), ...env };
  return startService(db, settings, { log });
}

/** When a job's schedule row was locked; null while it is not. */
async function lockedAtOf(sql: SqlClient, jobId: string): Promise<Date | null> {
  const r = await sql.query<{ locked_at: Date | null }>('SELECT locked_at FROM dispatch WHERE job_id = $1', [jobId]);
  return r.rows[0]?.locked_at ?? null;
}

for (const { name, skip } of stores.filter((s) => s.name !== 'mongodb')) {
  // Each test has a service and a database of its own (one pauses its service; a fire decided
  // again names every job of its group), so they run side by side.
  describe(`claiming rows before they are due on ${name}`, { skip, timeout: 300_000, concurrency: true }, () => {
    // The lead is what a test has between the claim and the row's time to change the job: the
    // tests share the process's CPU with each other's services.
    const earlyMs = scaled(6000);
    /** A service of the test's own that claims early, with what the test reads of it. */
    const claimer = async (t: TestContext) => {
      const db = await testDatabase(name);
      const captured = capturedLogger('debug');
      const svc = await earlyClaimer(db, earlyMs, captured.log);
      t.after(async () => {
        await svc.close();
        await db.drop();
      });
      const sql = (svc.service.store as SqlStore).db;
      return {
        svc,
        sql,
        lockedAt: (jobId: string) => lockedAtOf(sql, jobId),
        runsOf: async (jobId: string) =>
          (await sql.query<{ status: string; started_at: Date | null; scheduled_at: Date }>('SELECT status, started_at, scheduled_at FROM execution WHERE job_id = $1', [jobId]))
            .rows,
        /** Whether the worker fired `jobId` again from a fresh read, the claim's being out of date. */
        decidedAgain: (jobId: string) =>
          captured.records().some((r) => r.msg === 'fires decided again: a job changed while its row waited' && (r.jobs as string[]).includes(jobId)),
      };
    };

    it('claims a row before it is due and starts its run at its time, not sooner', async (t) => {
      const { svc, lockedAt, runsOf, decidedAgain } = await claimer(t);
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      await svc.http.post(`${api}/jobs`).send({ job_id: 'early', handler: 'echo', when: due.toISOString() }).expect(201);
      const locked = await waitFor('the row claimed', () => lockedAt('early'), earlyMs + scaled(10_000), 20);
      assert.ok(locked.getTime() < due.getTime(), `claimed at ${locked.toISOString()}, before its time ${due.toISOString()}`);
      assert.ok(Date.now() < due.getTime() || (await runsOf('early')).every((r) => r.started_at! >= due), 'no run before its time');
      assert.deepEqual(await runsOf('early'), [], 'claimed, not fired');
      const [run] = await waitFor('the run to succeed', async () => {
        const runs = await runsOf('early');
        return runs.length === 1 && runs[0].status === 'succeeded' && runs;
      });
      assert.ok(run.started_at!.getTime() >= due.getTime(), `started at ${run.started_at!.toISOString()}, due ${due.toISOString()}`);
      assert.equal(run.scheduled_at.getTime(), due.getTime());
      assert.equal(decidedAgain('early'), false, 'fired from the claim, the job unchanged');
    });

    it('fires a job changed after the claim as it stands at its time', async (t) => {
      const { svc, sql, lockedAt, decidedAgain } = await claimer(t);
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'changed-early', handler: 'echo', kwargs: { said: 'before' }, when: due.toISOString() })
        .expect(201);
      await waitFor('the row claimed', () => lockedAt('changed-early'), earlyMs + scaled(10_000), 20);
      await svc.http
        .patch(`${api}/jobs/changed-early`)
        .send({ kwargs: { said: 'after' } })
        .expect(200);
      assert.ok(Date.now() < due.getTime(), 'changed before its time');
      const [run] = await waitFor('the run to succeed', async () => {
        const r = await sql.query<{ status: string; kwargs: unknown }>('SELECT status, kwargs FROM execution WHERE job_id = $1', ['changed-early']);
        return r.rows.length === 1 && r.rows[0].status === 'succeeded' && r.rows;
      });
      assert.deepEqual(run.kwargs, { said: 'after' }, 'the kwargs the job had at its time');
      assert.ok(decidedAgain('changed-early'), 'the claim read the job before the change: the fire was decided again');
    });

    it('reads the job again at its time: a job paused after the claim does not run', async (t) => {
      const { svc, lockedAt, runsOf, decidedAgain } = await claimer(t);
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      await svc.http.post(`${api}/jobs`).send({ job_id: 'paused-early', handler: 'echo', when: due.toISOString() }).expect(201);
      await waitFor('the row claimed', () => lockedAt('paused-early'), earlyMs + scaled(10_000), 20);
      await svc.http.put(`${api}/jobs/paused-early?state=paused`).expect(200);
      assert.ok(Date.now() < due.getTime(), 'paused before its time');
      await sleep(due.getTime() - Date.now() + scaled(1500));
      assert.deepEqual(await runsOf('paused-early'), [], 'no run of the paused job');
      assert.equal((await svc.http.get(`${api}/jobs/paused-early`).expect(200)).body.state, 'paused');
      assert.ok(decidedAgain('paused-early'), 'the claim read the job before the pause: the fire was decided again');
    });

    it('a row let go unfired keeps the time its job was moved to while the row was held', async (t) => {
      const { svc, sql, lockedAt, runsOf } = await claimer(t);
      const due = new Date(Date.now() + earlyMs + scaled(4000));
      await svc.http.post(`${api}/jobs`).send({ job_id: 'moved', handler: 'echo', when: due.toISOString() }).expect(201);
      await waitFor('the row claimed', () => lockedAt('moved'), earlyMs + scaled(10_000), 20);
      // Moved earlier while held: the row takes the new time and keeps its lock.
      const moved = new Date(due.getTime() - 1500);
      await svc.http.patch(`${api}/jobs/moved`).send({ when: moved.toISOString() }).expect(200);
      // Pausing the service lets the held rows go, unfired.
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      try {
        const row = await waitFor('the row let go', async () => {
          const r = await sql.query<{ locked_at: Date | null; next_run_at: Date }>('SELECT locked_at, next_run_at FROM dispatch WHERE job_id = $1', ['moved']);
          return r.rows[0]?.locked_at === null && r.rows[0];
        });
        assert.equal(row.next_run_at.toISOString(), moved.toISOString(), 'the time the job was moved to, not the one claimed');
        assert.deepEqual(await runsOf('moved'), [], 'not fired');
      } finally {
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
      }
      const [run] = await waitFor('the run at the new time', async () => {
        const runs = await runsOf('moved');
        return runs.length === 1 && runs[0].status === 'succeeded' && runs;
      });
      assert.equal(run.scheduled_at.toISOString(), moved.toISOString());
    });
  });

  // Each test has a job of its own and waits on the clock, so they run side by side.
  describe(`fires written ahead of their time on ${name}`, { skip, timeout: 300_000, concurrency: true }, () => {
    let db: TestDatabase;
    let svc: Running;
    let sql: SqlClient;
    const earlyMs = scaled(4000);
    const leadMs = scaled(3000);
    const captured = capturedLogger('info');
    before(async () => {
      db = await testDatabase(name);
      svc = await earlyClaimer(db, earlyMs, captured.log, { JOBS_FIRE_LEAD_MS: String(leadMs) });
      sql = (svc.service.store as SqlStore).db;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    const runsOf = async (jobId: string) =>
      (
        await sql.query<{ id: string; status: string; started_at: Date | null; scheduled_at: Date }>(
          'SELECT id, status, started_at, scheduled_at FROM execution WHERE job_id = $1 ORDER BY scheduled_at',
          [jobId],
        )
      ).rows;
    const lockedAt = (jobId: string) => lockedAtOf(sql, jobId);
    /** Creates an `echo` one-shot due at `due`; resolves with its run once it is recorded. */
    const oneShotRecorded = async (jobId: string, due: Date) => {
      await svc.http.post(`${api}/jobs`).send({ job_id: jobId, handler: 'echo', when: due.toISOString() }).expect(201);
      const [recorded] = await waitFor(
        'the fire written',
        async () => {
          const runs = await runsOf(jobId);
          return runs.length > 0 && runs;
        },
        earlyMs + scaled(10_000),
        20,
      );
      return recorded;
    };
    /** When the worker logged each run's handler start, by run id. */
    const handlerStarts = () =>
      new Map(captured.records().flatMap((r) => (r.msg === 'run started' ? [[r.execution_id as string, new Date(r.time as string | number)] as const] : [])));

    it('records a run before its time and starts its handler at that time', async () => {
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      const recorded = await oneShotRecorded('ahead', due);
      const seenAt = Date.now();
      assert.ok(seenAt < due.getTime(), `the run was recorded by ${new Date(seenAt).toISOString()}, before its time ${due.toISOString()}`);
      assert.equal(recorded.status, 'running');
      assert.equal(recorded.started_at?.getTime(), due.getTime(), 'recorded as started at its time');
      assert.equal(recorded.scheduled_at.getTime(), due.getTime());
      assert.equal(handlerStarts().has(recorded.id), false, 'its handler waits for its time');
      const run = await waitFor('the run to succeed', async () => {
        const [r] = await runsOf('ahead');
        return r?.status === 'succeeded' && r;
      });
      const handlerAt = handlerStarts().get(run.id);
      assert.ok(handlerAt, 'the handler ran');
      assert.ok(handlerAt.getTime() >= due.getTime(), `handler started at ${handlerAt.toISOString()}, due ${due.toISOString()}`);
      assert.equal((await runsOf('ahead')).length, 1, 'one run');
    });

    it('a run cancelled while it waits for its time ends cancelled, its handler never started', async () => {
      const due = new Date(Date.now() + earlyMs + scaled(2000));
      const recorded = await oneShotRecorded('ahead-cancelled', due);
      assert.equal(recorded.status, 'running');
      await svc.http.post(`${api}/executions/${recorded.id}/cancel`).expect(202);
      const [run] = await waitFor('the run cancelled', async () => {
        const runs = await runsOf('ahead-cancelled');
        return runs[0]?.status === 'cancelled' && runs;
      });
      assert.ok(Date.now() < due.getTime(), 'recorded cancelled before its time: the wait was stopped');
      const [end] = (await sql.query<{ duration_ms: string | null; error: string }>('SELECT duration_ms, error FROM execution WHERE id = $1', [run.id])).rows;
      assert.equal(end.duration_ms, null, 'no time taken: its handler was never called');
      assert.match(end.error, /stopped while it waited for its time, its handler never called/);
      await sleep(due.getTime() - Date.now() + scaled(1000));
      assert.equal(handlerStarts().has(run.id), false, 'its handler never started');
      assert.deepEqual(
        (await runsOf('ahead-cancelled')).map((r) => r.status),
        ['cancelled'],
      );
    });

    for (const started of ['before the claim', 'after the claim'] as const) {
      it(`a job with a run under way at the hand-over, started ${started}, is fired at its time, its policy decided then`, async () => {
        const jobId = `ahead-forbid-${started === 'before the claim' ? 'before' : 'after'}`;
        const due = new Date(Date.now() + earlyMs + scaled(2000));
        // A run on demand that ends after the row is handed over (its time less the lead) and
        // before its time: under forbid, a fire decided ahead would find it and be missed.
        const handOver = due.getTime() - leadMs;
        const busy = await slowServer(() => Math.round((handOver + due.getTime()) / 2 - Date.now()));
        try {
          await svc.http
            .post(`${api}/jobs`)
            .send({ job_id: jobId, handler: 'http-request', kwargs: { url: busy.url, request_timeout: 60 }, when: due.toISOString(), concurrency_policy: 'forbid' })
            .expect(201);
          // Started after the claim, the run is one the claim's read of the job did not see.
          if (started === 'after the claim') await waitFor('the row claimed', () => lockedAt(jobId), earlyMs + scaled(10_000), 20);
          await svc.http.post(`${api}/jobs/${jobId}/executions`).expect(202);
          const runs = await waitFor(
            'the fire to run',
            async () => {
              const rs = await runsOf(jobId);
              return rs.length === 2 && rs.every((r) => r.status === 'succeeded' || r.status === 'missed') && rs;
            },
            earlyMs + scaled(20_000),
          );
          const fired = runs.find((r) => r.scheduled_at.getTime() === due.getTime());
          const manual = runs.find((r) => r !== fired);
          assert.ok(fired && manual, JSON.stringify(runs));
          const [times] = (await sql.query<{ created_at: Date; finished_at: Date }>('SELECT created_at, finished_at FROM execution WHERE id = $1', [manual.id])).rows;
          assert.ok(
            times.created_at.getTime() < handOver,
            `the run on demand was queued at ${times.created_at.toISOString()}, before the hand-over at ${new Date(handOver).toISOString()}`,
          );
          assert.ok(times.finished_at.getTime() > handOver, `the run on demand ended at ${times.finished_at.toISOString()}, after the hand-over`);
          assert.equal(fired.status, 'succeeded', 'the fire found no run under way at its time');
          assert.ok(fired.started_at!.getTime() >= due.getTime());
        } finally {
          await busy.close();
        }
      });
    }

    it('starts the runs of a periodic job at their times, each time once', async () => {
      const everyS = Math.max(2, Math.ceil(scaled(2000) / 1000));
      await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'ahead-periodic', handler: 'echo', periodically: `${everyS} seconds` })
        .expect(201);
      const runs = await waitFor(
        'three runs to succeed',
        async () => {
          const rs = await runsOf('ahead-periodic');
          return rs.filter((r) => r.status === 'succeeded').length >= 3 && rs;
        },
        everyS * 1000 * 6 + scaled(20_000),
        50,
      );
      const times = runs.map((r) => r.scheduled_at.getTime());
      assert.equal(new Set(times).size, times.length, `each time fired once: ${runs.map((r) => r.scheduled_at.toISOString()).join(', ')}`);
      const starts = handlerStarts();
      for (const r of runs.filter((x) => x.status === 'succeeded')) {
        assert.ok(r.started_at!.getTime() >= r.scheduled_at.getTime(), `run of ${r.scheduled_at.toISOString()} recorded as started at ${r.started_at!.toISOString()}`);
        const at = starts.get(r.id);
        assert.ok(at && at.getTime() >= r.scheduled_at.getTime(), `handler of the run of ${r.scheduled_at.toISOString()} started at ${at?.toISOString()}`);
      }
      await svc.http.delete(`${api}/jobs/ahead-periodic`).expect(200);
    });
  });
}
