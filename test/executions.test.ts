import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Run {
  id: string;
  status: string;
  attempt: number;
  error: string | null;
  batch_id: string | null;
  worker_id: string | null;
  scheduled_at: string;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested_at: string | null;
}

/** Scripts for runs that take a while: `sleep.sh SECONDS` prints, then sleeps. */
async function scriptsFolder(): Promise<string> {
  const dir = await tempDir('scripts');
  await fs.writeFile(path.join(dir, 'sleep.sh'), '#!/bin/sh\necho "sleeping $1"\nsleep "$1"\necho "woke up"\n', { mode: 0o755 });
  // Ignores SIGTERM, and so does the child it starts; both write their pid into the folder
  // named by their first argument.
  await fs.writeFile(
    path.join(dir, 'stubborn.sh'),
    [
      '#!/bin/bash',
      "trap '' TERM",
      'echo $$ > "$1/parent.pid"',
      'bash -c \'trap "" TERM; echo $$ > "$0/child.pid"; while true; do sleep 0.1; done\' "$1" &',
      'echo "started child"',
      'while true; do sleep 0.1; done',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return dir;
}

for (const { name, skip } of stores) {
  describe(`executions, cancel, timeouts, policies and workers on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    let scripts: string;
    before(async () => {
      scripts = await scriptsFolder();
      process.env.JOBS_SCRIPTS_DIR = scripts;
      process.env.JOBS_SCRIPT_KILL_GRACE_MS = '500';
      db = await testDatabase(name);
      svc = await startService(db);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
      await fs.rm(scripts, { recursive: true, force: true });
    });

    const run = async (id: string): Promise<Run> => (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
    const runsOf = async (jobId: string): Promise<Run[]> => (await svc.http.get(`${api}/jobs/${jobId}/executions?limit=1000`).expect(200)).body.executions;
    const until = (id: string, status: string, ms = 10_000) => waitFor(`run ${id} to be ${status}`, async () => ((await run(id)).status === status ? run(id) : undefined), ms);

    it('runs a job now: 202 with Location, and the run is recorded with its worker', async () => {
      await svc.http.post(`${api}/jobs/echo?job_id=on-demand&state=paused`).send({ message: 'base' }).expect(201);
      const res = await svc.http
        .post(`${api}/jobs/on-demand/executions`)
        .send({ kwargs: { extra: 1 } })
        .expect(202);
      assert.equal(res.body.batch_id, null);
      assert.equal(res.body.execution_ids.length, 1);
      const id = res.body.execution_ids[0];
      assert.equal(res.headers.location, `${api}/executions/${id}`);
      const done = await until(id, 'succeeded');
      assert.equal(done.attempt, 1);
      assert.equal(done.worker_id, svc.service.worker!.id);
      const full = (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
      assert.deepEqual(full.kwargs, { message: 'base', extra: 1 }, 'overrides are merged over the job kwargs');
      assert.equal(full.trigger, 'manual');
      // A run without a body works too.
      const plain = await svc.http.post(`${api}/jobs/on-demand/executions`).expect(202);
      await until(plain.body.execution_ids[0], 'succeeded');
    });

    it('runs a job 50 times as one batch and counts it', async () => {
      const res = await svc.http.post(`${api}/jobs/on-demand/executions`).send({ times: 50 }).expect(202);
      const batch = res.body.batch_id;
      assert.ok(batch);
      assert.equal(res.body.execution_ids.length, 50);
      assert.equal(new Set(res.body.execution_ids).size, 50);
      assert.equal(res.headers.location, `${api}/batches/${batch}`);
      const summary = await waitFor(
        'the whole batch',
        async () => {
          const b = (await svc.http.get(`${api}/batches/${batch}`).expect(200)).body;
          return b.counts.succeeded === 50 ? b : undefined;
        },
        30_000,
      );
      assert.equal(summary.total, 50);
      assert.equal(summary.job_id, 'on-demand');
      assert.ok(summary.finished_at && summary.started_at);
      assert.ok(summary.duration_ms >= 0);
      const listed = (await svc.http.get(`${api}/executions?batch_id=${batch}&limit=100`).expect(200)).body.executions;
      assert.equal(listed.length, 50);
      assertProblem(await svc.http.get(`${api}/batches/nope`), 404);
    });

    it('refuses bad run requests', async () => {
      assertProblem(await svc.http.post(`${api}/jobs/on-demand/executions`).send({ times: 0 }), 400, 'body.times');
      assertProblem(await svc.http.post(`${api}/jobs/on-demand/executions`).send({ times: 1001 }), 400, 'body.times');
      assertProblem(await svc.http.post(`${api}/jobs/on-demand/executions`).send({ times: 'x' }), 400, 'body.times');
      assertProblem(await svc.http.post(`${api}/jobs/on-demand/executions`).send({ when: 'now' }), 400, 'body.when');
      assertProblem(await svc.http.post(`${api}/jobs/no-such-job/executions`).send({}), 404);
      await svc.http.post(`${api}/jobs/http-request?job_id=typed&state=paused`).send({ url: 'http://127.0.0.1:9/' }).expect(201);
      assertProblem(await svc.http.post(`${api}/jobs/typed/executions`).send({ kwargs: { url: 5 } }), 400, 'body.kwargs.url');
      assertProblem(await svc.http.get(`${api}/executions/no-such-run`), 404);
      assertProblem(await svc.http.get(`${api}/executions?since=yesterday`), 400, 'query.since');
      assertProblem(await svc.http.get(`${api}/executions?status=done`), 400, 'query.status');
    });

    it('filters runs by status, handler and time, and pages them', async () => {
      const all = (await svc.http.get(`${api}/executions?handler=echo&limit=1000`).expect(200)).body.executions as Run[];
      assert.ok(all.length >= 52);
      const ok = (await svc.http.get(`${api}/executions?status=succeeded&handler=echo&limit=1000`).expect(200)).body.executions as Run[];
      assert.ok(ok.every((e) => e.status === 'succeeded'));
      const future = new Date(Date.now() + 60_000).toISOString();
      assert.equal((await svc.http.get(`${api}/executions?since=${future}`).expect(200)).body.executions.length, 0);
      assert.ok((await svc.http.get(`${api}/executions?until=${future}&limit=5`).expect(200)).body.executions.length === 5);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `${api}/executions?handler=echo&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = (await svc.http.get(q).expect(200)).body;
        seen.push(...page.executions.map((e: Run) => e.id));
        cursor = page.next_cursor;
      } while (cursor);
      assert.equal(seen.length, all.length);
      assert.equal(new Set(seen).size, seen.length, 'no run twice across pages');
    });

    it('cancels a queued run: it never starts; a finished run answers 409', async () => {
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
      try {
        const res = await svc.http.post(`${api}/jobs/on-demand/executions`).expect(202);
        const id = res.body.execution_ids[0];
        assert.equal((await run(id)).status, 'queued');
        const cancelled = await svc.http.post(`${api}/executions/${id}/cancel`).expect(200);
        assert.equal(cancelled.body.status, 'cancelled');
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
        await sleep(scaled(800));
        const after = await run(id);
        assert.equal(after.status, 'cancelled');
        assert.equal(after.started_at, null, 'it never started');
        assertProblem(await svc.http.post(`${api}/executions/${id}/cancel`), 409);
        assertProblem(await svc.http.post(`${api}/executions/no-such-run/cancel`), 404);
      } finally {
        await svc.http.put(`${api}/service/state?state=running`).expect(200);
      }
    });

    it('cancels a running run through its signal; its output is kept', async () => {
      await svc.http
        .post(`${api}/jobs/run-script?job_id=sleeper&state=paused`)
        .send({ script: 'sleep.sh', args: ['30'] })
        .expect(201);
      const id = (await svc.http.post(`${api}/jobs/sleeper/executions`).expect(202)).body.execution_ids[0];
      await until(id, 'running');
      await waitFor('the script to print', async () =>
        (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body.lines.some((l: string) => l.includes('sleeping 30')),
      );
      const res = await svc.http.post(`${api}/executions/${id}/cancel`).expect(202);
      assert.equal(res.body.status, 'running');
      const done = await until(id, 'cancelled');
      assert.match(done.error!, /cancelled on request/);
      const out = (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body.lines.join('\n');
      assert.match(out, /sleeping 30/);
      assert.doesNotMatch(out, /woke up/);
    });

    it('ends a run past its timeout as timed_out', async () => {
      const res = await svc.http
        .post(`${api}/jobs/run-script?job_id=slow&timeout=1`)
        .send({ script: 'sleep.sh', args: ['20'] })
        .expect(201);
      assert.equal(res.body.job.timeout, 1);
      const runs = await waitFor('the timed-out run', async () => {
        const r = await runsOf('slow');
        return r.some((e) => e.status === 'timed_out') ? r : undefined;
      });
      const timedOut = runs.find((e) => e.status === 'timed_out')!;
      assert.match(timedOut.error!, /timed out after 1 s/);
      const took = Date.parse(timedOut.finished_at!) - Date.parse(timedOut.started_at!);
      assert.ok(took >= 1000 && took < 5000, `ended after ${took} ms`);
      const failed = (await svc.http.get(`${api}/jobs?job_type=failed&limit=1000`).expect(200)).body.jobs;
      assert.ok(
        failed.some((f: { execution_id: string }) => f.execution_id === timedOut.id),
        'a timed-out run leaves a failure record',
      );
    });

    it('a run-script past its timeout is timed_out, its process group is dead, its output kept', async () => {
      const pids = await tempDir('pids');
      try {
        await svc.http
          .post(`${api}/jobs/run-script?job_id=stubborn&timeout=1`)
          .send({ script: 'stubborn.sh', args: [pids] })
          .expect(201);
        const done = await waitFor('the timed-out run', async () => (await runsOf('stubborn')).find((e) => e.status === 'timed_out'), 15_000);
        const out = (await svc.http.get(`${api}/executions/${done.id}/output`).expect(200)).body.lines.join('\n');
        assert.match(out, /started child/, 'output up to the timeout is kept');
        // The pids a script writes are its PID namespace's; its processes are found by the
        // folder on their command lines instead.
        for (const file of ['parent.pid', 'child.pid']) assert.ok(Number(await fs.readFile(path.join(pids, file), 'utf8')) > 0, file);
        await waitFor(
          'every process of the run to be gone',
          async () => {
            for (const entry of await fs.readdir('/proc')) {
              if (!/^\d+$/.test(entry)) continue;
              const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
              if (!cmdline.includes(pids)) continue;
              // A killed orphan may linger as a zombie until init reaps it: dead all the same.
              const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
              if (stat !== '' && !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return false;
            }
            return true;
          },
          8000,
        );
      } finally {
        await fs.rm(pids, { recursive: true, force: true });
      }
    });

    it('refuses scripts outside the scripts folder and unknown ones', async () => {
      assertProblem(await svc.http.post(`${api}/jobs/run-script`).send({ script: '../sleep.sh' }), 400, 'body.script');
      assertProblem(await svc.http.post(`${api}/jobs/run-script`).send({ script: 'bin/sh' }), 400, 'body.script');
      assertProblem(await svc.http.post(`${api}/jobs/run-script`).send({ script: 'no-such-script.sh' }), 400, 'body.script');
      assertProblem(await svc.http.post(`${api}/jobs/run-script`).send({ script: 'sleep.sh', args: [1] }), 400, 'body.args.0');
      assertProblem(await svc.http.post(`${api}/jobs/run-script`).send({ script: 'sleep.sh', env: { LD_PRELOAD: 'x' } }), 400, 'body.env.LD_PRELOAD');
    });

    it('forbid: a fire while the previous run is active is recorded missed, and a manual run answers 409', async () => {
      await svc.http
        .post(`${api}/jobs/run-script?job_id=overlap&periodically=1%20second`)
        .send({ script: 'sleep.sh', args: ['2.5'] })
        .expect(201);
      const job = (await svc.http.get(`${api}/jobs/overlap`).expect(200)).body;
      assert.equal(job.concurrency_policy, null, 'the default applies');
      await waitFor('a running run', async () => (await runsOf('overlap')).some((e) => e.status === 'running'));
      assertProblem(await svc.http.post(`${api}/jobs/overlap/executions`), 409);
      const runs = await waitFor('a missed fire', async () => {
        const r = await runsOf('overlap');
        return r.some((e) => e.status === 'missed') ? r : undefined;
      });
      const missed = runs.find((e) => e.status === 'missed')!;
      assert.match(missed.error!, /still (running|queued) when this fire came due \(concurrency_policy forbid\)/);
      await svc.http.delete(`${api}/jobs/overlap`).expect(200);
      for (const r of await runsOf('overlap').catch(() => [] as Run[])) if (r.status === 'running') await svc.http.post(`${api}/executions/${r.id}/cancel`);
    });

    it('replace: a new fire cancels the active run, then starts', async () => {
      await svc.http
        .post(`${api}/jobs/run-script?job_id=replacing&periodically=1%20second&concurrency_policy=replace`)
        .send({ script: 'sleep.sh', args: ['30'] })
        .expect(201);
      const runs = await waitFor(
        'a replaced run and its successor running',
        async () => {
          const r = await runsOf('replacing');
          const replaced = r.find((e) => e.status === 'cancelled' && /replaced/.test(e.error ?? ''));
          const successor = r.find((e) => e.status === 'running' && replaced && Date.parse(e.scheduled_at) > Date.parse(replaced.scheduled_at));
          return replaced && successor ? r : undefined;
        },
        15_000,
      );
      assert.ok(runs.filter((e) => e.status === 'running').length <= 2);
      await svc.http.put(`${api}/jobs/replacing?state=paused`).expect(200);
      for (const r of await runsOf('replacing')) if (r.status === 'running' || r.status === 'queued') await svc.http.post(`${api}/executions/${r.id}/cancel`);
    });

    it('retries a failed run per the job, with the attempt counted on each run', async () => {
      await svc.http
        .post(`${api}/jobs`)
        .send({ handler: 'http-request', job_id: 'flaky', kwargs: { url: 'http://127.0.0.1:9/', timeout: 1 }, retries: 2, retry_backoff: 0 })
        .expect(201);
      const runs = await waitFor('three failed attempts', async () => {
        const r = await runsOf('flaky');
        return r.filter((e) => e.status === 'failed').length === 3 ? r : undefined;
      });
      assert.deepEqual(runs.map((e) => e.attempt).sort(), [1, 2, 3]);
      await sleep(scaled(500));
      assert.equal((await runsOf('flaky')).length, 3, 'no attempt beyond the retries');
      const job = (await svc.http.get(`${api}/jobs/flaky`).expect(200)).body;
      assert.equal(job.last_status, 'failed');
      assert.equal(job.stats.failed, 3);
    });

    it('GET /jobs/{job_id} carries the stats of its runs', async () => {
      const job = (await svc.http.get(`${api}/jobs/on-demand`).expect(200)).body;
      assert.ok(job.stats.total >= 52);
      assert.equal(job.stats.succeeded, job.stats.total - 1, 'all but the cancelled one succeeded');
      assert.equal(job.stats.failed, 0);
      assert.ok(job.stats.average_duration_ms >= 0);
      assert.ok(job.stats.latest_execution.id);
      assert.equal(job.stats.next_execution, null, 'a paused job has no next execution');
      const fresh = (await svc.http.post(`${api}/jobs/echo?job_id=fresh&periodically=1%20hour`).send({}).expect(201)).body.job;
      const detail = (await svc.http.get(`${api}/jobs/fresh`).expect(200)).body;
      assert.deepEqual(detail.stats, { total: 0, succeeded: 0, failed: 0, average_duration_ms: null, next_execution: { scheduled_at: fresh.next_run_time } });
    });

    it('lists workers with their facts, blocks and unblocks one, and counts everything', async () => {
      const { workers } = (await svc.http.get(`${api}/workers`).expect(200)).body;
      const me = workers.find((w: { id: string }) => w.id === svc.service.worker!.id);
      assert.ok(me);
      assert.equal(me.state, 'active');
      assert.equal(me.pid, process.pid);
      assert.ok(me.handlers.includes('echo'));
      assert.ok(me.memory.process_rss > 0 && me.memory.system_total > 0);
      assert.ok(Date.parse(me.heartbeat_at) >= Date.parse(me.started_at));
      assert.equal((await svc.http.get(`${api}/workers/${me.id}`).expect(200)).body.id, me.id);
      assertProblem(await svc.http.get(`${api}/workers/no-such-worker`), 404);
      assertProblem(await svc.http.put(`${api}/workers/${me.id}/state?state=gone`), 400, 'query.state');

      assert.equal((await svc.http.put(`${api}/workers/${me.id}/state?state=blocked`).expect(200)).body.state, 'blocked');
      await sleep(scaled(700));
      const id = (await svc.http.post(`${api}/jobs/on-demand/executions`).expect(202)).body.execution_ids[0];
      await sleep(scaled(800));
      assert.equal((await run(id)).status, 'queued', 'a blocked worker takes no new run');
      await svc.http.put(`${api}/workers/${me.id}/state?state=active`).expect(200);
      await until(id, 'succeeded');

      const stats = (await svc.http.get(`${api}/stats`).expect(200)).body;
      assert.ok(stats.workers.active >= 1);
      assert.ok(stats.jobs >= 5);
      assert.ok(stats.executions.succeeded >= 50);
      assert.ok(stats.executions.cancelled >= 2);
    });

    it('a graceful stop cancels runs still going after the shutdown grace, and records it', async () => {
      const id = (await svc.http.post(`${api}/jobs/sleeper/executions`).expect(202)).body.execution_ids[0];
      await until(id, 'running');
      const workerId = svc.service.worker!.id;
      const t0 = Date.now();
      await svc.close();
      const took = Date.now() - t0;
      assert.ok(took >= 1500 && took < 10_000, `stopped after ${took} ms (grace 2 s)`);
      svc = await startService(db);
      const stopped = await run(id);
      assert.equal(stopped.status, 'cancelled');
      assert.match(stopped.error!, /shut down/);
      assert.equal((await svc.http.get(`${api}/workers/${workerId}`).expect(200)).body.state, 'gone');
    });
  });
}

function assertProblem(res: { status: number; headers: Record<string, string>; body: { status: number; errors?: Array<{ field: string }> } }, status: number, field?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type'], /problem\+json/);
  assert.equal(res.body.status, status);
  if (field)
    assert.ok(
      res.body.errors?.some((e) => e.field === field),
      `expected ${field} in ${JSON.stringify(res.body.errors)}`,
    );
}
