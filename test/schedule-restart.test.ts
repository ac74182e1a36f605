/**
 * Catch-up after a real stop, on every store: the service process (API and worker) is killed
 * (kill -9) while its jobs fire every second, stays down for several fires, and a new process
 * on the same database catches up as each job's catch_up says, bounded by
 * JOBS_CATCH_UP_MAX_FIRES.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, stores, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';
import { waitForListening } from './support/listening.js';
import { spawnService } from './support/crashing-worker.js';

noticeSkippedStores();

interface Run {
  status: string;
  created_at: string;
  trigger: string;
  scheduled_at: string;
  error: string | null;
}

for (const { name, skip } of stores) {
  describe(`catch-up after a killed worker on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let defaults: string;
    /** The current process's, once it has logged 'listening'. */
    let port: number | undefined;
    let child: ChildProcess | undefined;
    let log = '';
    /** The current process's output (`log` has every process's). */
    let output: string[] = [];
    before(async () => {
      db = await testDatabase(name);
      defaults = await tempDir('defaults');
    });
    after(async () => {
      if (child) console.log(log.slice(-4000));
      child?.kill('SIGKILL');
      await db?.drop();
    });

    const start = (env: Record<string, string> = {}) => {
      // At level info: it logs the port it listens on.
      const proc = spawnService(db, [], { PORT: '0', LOG_LEVEL: 'info', JOBS_DEFAULT_JOBS_DIR: defaults, ...env });
      const out: string[] = [];
      output = out;
      port = undefined;
      const keep = (b: Buffer) => {
        out.push(b.toString());
        log += b.toString();
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      return proc;
    };
    const http = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1${url}`, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    // Ready once it listens on the port it logged and its own worker is active.
    const ready = async (proc: ChildProcess) => {
      port = await waitForListening(proc, output, 120_000);
      await waitFor(
        'the service to answer',
        async () => {
          if (proc.exitCode !== null) throw new Error(`the service exited (${proc.exitCode}): ${log.slice(-2000)}`);
          const r = await http('GET', '/workers').catch(() => ({ status: 0, body: undefined }));
          return r.status === 200 && (r.body.workers as Array<{ pid: number; state: string }>).some((w) => w.pid === proc.pid && w.state === 'active');
        },
        120_000,
        200,
      );
    };
    const runsOf = async (jobId: string): Promise<Run[]> => (await http('GET', `/jobs/${jobId}/executions?limit=1000`)).body.executions;

    it('a new process runs the fires missed while the worker was dead: all (up to the bound), last (once), none (one missed record)', async () => {
      child = start();
      await ready(child);
      for (const policy of ['all', 'last', 'none']) {
        // allow: the run the dead worker left running (settled lost only later) must not make
        // the first fire after the restart a missed one, as forbid would.
        const r = await http('POST', '/jobs', {
          job_id: `dead-${policy}`,
          handler: 'echo',
          periodically: '1 second',
          misfire_grace_time: 1,
          catch_up: policy,
          concurrency_policy: 'allow',
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      for (const policy of ['all', 'last', 'none']) {
        await waitFor(`a run of dead-${policy}`, async () => (await runsOf(`dead-${policy}`)).some((r) => r.status === 'succeeded'), 60_000);
      }
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      // Down for at least six fires, and longer on a loaded machine.
      await sleep(Math.max(6000, scaled(6000)));
      child = start({ JOBS_CATCH_UP_MAX_FIRES: '3' });
      await ready(child);
      // The first fire of the new process catches up (on a loaded machine later fires may be
      // late enough to catch up too): the records its claim wrote share their created_at.
      const since = (runs: Run[]) => runs.filter((r) => new Date(r.scheduled_at).getTime() > killedAt - 1000);
      const firstCatchUp = (runs: Run[]) => {
        const caught = since(runs).filter((r) => r.trigger === 'catch_up');
        const first = Math.min(...caught.map((r) => new Date(r.created_at).getTime()));
        return caught.filter((r) => new Date(r.created_at).getTime() === first);
      };

      const all = await waitFor(
        'the catch-up of dead-all',
        async () => {
          const runs = await runsOf('dead-all');
          const c = firstCatchUp(runs);
          return c.length > 0 && c.every((r) => r.status === 'succeeded') ? runs : undefined;
        },
        120_000,
      );
      const allCaught = firstCatchUp(all);
      assert.equal(allCaught.length, 3, 'the latest JOBS_CATCH_UP_MAX_FIRES fires ran');
      const times = allCaught.map((r) => new Date(r.scheduled_at).getTime()).sort((a, b) => a - b);
      assert.deepEqual(
        times.map((t) => t - times[0]),
        [0, 1000, 2000],
        'consecutive fires of the job grid',
      );
      const skipped = all.find((r) => r.status === 'missed' && r.created_at === allCaught[0].created_at);
      assert.ok(skipped, 'the older fires make one missed record');
      assert.match(skipped.error!, /JOBS_CATCH_UP_MAX_FIRES/);
      assert.equal(skipped.trigger, 'schedule', 'a fire not caught up is a missed fire of the schedule');
      assert.ok(new Date(skipped.scheduled_at).getTime() < times[0] - 1000 && new Date(skipped.scheduled_at).getTime() < killedAt + 2000, 'from the first fire the worker missed');

      const last = await waitFor('the catch-up of dead-last', async () => {
        const c = firstCatchUp(await runsOf('dead-last'));
        return c.length && c.every((r) => r.status === 'succeeded') ? c : undefined;
      });
      assert.equal(last.length, 1, "'last' runs one fire");
      assert.ok(new Date(last[0].scheduled_at).getTime() > killedAt + 3000, 'the latest missed fire, not the first');

      const none = await waitFor('the missed record of dead-none', async () => {
        const runs = since(await runsOf('dead-none'));
        return runs.some((r) => r.status === 'missed' && /misfire grace/.test(r.error ?? '')) ? runs : undefined;
      });
      const missed = none.filter((r) => r.status === 'missed' && /misfire grace/.test(r.error ?? ''));
      assert.match(missed[0].error!, /beyond the misfire grace time of 1 s/);
      assert.equal(none.filter((r) => r.trigger === 'catch_up').length, 0, "'none' catches nothing up");

      const exitedAgain = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exitedAgain;
      child = undefined;
    });
  });
}
