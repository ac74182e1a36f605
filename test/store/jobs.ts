/** The store conformance suite: JobStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { JobRecord, Page, Store } from '../../src/store/types.js';
import { at, pad, range, shuffled, compareText, job, fullJob, sparseJob, allPages, assertNoRepeats } from './fixtures.js';

/** JobStore: every method, with every field of a job. */
export function jobStoreContract(open: () => Store): void {
  describe('jobs', () => {
    let store: Store;
    /** One job through insertJobs: true when it was inserted. */
    const insertJob = async (j: JobRecord) => (await store.insertJobs([j])).length === 1;
    before(() => {
      store = open();
    });

    it('insertJob: true, then false for the same id without changing anything', async () => {
      const first = job('ij-one', 1);
      assert.equal(await insertJob(first), true);
      assert.equal(await insertJob(fullJob('ij-one', 2)), false);
      assert.deepEqual(await store.getJob('ij-one'), first);
    });

    it('insertJobs: the ids inserted in order; taken ids and later duplicates left out, unchanged', async () => {
      const taken = job('ib-taken', 1);
      assert.deepEqual(await store.insertJobs([taken]), ['ib-taken']);
      const batch = [job('ib-b', 2), fullJob('ib-taken', 2), sparseJob('ib-a', 2), fullJob('ib-b', 3), job('ib-c', 2)];
      assert.deepEqual(await store.insertJobs(batch), ['ib-b', 'ib-a', 'ib-c']);
      assert.deepEqual(await store.getJob('ib-taken'), taken);
      assert.deepEqual(await store.getJob('ib-b'), batch[0]);
      assert.deepEqual(await store.getJob('ib-a'), batch[2]);
      assert.deepEqual(await store.insertJobs([]), []);
      assert.deepEqual(await store.insertJobs([job('ib-c', 4), job('ib-b', 4)]), []);
    });

    it('getJob round-trips every field; null for an unknown id', async () => {
      const full = fullJob('rt-full', 1);
      const sparse = sparseJob('rt-sparse', 1);
      assert.equal(await insertJob(full), true);
      assert.equal(await insertJob(sparse), true);
      assert.deepEqual(await store.getJob('rt-full'), full);
      assert.deepEqual(await store.getJob('rt-sparse'), sparse);
      assert.equal(await store.getJob('rt-none'), null);
    });

    it('getJobs returns the jobs of the ids that exist; updateJobs patches each job with its own fields', async () => {
      const jobs = range(5).map((i) => (i % 2 ? fullJob : job)(`nj-${i}`, 1));
      for (const j of jobs) assert.equal(await insertJob(j), true);
      assert.deepEqual(await store.getJobs([]), []);
      const got = await store.getJobs(['nj-3', 'nj-none', 'nj-0', 'nj-4']);
      assert.deepEqual(
        got.sort((a, b) => compareText(a.job_id, b.job_id)),
        [jobs[0], jobs[3], jobs[4]],
      );

      await store.updateJobs([]);
      await store.updateJobs([
        { job_id: 'nj-0', patch: { next_run_at: null, last_run_at: at(2, 1), last_status: 'running', updated_at: at(2, 1) } },
        { job_id: 'nj-1', patch: { next_run_at: at(3), updated_at: at(2, 2) } },
        { job_id: 'nj-2', patch: { last_status: 'missed', kwargs: { deep: { list: [1, 'two'] } }, updated_at: at(2, 3) } },
        { job_id: 'nj-none', patch: { last_status: 'failed' } },
      ]);
      assert.deepEqual(await store.getJob('nj-0'), { ...jobs[0], next_run_at: null, last_run_at: at(2, 1), last_status: 'running', updated_at: at(2, 1) });
      assert.deepEqual(await store.getJob('nj-1'), { ...jobs[1], next_run_at: at(3), updated_at: at(2, 2) });
      assert.deepEqual(await store.getJob('nj-2'), { ...jobs[2], last_status: 'missed', kwargs: { deep: { list: [1, 'two'] } }, updated_at: at(2, 3) });
      assert.deepEqual(await store.getJob('nj-3'), jobs[3], 'a job not in the batch is untouched');
      assert.equal(await store.getJob('nj-none'), null, 'an unknown id creates nothing');
    });

    it('upsertJobs inserts and replaces many jobs (more than one chunk), keeping history fields', async () => {
      await store.upsertJobs([]);
      const first = range(620).map((i) => (i % 3 ? job : fullJob)(`nu-${pad(i, 3)}`, 1));
      await store.upsertJobs(first);
      await store.updateJobs([{ job_id: 'nu-007', patch: { last_run_at: at(4), last_status: 'succeeded', updated_at: at(4) } }]);
      const second = first.map((j) => ({ ...j, kwargs: { v: 2 }, retries: 3, created_at: at(9), last_run_at: null, last_status: null, updated_at: at(9) }));
      await store.upsertJobs(second);
      const got = new Map((await store.getJobs(first.map((j) => j.job_id))).map((j) => [j.job_id, j]));
      assert.equal(got.size, 620);
      for (const i of [0, 1, 7, 499, 500, 619]) {
        const expected = { ...second[i], created_at: first[i].created_at, last_run_at: first[i].last_run_at, last_status: first[i].last_status };
        if (i === 7) Object.assign(expected, { last_run_at: at(4), last_status: 'succeeded' });
        assert.deepEqual(got.get(first[i].job_id), expected);
      }
    });

    it('upsertJob inserts, then replaces the definition keeping created_at, last_run_at and last_status', async () => {
      const fresh = fullJob('up-new', 1);
      assert.deepEqual(await store.upsertJob(fresh), fresh);
      assert.deepEqual(await store.getJob('up-new'), fresh);

      const old = job('up-old', 1, { last_run_at: at(1, 5), last_status: 'failed', source: 'file', source_file: '/old.yaml' });
      assert.equal(await insertJob(old), true);
      const redefined = job('up-old', 2, {
        handler: 'other',
        kwargs: { changed: [1, { two: 2 }] },
        state: 'paused',
        periodically: null,
        interval_seconds: null,
        cron: '0 3 * * *',
        timezone: 'UTC',
        when: null,
        misfire_grace_time: null,
        timeout: null,
        concurrency_policy: 'allow',
        retries: 1,
        retry_backoff: 5,
        next_run_at: at(2, 30),
        last_run_at: null,
        last_status: null,
        source: 'file',
        source_file: '/new.yaml',
        created_at: at(2, 0),
        updated_at: at(2, 1),
      });
      const expected = { ...redefined, created_at: old.created_at, last_run_at: old.last_run_at, last_status: old.last_status };
      assert.deepEqual(await store.upsertJob(redefined), expected);
      assert.deepEqual(await store.getJob('up-old'), expected);
    });

    it('an upsert keeps the stored next fire of a job whose schedule stays, and writes its own when the schedule changes', async () => {
      const one = job('uk-one', 1);
      const many = job('uk-many', 1);
      await store.upsertJob(one);
      await store.upsertJobs([many]);
      // A fire moved the next fire on after the caller read the jobs.
      const fired = at(1, 50);
      await store.updateJobs([
        { job_id: 'uk-one', patch: { next_run_at: fired } },
        { job_id: 'uk-many', patch: { next_run_at: fired } },
      ]);
      const next = async (id: string) => (await store.getJob(id))!.next_run_at?.getTime();
      assert.equal((await store.upsertJob({ ...one, kwargs: { v: 2 }, version: 2 })).next_run_at?.getTime(), fired.getTime());
      await store.upsertJobs([{ ...many, kwargs: { v: 2 }, version: 2 }]);
      assert.equal(await next('uk-many'), fired.getTime());
      assert.deepEqual((await store.getJob('uk-many'))!.kwargs, { v: 2 }, 'the rest of the definition is written');

      // Another interval, a cron instead, a start_at where there was none: the job's own next fire.
      const every3 = { ...one, periodically: '3 days', interval_seconds: 259_200, version: 3, next_run_at: at(1, 60) };
      assert.equal((await store.upsertJob(every3)).next_run_at?.getTime(), at(1, 60).getTime());
      await store.upsertJobs([{ ...many, periodically: null, interval_seconds: null, cron: '0 3 * * *', timezone: 'UTC', version: 3, next_run_at: at(1, 70) }]);
      assert.equal(await next('uk-many'), at(1, 70).getTime());
      assert.equal((await store.upsertJob({ ...every3, start_at: at(1, 3), version: 4, next_run_at: at(1, 80) })).next_run_at?.getTime(), at(1, 80).getTime());
    });

    it('updateJob patches only the given fields and bumps updated_at; null for an unknown id', async () => {
      const original = job('ud-one', 1);
      await insertJob(original);
      const t0 = Date.now();
      const patched = await store.updateJob('ud-one', { state: 'paused', kwargs: { only: { this: [1, 2] } }, next_run_at: null, last_status: 'succeeded' });
      const t1 = Date.now();
      assert.ok(patched);
      assert.ok(patched.updated_at.getTime() >= t0 && patched.updated_at.getTime() <= t1, `updated_at bumped to now, got ${patched.updated_at.toISOString()}`);
      const expected = {
        ...original,
        state: 'paused' as const,
        kwargs: { only: { this: [1, 2] } },
        next_run_at: null,
        last_status: 'succeeded' as const,
        updated_at: patched.updated_at,
      };
      assert.deepEqual(patched, expected);
      assert.deepEqual(await store.getJob('ud-one'), expected);

      // A given updated_at is kept; `when` and dates patch too.
      const again = await store.updateJob('ud-one', { when: at(1, 40), last_run_at: at(1, 41), updated_at: at(1, 42) });
      const expected2 = { ...expected, when: at(1, 40), last_run_at: at(1, 41), updated_at: at(1, 42) };
      assert.deepEqual(again, expected2);
      assert.deepEqual(await store.getJob('ud-one'), expected2);

      assert.equal(await store.updateJob('ud-none', { state: 'paused' }), null);
      assert.equal(await store.getJob('ud-none'), null);
    });

    it('deleteJob: true, then false', async () => {
      await insertJob(job('dl-one', 1));
      assert.equal(await store.deleteJob('dl-one'), true);
      assert.equal(await store.getJob('dl-one'), null);
      assert.equal(await store.deleteJob('dl-one'), false);
      assert.equal(await store.deleteJob('dl-never'), false);
    });

    it('listJobs pages in job_id order: complete, no repeats, keyset across inserts', async () => {
      const ids = range(25).map((i) => `lj-${pad(i)}`);
      for (const id of shuffled(ids, 1)) assert.equal(await insertJob(job(id, 1)), true);

      const limit = 7;
      const first = await store.listJobs(null, limit);
      assert.equal(first.items.length, limit);
      assert.ok(first.next);
      const seen = [...first.items];
      const lastOfFirst = first.items[limit - 1].job_id;
      // One id sorts before the cursor (not shown any more), one after it (shown).
      const early = 'lj-00a';
      const late = 'lj-20a';
      assert.ok(early < lastOfFirst && late > lastOfFirst, `cursor ${lastOfFirst}`);
      await insertJob(job(early, 1));
      await insertJob(job(late, 1));
      let cursor: string | null = first.next;
      while (cursor !== null) {
        const page: Page<JobRecord> = await store.listJobs(cursor, limit);
        assert.ok(page.items.length <= limit);
        seen.push(...page.items);
        cursor = page.next;
      }
      const seenIds = seen.map((j) => j.job_id);
      assertNoRepeats(seenIds, 'listJobs');
      assert.deepEqual(seenIds, [...seenIds].sort(compareText), 'pages in job_id order');
      const mine = seenIds.filter((id) => id.startsWith('lj-'));
      assert.deepEqual(mine, [...ids, late].sort(compareText), 'complete; the id inserted before the cursor is not shown, the one after is');
      assert.deepEqual(
        seen.find((j) => j.job_id === 'lj-13'),
        job('lj-13', 1),
        'listed records are whole',
      );

      // A fresh listing sees everything, and the pages join up exactly.
      const everything = await allPages((a) => store.listJobs(a, limit), limit);
      const everyId = everything.map((j) => j.job_id);
      assertNoRepeats(everyId, 'listJobs');
      assert.deepEqual(everyId, [...everyId].sort(compareText));
      assert.deepEqual(
        everyId.filter((id) => id.startsWith('lj-')),
        [...ids, early, late].sort(compareText),
      );
      assert.equal(everything.length, (await store.stats()).jobs);
      const whole = await store.listJobs(null, 1000);
      assert.deepEqual(
        whole.items.map((j) => j.job_id),
        everyId,
      );
      assert.equal(whole.next, null);
    });

    it('listJobs orders job ids by code point whatever their case and punctuation, whatever the collation of the database', async () => {
      const ids = ['zc-a1', 'zc-A2', 'zc-a-3', 'zc-a.0', 'zc-B1', 'zc-b0', 'zc-a:9', 'zc-a@1', 'zc-a_2', 'zc-Z9', 'zc-z'];
      try {
        for (const id of shuffled(ids, 2)) await insertJob(job(id, 1));
        const listed = (await allPages((a) => store.listJobs(a, 3), 3)).map((j) => j.job_id).filter((id) => id.startsWith('zc-'));
        assert.deepEqual(listed, [...ids].sort(compareText));
      } finally {
        for (const id of ids) await store.deleteJob(id);
      }
    });

    it('listJobsFromFiles returns the job_id and source_file of file jobs only', async () => {
      await insertJob(job('fi-a', 1, { source: 'file', source_file: '/defaults/a.yaml' }));
      await insertJob(job('fi-b', 1, { source: 'file', source_file: null }));
      await insertJob(job('fi-c', 1, { source: 'api', source_file: '/defaults/c.yaml' }));
      const listed = (await store.listJobsFromFiles()).sort((a, b) => compareText(a.job_id, b.job_id));
      // Every file job of the database: fi-a, fi-b and the ones earlier tests left.
      const expected = (await allPages((a) => store.listJobs(a, 50), 50)).filter((j) => j.source === 'file').map((j) => ({ job_id: j.job_id, source_file: j.source_file }));
      assert.deepEqual(listed, expected);
      assert.ok(listed.some((j) => j.job_id === 'fi-a' && j.source_file === '/defaults/a.yaml'));
      assert.ok(listed.some((j) => j.job_id === 'fi-b' && j.source_file === null));
      assert.ok(!listed.some((j) => j.job_id === 'fi-c'));
    });
  });
}
