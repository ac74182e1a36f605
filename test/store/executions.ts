/** The store conformance suite: ExecutionStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { executionStatuses, type ExecutionEnd, type ExecutionFilter, type ExecutionStatus, type JobRecord, type Store } from '../../src/store/types.js';
import { at, pad, range, shuffled, compareText, newestFirst, job, fullJob, sparseJob, execution, fullExecution, worker, allPages, assertNoRepeats, matches } from './fixtures.js';

/** A byte cap no output here comes near (test/store/run-ends.ts tests the cap). */
const noByteCap = 1 << 20;

/** ExecutionStore: every method, with every field of a run. */
export function executionStoreContract(open: () => Store): void {
  describe('executions', () => {
    let store: Store;
    /** One job through insertJobs: true when it was inserted. */
    const insertJob = async (j: JobRecord) => (await store.insertJobs([j])).length === 1;
    before(() => {
      store = open();
    });

    it('insertExecution and getExecution round-trip every field; null for an unknown id', async () => {
      const full = fullExecution('rx-full', 1, 0);
      const sparse = execution('rx-sparse', 1, 10, { kwargs: {}, job_id: null, timeout: null });
      await store.insertExecution(full);
      await store.insertExecution(sparse);
      assert.deepEqual(await store.getExecution('rx-full'), full);
      assert.deepEqual(await store.getExecution('rx-sparse'), sparse);
      assert.equal(await store.getExecution('rx-none'), null);
    });

    it('insertExecutions inserts a batch larger than one chunk (450 runs), every field kept', async () => {
      await store.insertExecutions([]);
      const runs = range(450).map((i) =>
        (i % 3 === 0 ? fullExecution : execution)(`bx-${pad(i, 3)}`, 2, i, {
          job_id: 'bx-job',
          batch_id: 'bx-batch',
          status: executionStatuses[i % executionStatuses.length],
          attempt: 1 + (i % 4),
          kwargs: { i, tag: 'bx', list: [i, [i]] },
        }),
      );
      await store.insertExecutions(shuffled(runs, 3));
      const listed = await allPages((a) => store.listExecutions({ batch_id: 'bx-batch' }, a, 1000), 1000);
      assert.equal(listed.length, 450);
      // A list leaves out the output (getExecution below has it).
      assert.deepEqual(
        listed,
        [...runs].sort(newestFirst).map((r) => ({ ...r, output: [] })),
      );
      for (const i of [0, 1, 199, 200, 201, 399, 400, 449]) assert.deepEqual(await store.getExecution(runs[i].id), runs[i]);
    });

    it('updateExecution patches only the given fields; an unknown id or an empty patch changes nothing', async () => {
      const run = execution('ue-one', 1, 20);
      await store.insertExecution(run);
      const patch = {
        status: 'running' as const,
        started_at: at(1, 21),
        worker_id: 'ue-worker',
        progress: 12.5,
        selection: { task_names: ['a'], run_subsequent: false },
        output: ['x', 'y'],
        kwargs: { replaced: { deep: [true] } },
      };
      await store.updateExecution('ue-one', patch);
      const expected = { ...run, ...patch };
      assert.deepEqual(await store.getExecution('ue-one'), expected);
      await store.updateExecution('ue-one', {});
      assert.deepEqual(await store.getExecution('ue-one'), expected);
      await store.updateExecution('ue-one', { selection: null, progress: null, error: 'e', stack: null });
      const expected2 = { ...expected, selection: null, progress: null, error: 'e', stack: null };
      assert.deepEqual(await store.getExecution('ue-one'), expected2);
      await store.updateExecution('ue-none', { status: 'failed' });
      assert.equal(await store.getExecution('ue-none'), null);
    });

    it('transitionExecution moves a run only from the expected status', async () => {
      const run = execution('tx-one', 1, 30);
      await store.insertExecution(run);
      assert.equal(await store.transitionExecution('tx-one', 'running', { status: 'succeeded', finished_at: at(1, 31) }), false);
      assert.deepEqual(await store.getExecution('tx-one'), run, 'a refused move changes nothing');
      assert.equal(await store.transitionExecution('tx-one', 'queued', { status: 'running', started_at: at(1, 32), worker_id: 'tx-w' }), true);
      const running = { ...run, status: 'running' as const, started_at: at(1, 32), worker_id: 'tx-w' };
      assert.deepEqual(await store.getExecution('tx-one'), running);
      assert.equal(await store.transitionExecution('tx-one', 'queued', { status: 'running', worker_id: 'tx-other' }), false);
      assert.equal(await store.transitionExecution('tx-one', 'running', { status: 'succeeded', finished_at: at(1, 33), duration_ms: 1000 }), true);
      assert.deepEqual(await store.getExecution('tx-one'), { ...running, status: 'succeeded', finished_at: at(1, 33), duration_ms: 1000 });
      assert.equal(await store.transitionExecution('tx-one', 'running', { status: 'lost' }), false);
      assert.equal(await store.transitionExecution('tx-none', 'queued', { status: 'running' }), false);
    });

    it('getExecutions, activeExecutionsOf and transitionExecutions work on many runs at once', async () => {
      const runs = [
        execution('mx-q1', 1, 70, { job_id: 'mx-a', status: 'queued' }),
        execution('mx-r1', 1, 71, { job_id: 'mx-a', status: 'running' }),
        execution('mx-s1', 1, 72, { job_id: 'mx-a', status: 'succeeded' }),
        execution('mx-q2', 1, 73, { job_id: 'mx-b', status: 'queued' }),
        execution('mx-q3', 1, 74, { job_id: 'mx-c', status: 'queued' }),
      ];
      await store.insertExecutions(runs);
      assert.deepEqual(await store.getExecutions([]), []);
      const got = await store.getExecutions(['mx-q3', 'mx-none', 'mx-q1']);
      assert.deepEqual(
        got.sort((a, b) => compareText(a.id, b.id)),
        [runs[0], runs[4]],
      );
      assert.deepEqual(await store.activeExecutionsOf([]), []);
      assert.deepEqual((await store.activeExecutionsOf(['mx-a', 'mx-b', 'mx-none'])).map((e) => e.id).sort(), ['mx-q1', 'mx-q2', 'mx-r1']);

      assert.deepEqual(await store.transitionExecutions('queued', []), []);
      const moved = await store.transitionExecutions('queued', [
        { id: 'mx-q1', patch: { status: 'running', started_at: at(1, 80), worker_id: 'mx-w' } },
        { id: 'mx-r1', patch: { status: 'running', started_at: at(1, 81), worker_id: 'mx-other' } },
        { id: 'mx-q2', patch: { status: 'cancelled', finished_at: at(1, 82), error: 'e' } },
        { id: 'mx-none', patch: { status: 'running' } },
      ]);
      assert.deepEqual(moved.sort(), ['mx-q1', 'mx-q2'], 'only runs still queued move');
      assert.deepEqual(await store.getExecution('mx-q1'), { ...runs[0], status: 'running', started_at: at(1, 80), worker_id: 'mx-w' });
      assert.deepEqual(await store.getExecution('mx-r1'), runs[1], 'a run in another status is untouched');
      assert.deepEqual(await store.getExecution('mx-q2'), { ...runs[3], status: 'cancelled', finished_at: at(1, 82), error: 'e' });
      const again = await Promise.all(range(5).map((w) => store.transitionExecutions('queued', [{ id: 'mx-q3', patch: { status: 'running', worker_id: `mx-w${w}` } }])));
      assert.equal(again.filter((ids) => ids.length === 1).length, 1, 'of 5 concurrent batch claims of one run exactly one wins');
    });

    it('getJobsWithActiveRuns: each job that exists with its queued and running runs, oldest first, every field', async () => {
      assert.deepEqual(await store.getJobsWithActiveRuns([]), []);
      const jobs = [fullJob('wa-a', 1), sparseJob('wa-b', 1)];
      for (const j of jobs) assert.equal(await insertJob(j), true);
      const runs = [
        fullExecution('wa-r2', 1, 102, { job_id: 'wa-a', status: 'running' }),
        execution('wa-q1', 1, 101, { job_id: 'wa-a', status: 'queued' }),
        fullExecution('wa-s', 1, 103, { job_id: 'wa-a', status: 'succeeded' }),
        execution('wa-o', 1, 104, { job_id: 'wa-other', status: 'running' }),
      ];
      await store.insertExecutions(runs);
      const got = await store.getJobsWithActiveRuns(['wa-b', 'wa-none', 'wa-a']);
      got.sort((x, y) => compareText(x.job.job_id, y.job.job_id));
      // A store that tells the version of each job row it read (SQL) tells a new one once the row changes.
      const seen = got.map((g) => g.seen);
      for (const g of got) delete g.seen;
      if (seen[1] !== undefined) {
        await store.updateJob('wa-b', { kwargs: { changed: true } });
        const [after] = await store.getJobsWithActiveRuns(['wa-b']);
        assert.equal(typeof after.seen, 'string');
        assert.notEqual(after.seen, seen[1], 'a changed job row reads as another version');
        assert.equal((await store.getJobsWithActiveRuns(['wa-b']))[0].seen, after.seen, 'an unchanged one as the same');
      }
      assert.deepEqual(got, [
        // The runs come without their output (a fire never reads it).
        {
          job: jobs[0],
          active: [
            { ...runs[1], output: [] },
            { ...runs[0], output: [] },
          ],
          counted: 0,
        },
        { job: jobs[1], active: [], counted: null },
      ]);
    });

    it('getJobsWithActiveRuns counts the runs a job with max_runs started: first attempts of fires and catch-ups not missed, up to max_runs', async () => {
      assert.equal(await insertJob(job('mr-a', 1, { max_runs: 3 })), true);
      assert.equal(await insertJob(job('mr-b', 1, { max_runs: 10 })), true);
      const of = (id: string, i: number, over: Parameters<typeof execution>[3]) => execution(id, 1, i, { job_id: 'mr-b', ...over });
      await store.insertExecutions([
        ...range(5).map((i) => execution(`mr-a${i}`, 1, 110 + i, { job_id: 'mr-a', trigger: 'schedule', status: 'succeeded' })),
        of('mr-b1', 120, { trigger: 'schedule', status: 'succeeded' }),
        of('mr-b2', 121, { trigger: 'catch_up', status: 'queued' }),
        of('mr-b3', 122, { trigger: 'schedule', status: 'failed' }),
        of('mr-b4', 123, { trigger: 'schedule', status: 'missed' }),
        of('mr-b5', 124, { trigger: 'schedule', status: 'succeeded', attempt: 2 }),
        of('mr-b6', 125, { trigger: 'manual', status: 'succeeded' }),
        of('mr-b7', 126, { trigger: 'backfill', status: 'succeeded' }),
      ]);
      const got = new Map((await store.getJobsWithActiveRuns(['mr-a', 'mr-b'])).map((x) => [x.job.job_id, x.counted]));
      assert.equal(got.get('mr-a'), 3, 'counted up to max_runs only');
      assert.equal(got.get('mr-b'), 3, 'a schedule run, a catch-up run and a failed one; not a missed fire, a retry, a manual run or a backfill');
    });

    it("finishExecutions ends running runs only, with their last output and their jobs' last status", async () => {
      assert.equal(await insertJob(job('nf-job', 1)), true);
      await store.insertExecutions([
        execution('fx-a', 1, 90, { job_id: 'nf-job', status: 'running', progress: 40, output: ['o1', 'o2'] }),
        execution('fx-b', 1, 91, { job_id: 'nf-job', status: 'running', progress: 40 }),
        execution('fx-c', 1, 92, { job_id: null, status: 'succeeded' }),
      ]);
      const end = (id: string, over: Partial<ExecutionEnd> = {}): ExecutionEnd => ({
        id,
        status: 'succeeded',
        finished_at: at(1, 95),
        duration_ms: 5000,
        error: null,
        stack: null,
        progress: 100,
        output: [],
        job_id: null,
        ...over,
      });
      assert.deepEqual(await store.finishExecutions([], 3, noByteCap), []);
      const ended = await store.finishExecutions(
        [
          end('fx-a', { status: 'failed', error: 'boom', stack: 'at x', progress: null, output: ['o3', 'o4'], job_id: 'nf-job' }),
          end('fx-c', { status: 'failed' }),
          end('fx-none'),
        ],
        3,
        noByteCap,
      );
      assert.deepEqual(ended, ['fx-a'], 'a run no longer running is not ended again');
      const a = await store.getExecution('fx-a');
      assert.deepEqual(
        [a?.status, a?.error, a?.stack, a?.progress, a?.finished_at, a?.duration_ms, a?.output, a?.output_truncated],
        ['failed', 'boom', 'at x', 40, at(1, 95), 5000, ['o2', 'o3', 'o4'], true],
        'progress kept when null; output appended and kept to maxLines',
      );
      assert.equal((await store.getExecution('fx-c'))?.status, 'succeeded');
      assert.equal((await store.getJob('nf-job'))?.last_status, 'failed');
      assert.deepEqual(await store.finishExecutions([end('fx-b', { output: ['x'], job_id: null })], 3, noByteCap), ['fx-b']);
      const b = await store.getExecution('fx-b');
      assert.deepEqual([b?.status, b?.progress, b?.output, b?.output_truncated], ['succeeded', 100, ['x'], false]);
      assert.equal((await store.getJob('nf-job'))?.last_status, 'failed', 'job_id null leaves the job alone');
      // What follows a failed end (failure record, retry) is pending from the same write.
      assert.deepEqual([a?.chains_pending, b?.chains_pending], [true, false]);
      const pending = (await store.chainsPending(at(1, 96), 100)).map((r) => r.id);
      assert.deepEqual(
        pending.filter((id) => id.startsWith('fx-')),
        ['fx-a'],
      );
    });

    it('finishExecutions counts an end written already by an earlier try of the same end as ended by this call', async () => {
      await store.insertExecutions([execution('fr-a', 1, 110, { status: 'running', job_id: null })]);
      const end: ExecutionEnd = { id: 'fr-a', status: 'succeeded', finished_at: at(1, 111), duration_ms: 1000, error: null, stack: null, progress: 100, output: [], job_id: null };
      assert.deepEqual(await store.finishExecutions([end], 10, noByteCap), ['fr-a']);
      assert.deepEqual(await store.finishExecutions([end], 10, noByteCap), ['fr-a'], 'the same end again: the answer was lost, not the write');
      assert.deepEqual(await store.finishExecutions([{ ...end, status: 'failed' }], 10, noByteCap), [], 'another end of a run that has ended is not written');
      assert.deepEqual(await store.finishExecutions([{ ...end, finished_at: at(1, 112) }], 10, noByteCap), [], 'nor one of another time');
      assert.equal((await store.getExecution('fr-a'))?.status, 'succeeded');
    });

    it('batches of ends and of job updates over the same jobs in opposite orders, written at once, all land (no deadlock)', async () => {
      const jobs = range(80).map((i) => job(`dl-${pad(i)}`, 1));
      await store.insertJobs(jobs);
      const endOf = (id: string, jobId: string): ExecutionEnd => ({
        id,
        status: 'succeeded',
        finished_at: at(1, 130),
        duration_ms: 10,
        error: null,
        stack: null,
        progress: 100,
        output: ['done'],
        job_id: jobId,
      });
      for (const round of range(8)) {
        const ids = (side: string) => jobs.map((j) => `dl-${round}-${side}-${j.job_id}`);
        const runs = ['a', 'b'].flatMap((side) => ids(side).map((id, i) => execution(id, 1, 120, { status: 'running', job_id: jobs[i].job_id })));
        await store.insertExecutions(runs);
        const a = ids('a').map((id, i) => endOf(id, jobs[i].job_id));
        const b = ids('b')
          .map((id, i) => endOf(id, jobs[i].job_id))
          .reverse();
        const [fromA, fromB] = await Promise.all([store.finishExecutions(a, 10, noByteCap), store.finishExecutions(b, 10, noByteCap)]);
        assert.equal(fromA.length + fromB.length, 2 * jobs.length, `round ${round}: every end written`);
        // The jobs' last status and last run written in batches at the same time, in opposite orders too.
        const patches = jobs.map((j) => ({ job_id: j.job_id, patch: { last_run_at: at(1, 140 + round), last_status: 'running' as const } }));
        await Promise.all([store.updateJobs(patches), store.updateJobs([...patches].reverse()), store.updateJobs(patches)]);
      }
      assert.equal((await store.getJob('dl-00'))?.last_status, 'running');
    });

    it('of 10 concurrent claims of one queued run exactly one wins', async () => {
      for (const n of range(5)) {
        const id = `cc-${n}`;
        await store.insertExecution(execution(id, 1, 40 + n));
        const claims = await Promise.all(range(10).map((w) => store.transitionExecution(id, 'queued', { status: 'running', started_at: at(1, 50 + w), worker_id: `cc-w${w}` })));
        assert.equal(claims.filter(Boolean).length, 1, `claims of ${id}: ${claims.join(', ')}`);
        const winner = claims.indexOf(true);
        const stored = await store.getExecution(id);
        assert.equal(stored?.status, 'running');
        assert.equal(stored?.worker_id, `cc-w${winner}`);
        assert.deepEqual(stored?.started_at, at(1, 50 + winner));
      }
    });

    it('appendOutput keeps the newest maxLines and sets output_truncated exactly when lines were dropped', async () => {
      await store.insertExecution(execution('ao-one', 1, 60, { status: 'running' }));
      const output = async () => {
        const e = await store.getExecution('ao-one');
        return { output: e?.output, truncated: e?.output_truncated };
      };
      await store.appendOutput('ao-one', [], 5, noByteCap);
      assert.deepEqual(await output(), { output: [], truncated: false });
      await store.appendOutput('ao-one', ['l1', 'l2'], 5, noByteCap);
      assert.deepEqual(await output(), { output: ['l1', 'l2'], truncated: false });
      await store.appendOutput('ao-one', ['l3', 'a,b', '{"q"}'], 5, noByteCap);
      assert.deepEqual(await output(), { output: ['l1', 'l2', 'l3', 'a,b', '{"q"}'], truncated: false }, 'exactly maxLines: nothing dropped');
      await store.appendOutput('ao-one', ['l6', 'NULL'], 5, noByteCap);
      assert.deepEqual(await output(), { output: ['l3', 'a,b', '{"q"}', 'l6', 'NULL'], truncated: true });
      await store.appendOutput('ao-one', ['l8'], 5, noByteCap);
      assert.deepEqual(await output(), { output: ['a,b', '{"q"}', 'l6', 'NULL', 'l8'], truncated: true }, 'truncated stays set');

      await store.insertExecution(execution('ao-two', 1, 61, { status: 'running' }));
      await store.appendOutput(
        'ao-two',
        range(8).map((i) => `m${i}`),
        3,
        noByteCap,
      );
      const two = await store.getExecution('ao-two');
      assert.deepEqual([two?.output, two?.output_truncated], [['m5', 'm6', 'm7'], true], 'one append longer than maxLines');

      await store.insertExecution(execution('ao-three', 1, 62, { status: 'running' }));
      await store.appendOutput('ao-three', ['only', '', 'back\\slash ✓'], 3, noByteCap);
      const three = await store.getExecution('ao-three');
      assert.deepEqual([three?.output, three?.output_truncated], [['only', '', 'back\\slash ✓'], false]);
    });

    describe('listExecutions', () => {
      const E = 3;
      const jobs = ['lx-a', 'lx-b', null];
      const handlers = ['lx-h1', 'lx-h2', 'lx-h3'];
      // Ids in an order unrelated to time, three runs per created_at so ties need the id.
      const idOrder = shuffled(range(36), 4);
      const runs = range(36).map((i) =>
        execution(`lx-${pad(idOrder[i])}`, E, Math.floor(i / 3), {
          job_id: i % 7 === 6 ? null : jobs[i % 2],
          status: executionStatuses[i % executionStatuses.length],
          handler: handlers[(i + Math.floor(i / 3)) % 3],
          parent_id: i % 4 === 0 ? 'lx-p1' : i % 4 === 1 ? 'lx-p2' : null,
          batch_id: i % 5 === 0 ? 'lx-b1' : i % 5 === 1 ? 'lx-b2' : null,
        }),
      );
      const mine = new Set(runs.map((r) => r.id));

      before(async () => {
        const order = shuffled(runs, 5);
        for (const r of order.slice(0, 10)) await store.insertExecution(r);
        await store.insertExecutions(order.slice(10));
      });

      /** Pages through `filter`: every item matches, newest first by (created_at, id), no repeats, all of this test's matching runs. */
      async function check(filter: ExecutionFilter, limit: number, exact: boolean) {
        const what = `filter ${JSON.stringify(filter)} by ${limit}`;
        const got = await allPages((a) => store.listExecutions(filter, a, limit), limit);
        assertNoRepeats(
          got.map((e) => e.id),
          what,
        );
        for (const e of got) assert.ok(matches(filter)(e), `${what}: ${e.id} does not match`);
        for (let i = 1; i < got.length; i++) assert.ok(newestFirst(got[i - 1], got[i]) < 0, `${what}: ${got[i - 1].id} before ${got[i].id}`);
        const expected = runs.filter(matches(filter)).sort(newestFirst);
        if (exact) assert.deepEqual(got, expected, what);
        else
          assert.deepEqual(
            got.filter((e) => mine.has(e.id)),
            expected,
            what,
          );
        return got;
      }

      it('without a filter: every run, newest first by (created_at, id), ties broken by id', async () => {
        const got = await check({}, 50, false);
        assert.equal(
          got.length,
          Object.values((await store.stats()).executions).reduce((a, b) => a + (b ?? 0), 0),
        );
        const window = { since: at(E), until: at(E + 1) };
        for (const limit of [1, 2, 3, 4, 35, 36, 37]) await check(window, limit, true);
      });

      it('each filter alone: job_id, status, handler, parent_id, batch_id, since (inclusive), until (exclusive)', async () => {
        for (const filter of [
          { job_id: 'lx-a' },
          { job_id: 'lx-b' },
          { handler: 'lx-h2' },
          { parent_id: 'lx-p1' },
          { parent_id: 'lx-p2' },
          { batch_id: 'lx-b1' },
          { batch_id: 'lx-b2' },
        ] as ExecutionFilter[]) {
          for (const limit of [1, 4, 100]) await check(filter, limit, true);
        }
        for (const status of executionStatuses) await check({ status }, 25, false);
        const since = await check({ since: at(E, 4) }, 10, false);
        assert.ok(
          since.some((e) => e.created_at.getTime() === at(E, 4).getTime()),
          'since is inclusive',
        );
        const until = await check({ until: at(E, 7) }, 10, false);
        assert.ok(!until.some((e) => e.created_at.getTime() === at(E, 7).getTime()), 'until is exclusive');
        assert.ok(until.some((e) => e.created_at.getTime() === at(E, 6).getTime()));
      });

      it('filters combined', async () => {
        const combos: ExecutionFilter[] = [
          { job_id: 'lx-a', handler: 'lx-h1' },
          { job_id: 'lx-b', status: 'succeeded' },
          { job_id: 'lx-a', since: at(E, 2), until: at(E, 9) },
          { handler: 'lx-h3', parent_id: 'lx-p1' },
          { batch_id: 'lx-b1', since: at(E, 3) },
          { status: 'queued', handler: 'lx-h1', until: at(E, 8) },
          { job_id: 'lx-a', status: 'queued', handler: 'lx-h1', parent_id: 'lx-p1', batch_id: 'lx-b1', since: at(E), until: at(E, 12) },
          { since: at(E, 5), until: at(E, 5) },
          { job_id: 'lx-none' },
          { job_id: 'lx-a', batch_id: 'lx-b2', parent_id: 'lx-p2' },
        ];
        let nonEmpty = 0;
        for (const filter of combos) {
          for (const limit of [1, 3, 50]) {
            const got = await check(filter, limit, true);
            if (limit === 50 && got.length > 0) nonEmpty++;
          }
        }
        assert.ok(nonEmpty >= 6, 'the combinations select something');
        assert.deepEqual(await store.listExecutions({ job_id: 'lx-none' }, null, 10), { items: [], next: null });
      });

      it("a list never reads the runs' output; the run itself has it", async () => {
        const run = execution('lx-output', E, 40, { job_id: 'lx-out-job', status: 'running' });
        await store.insertExecution(run);
        await store.appendOutput(run.id, ['x'.repeat(1000), 'second line'], 10, noByteCap);
        const listed = (await store.listExecutions({ job_id: 'lx-out-job' }, null, 10)).items;
        assert.equal(listed.length, 1);
        assert.deepEqual(listed[0].output, [], 'no output in a list');
        const stored = (await store.getExecution(run.id))!;
        assert.deepEqual(stored.output, ['x'.repeat(1000), 'second line']);
        assert.deepEqual({ ...listed[0], output: stored.output }, stored, 'every other field as stored');
      });

      it('keyset pages: a run inserted newer than the cursor is not shown, an older one is', async () => {
        const filter = { job_id: 'lx-a' };
        const first = await store.listExecutions(filter, null, 5);
        assert.equal(first.items.length, 5);
        assert.ok(first.next);
        const newer = execution('lx-newer', E, 100, { job_id: 'lx-a' });
        const older = execution('lx-older', E - 1, 0, { job_id: 'lx-a' });
        await store.insertExecution(newer);
        await store.insertExecution(older);
        try {
          const rest = await allPages((a) => store.listExecutions(filter, a ?? first.next, 5), 5);
          const ids = [...first.items, ...rest].map((e) => e.id);
          assertNoRepeats(ids, 'pages across inserts');
          const expected = [...runs.filter(matches(filter)), older].sort(newestFirst).map((e) => e.id);
          assert.deepEqual(ids, expected);
        } finally {
          await store.updateExecution('lx-newer', { job_id: 'lx-gone' });
          await store.updateExecution('lx-older', { job_id: 'lx-gone' });
        }
      });
    });

    it('activeExecutions returns the queued and running runs of that job only, without their output', async () => {
      const runs = executionStatuses.map((status, i) => execution(`ax-${status}`, 4, i, { job_id: 'ax-job', status }));
      await store.insertExecutions(runs);
      await store.appendOutput('ax-running', ['written while running'], 100, 1 << 20);
      await store.insertExecution(execution('ax-other-queued', 4, 20, { job_id: 'ax-other', status: 'queued' }));
      await store.insertExecution(execution('ax-other-running', 4, 21, { job_id: 'ax-other', status: 'running' }));
      const active = (await store.activeExecutions('ax-job')).sort((a, b) => compareText(a.id, b.id));
      assert.deepEqual(
        active,
        runs.filter((r) => r.status === 'queued' || r.status === 'running').sort((a, b) => compareText(a.id, b.id)),
      );
      assert.deepEqual(await store.activeExecutions('ax-none'), []);
      assert.deepEqual((await store.getExecution('ax-running'))?.output, ['written while running']);
      assert.deepEqual(
        (await store.activeExecutionsOf(['ax-job'])).map((e) => e.output),
        [[], []],
      );
    });

    it('deleteExecutionsBefore deletes finished runs created before the date, never queued or running ones', async () => {
      // Era 0: no other test has runs this old.
      const old = executionStatuses.map((status, i) => execution(`de-${status}`, 0, i, { job_id: 'de-job', status }));
      const boundary = execution('de-boundary', 0, 10, { job_id: 'de-job', status: 'succeeded' });
      const later = execution('de-later', 0, 11, { job_id: 'de-job', status: 'failed' });
      await store.insertExecutions([...old, boundary, later]);
      await insertJob(job('de-job', 0));
      const deleted = await store.deleteExecutionsBefore(at(0, 10));
      assert.equal(deleted, old.length - 2);
      // The job's counts lose the deleted runs.
      const { total, succeeded, failed, average_duration_ms } = (await store.getJobWithStats('de-job'))!.stats;
      assert.deepEqual({ total, succeeded, failed, average_duration_ms }, { total: 4, succeeded: 1, failed: 1, average_duration_ms: null });
      const left = (await allPages((a) => store.listExecutions({ job_id: 'de-job' }, a, 50), 50)).map((e) => e.id).sort();
      assert.deepEqual(left, ['de-boundary', 'de-later', 'de-queued', 'de-running']);
      assert.equal(await store.deleteExecutionsBefore(at(0, 10)), 0);
      assert.ok(await store.getExecution('bx-000'), 'newer runs stay');
    });

    it('requestCancel is true only for running runs; cancelRequested lists them for that worker only', async () => {
      await store.insertExecutions([
        execution('cr-run1', 5, 0, { status: 'running', worker_id: 'cr-w1' }),
        execution('cr-run2', 5, 1, { status: 'running', worker_id: 'cr-w1' }),
        execution('cr-run3', 5, 2, { status: 'running', worker_id: 'cr-w2' }),
        execution('cr-queued', 5, 3, { status: 'queued', worker_id: null }),
        execution('cr-done', 5, 4, { status: 'succeeded', worker_id: 'cr-w1' }),
      ]);
      assert.deepEqual(await store.cancelRequested('cr-w1'), []);
      assert.equal(await store.requestCancel('cr-run1', at(5, 10)), true);
      assert.equal(await store.requestCancel('cr-run3', at(5, 11)), true);
      assert.equal(await store.requestCancel('cr-queued', at(5, 12)), false);
      assert.equal(await store.requestCancel('cr-done', at(5, 13)), false);
      assert.equal(await store.requestCancel('cr-none', at(5, 14)), false);
      assert.deepEqual((await store.getExecution('cr-run1'))?.cancel_requested_at, at(5, 10));
      assert.equal((await store.getExecution('cr-queued'))?.cancel_requested_at, null);
      assert.equal((await store.getExecution('cr-done'))?.cancel_requested_at, null);
      assert.deepEqual(await store.cancelRequested('cr-w1'), ['cr-run1']);
      assert.deepEqual(await store.cancelRequested('cr-w2'), ['cr-run3']);
      assert.deepEqual(await store.cancelRequested('cr-w3'), []);
      // Once the run has ended, its request is no longer pending.
      assert.equal(await store.transitionExecution('cr-run1', 'running', { status: 'cancelled', finished_at: at(5, 20) }), true);
      assert.deepEqual(await store.cancelRequested('cr-w1'), []);
    });

    it('runningOnGoneWorkers returns the running runs of gone workers only', async () => {
      await store.registerWorker(worker('rg-gone', 6, 0));
      await store.registerWorker(worker('rg-alive', 6, 1));
      await store.registerWorker(worker('rg-blocked', 6, 2, { state: 'blocked' }));
      assert.ok(await store.setWorkerState('rg-gone', 'gone'));
      const lost = execution('rg-run-gone', 6, 10, { status: 'running', worker_id: 'rg-gone' });
      await store.insertExecutions([
        lost,
        execution('rg-done-gone', 6, 11, { status: 'succeeded', worker_id: 'rg-gone' }),
        execution('rg-queued-gone', 6, 12, { status: 'queued', worker_id: 'rg-gone' }),
        execution('rg-run-alive', 6, 13, { status: 'running', worker_id: 'rg-alive' }),
        execution('rg-run-blocked', 6, 14, { status: 'running', worker_id: 'rg-blocked' }),
        execution('rg-run-none', 6, 15, { status: 'running', worker_id: null }),
      ]);
      const found = await store.runningOnGoneWorkers();
      assert.deepEqual(
        found.filter((e) => e.id.startsWith('rg-')),
        [lost],
      );
      for (const e of found) {
        assert.equal(e.status, 'running');
        assert.equal((await store.getWorker(e.worker_id!))?.state, 'gone');
      }
      assert.equal(await store.transitionExecution('rg-run-gone', 'running', { status: 'lost', finished_at: at(6, 20) }), true);
      assert.ok(!(await store.runningOnGoneWorkers()).some((e) => e.id.startsWith('rg-')));
    });

    it('batchSummary counts by status, with submitted, started and finished times; null for an unknown batch', async () => {
      const runs = range(4).map((i) => execution(`bs-${i}`, 7, i, { job_id: 'bs-job', batch_id: 'bs-batch' }));
      await store.insertExecutions(runs);
      await store.insertExecution(execution('bs-elsewhere', 7, 0, { job_id: 'bs-job', batch_id: 'bs-other', status: 'running', started_at: at(7, 1) }));
      assert.deepEqual(await store.batchSummary('bs-batch'), {
        batch_id: 'bs-batch',
        job_id: 'bs-job',
        total: 4,
        counts: { queued: 4 },
        submitted_at: at(7, 0),
        started_at: null,
        finished_at: null,
      });
      await store.transitionExecution('bs-2', 'queued', { status: 'running', started_at: at(7, 20) });
      await store.transitionExecution('bs-1', 'queued', { status: 'running', started_at: at(7, 21) });
      await store.transitionExecution('bs-1', 'running', { status: 'succeeded', finished_at: at(7, 40) });
      await store.transitionExecution('bs-3', 'queued', { status: 'cancelled', finished_at: at(7, 22) });
      assert.deepEqual(await store.batchSummary('bs-batch'), {
        batch_id: 'bs-batch',
        job_id: 'bs-job',
        total: 4,
        counts: { queued: 1, running: 1, succeeded: 1, cancelled: 1 },
        submitted_at: at(7, 0),
        started_at: at(7, 20),
        finished_at: null,
      });
      await store.transitionExecution('bs-0', 'queued', { status: 'running', started_at: at(7, 30) });
      await store.transitionExecution('bs-0', 'running', { status: 'failed', finished_at: at(7, 35) });
      await store.transitionExecution('bs-2', 'running', { status: 'timed_out', finished_at: at(7, 50) });
      assert.deepEqual(await store.batchSummary('bs-batch'), {
        batch_id: 'bs-batch',
        job_id: 'bs-job',
        total: 4,
        counts: { succeeded: 1, cancelled: 1, failed: 1, timed_out: 1 },
        submitted_at: at(7, 0),
        started_at: at(7, 20),
        finished_at: at(7, 50),
      });
      assert.equal(await store.batchSummary('bs-none'), null);
    });

    it('getJobWithStats: the job, totals, failed = failed + timed_out + lost, average of succeeded durations, latest run', async () => {
      assert.equal(await store.getJobWithStats('js-job'), null);
      const theJob = job('js-job', 8);
      await insertJob(theJob);
      assert.deepEqual(await store.getJobWithStats('js-job'), {
        job: theJob,
        stats: { total: 0, succeeded: 0, failed: 0, average_duration_ms: null, latest: null },
      });
      const runs = [
        execution('js-1', 8, 0, { job_id: 'js-job', status: 'succeeded', duration_ms: 100 }),
        execution('js-2', 8, 1, { job_id: 'js-job', status: 'succeeded', duration_ms: 200 }),
        execution('js-3', 8, 2, { job_id: 'js-job', status: 'succeeded', duration_ms: 600 }),
        execution('js-4', 8, 3, { job_id: 'js-job', status: 'failed', duration_ms: 50_000 }),
        execution('js-5', 8, 4, { job_id: 'js-job', status: 'timed_out', duration_ms: 90_000 }),
        execution('js-6', 8, 5, { job_id: 'js-job', status: 'lost', duration_ms: null }),
        execution('js-7', 8, 6, { job_id: 'js-job', status: 'cancelled', duration_ms: 7 }),
        execution('js-8', 8, 7, { job_id: 'js-job', status: 'missed' }),
        // Two newest with the same created_at: the latest is the one with the greater id.
        execution('js-9b', 8, 8, { job_id: 'js-job', status: 'running', output: ['line 1', 'line 2'] }),
        execution('js-9a', 8, 8, { job_id: 'js-job', status: 'queued' }),
        execution('js-other', 8, 9, { job_id: 'js-other', status: 'succeeded', duration_ms: 1 }),
      ];
      await store.insertExecutions(shuffled(runs, 6));
      assert.deepEqual(await store.getJobWithStats('js-job'), {
        job: theJob,
        // The newest run comes without its output, as in a list of runs.
        stats: { total: 10, succeeded: 3, failed: 3, average_duration_ms: 300, latest: { ...runs[8], output: [] } },
      });
      // The counts follow each later write: a run's end, and an ended run's status changed.
      assert.equal(await store.transitionExecution('js-9b', 'running', { status: 'succeeded', finished_at: at(8, 20), duration_ms: 500 }), true);
      await store.updateExecution('js-8', { status: 'failed', duration_ms: 10 });
      const { latest, ...counts } = (await store.getJobWithStats('js-job'))!.stats;
      assert.deepEqual(counts, { total: 10, succeeded: 4, failed: 4, average_duration_ms: 350 });
      assert.equal(latest?.id, 'js-9b');
      // Many at once (read together on SQL): one answer per read, an id asked twice answered
      // twice, an unknown one null; each the same as a read of its own.
      const other = job('js-other', 8);
      await insertJob(other);
      const ids = ['js-other', 'js-none', 'js-job', 'js-other'];
      const many = await Promise.all(ids.map((id) => store.getJobWithStats(id)));
      assert.deepEqual(
        many.map((m) => m && [m.job.job_id, m.stats.total]),
        [['js-other', 1], null, ['js-job', 10], ['js-other', 1]],
      );
      for (const [i, id] of ids.entries()) assert.deepEqual(many[i], await store.getJobWithStats(id), id);
    });
  });
}

/** queuedCount, and workerCounts against stats. */
export function queuedCountContract(open: () => Store): void {
  describe('queued and worker counts', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('queuedCount counts the queued runs only; workerCounts equals the workers of stats', async () => {
      const before = await store.queuedCount();
      const statuses: ExecutionStatus[] = ['queued', 'queued', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
      await store.insertExecutions(statuses.map((status, i) => execution(`qc-${i}`, 12, i, { status })));
      assert.equal(await store.queuedCount(), before + 3);
      assert.equal(await store.transitionExecution('qc-0', 'queued', { status: 'running', started_at: at(12, 30) }), true);
      assert.equal(await store.queuedCount(), before + 2);
      await store.registerWorker(worker('qc-w1', 12, 0, { state: 'blocked' }));
      const counts = await store.workerCounts();
      assert.deepEqual(counts, (await store.stats()).workers);
      for (const n of Object.values(counts)) assert.ok(Number.isInteger(n) && n! > 0);
      assert.ok((counts.blocked ?? 0) >= 1);
    });
  });
}
