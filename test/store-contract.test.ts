/**
 * The store conformance suite: every method of the `Store` interface (src/store/types.ts),
 * tested directly against each store in `stores`, as its doc comment promises. Written once;
 * a store added to test/helpers.ts runs it too.
 *
 * One database per store, shared by the tests of that store, which run in order. So that
 * they do not see each other's records, every test uses ids of its own (job ids are two
 * letters, a hyphen, then letters and digits: their order is the same under any collation)
 * and times of its own: `at(era, i)` is a fixed, distinct millisecond time, and only the
 * tests that delete or mark by time ("before", "older than") use era 0, the earliest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { openStore } from '../src/service/backend.js';
import { CursorError, encodeCursor } from '../src/store/cursor.js';
import {
  executionStatuses,
  type AuditFilter,
  type AuditRecord,
  type ExecutionEnd,
  type ExecutionFilter,
  type ExecutionRecord,
  type ExecutionStatus,
  type FailureRecord,
  type JobRecord,
  type Page,
  type Store,
  type WorkerRecord,
} from '../src/store/types.js';
import { noticeSkippedStores, sleep, stores, testDatabase, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const BASE = Date.UTC(2001, 0, 1);
const DAY = 86_400_000;
/** A fixed time: day `era` after 2001-01-01, plus `i` seconds. */
const at = (era: number, i = 0) => new Date(BASE + era * DAY + i * 1000);
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Code-unit order, the order the contract means by "job_id order" and id tie-breaks. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Newest first by (created_at, id). */
const newestFirst = (a: ExecutionRecord, b: ExecutionRecord) => b.created_at.getTime() - a.created_at.getTime() || compareText(b.id, a.id);

const kwargsOf = (tag: string) => ({
  tag,
  count: 3,
  ratio: 0.25,
  negative: -42,
  large: 2 ** 40,
  flag: true,
  nothing: null,
  text: 'ünïcödé ✓ "quoted" \\ back, {braces} [brackets]',
  nested: { list: [1, 'two', { three: 3, deeper: [null, false, []] }], empty: {}, emptyList: [] as unknown[] },
});

// Factories: full records with every field, the nullable ones set unless asked otherwise.

function job(jobId: string, era: number, over: Partial<JobRecord> = {}): JobRecord {
  return {
    job_id: jobId,
    handler: 'echo',
    kwargs: kwargsOf(jobId),
    state: 'running',
    periodically: '2 days',
    interval_seconds: 172_800,
    cron: null,
    timezone: null,
    when: at(era, 1),
    misfire_grace_time: 30,
    timeout: 600,
    concurrency_policy: 'forbid',
    retries: 2,
    retry_backoff: 15,
    next_run_at: at(era, 2),
    last_run_at: null,
    last_status: null,
    source: 'api',
    source_file: null,
    created_at: at(era, 0),
    updated_at: at(era, 0),
    ...over,
  };
}

function fullJob(jobId: string, era: number): JobRecord {
  return job(jobId, era, {
    handler: 'flow-scheduling',
    state: 'paused',
    periodically: null,
    interval_seconds: null,
    cron: '*/5 9-17 * * MON-FRI',
    timezone: 'Europe/Madrid',
    when: at(era, 3),
    misfire_grace_time: 3600,
    timeout: 7200,
    concurrency_policy: 'replace',
    retries: 5,
    retry_backoff: 120,
    next_run_at: at(era, 4),
    last_run_at: at(era, 5),
    last_status: 'timed_out',
    source: 'file',
    source_file: '/etc/jobs/default-jobs/full.yaml',
    created_at: new Date(at(era, 6).getTime() + 123),
    updated_at: new Date(at(era, 7).getTime() + 999),
  });
}

/** A job with every nullable field null and empty kwargs. */
function sparseJob(jobId: string, era: number): JobRecord {
  return job(jobId, era, {
    kwargs: {},
    periodically: null,
    interval_seconds: null,
    cron: null,
    timezone: null,
    when: null,
    misfire_grace_time: null,
    timeout: null,
    concurrency_policy: null,
    retries: 0,
    retry_backoff: 0,
    next_run_at: null,
    last_run_at: null,
    last_status: null,
    source_file: null,
  });
}

function execution(id: string, era: number, i: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id,
    job_id: 'xx-job',
    handler: 'echo',
    kwargs: kwargsOf(id),
    status: 'queued',
    trigger: 'manual',
    parent_id: null,
    batch_id: null,
    selection: null,
    attempt: 1,
    timeout: 60,
    worker_id: null,
    cancel_requested_at: null,
    scheduled_at: at(era, i),
    started_at: null,
    finished_at: null,
    duration_ms: null,
    progress: null,
    error: null,
    stack: null,
    output: [],
    output_truncated: false,
    created_at: at(era, i),
    ...over,
  };
}

/** A finished run with every field set. */
function fullExecution(id: string, era: number, i: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return execution(id, era, i, {
    job_id: 'rx-job',
    handler: 'flow-scheduling',
    status: 'failed',
    trigger: 'flow',
    parent_id: 'rx-parent',
    batch_id: 'rx-batch',
    selection: { task_names: ['extract', 'load'], run_subsequent: true },
    attempt: 3,
    timeout: 900,
    worker_id: 'rx-worker',
    cancel_requested_at: new Date(at(era, i + 4).getTime() + 7),
    scheduled_at: new Date(at(era, i).getTime() + 1),
    started_at: new Date(at(era, i + 1).getTime() + 2),
    finished_at: new Date(at(era, i + 5).getTime() + 3),
    duration_ms: 4001,
    progress: 42.5,
    error: 'ValueError: bad input',
    stack: 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad input',
    output: ['first line', 'a,b', '{x}', '"q"', 'NULL', 'back\\slash', '', 'ünïcödé ✓'],
    output_truncated: true,
    created_at: new Date(at(era, i).getTime() + 5),
    ...over,
  });
}

function failure(id: string, era: number, i: number, over: Partial<FailureRecord> = {}): FailureRecord {
  return {
    id,
    failed_job_id: 'nf-job',
    execution_id: `${id}-run`,
    handler: 'echo',
    kwargs: kwargsOf(id),
    error: `RuntimeError: ${id} failed`,
    traceback: `Traceback:\n  ${id}\nRuntimeError`,
    time: at(era, i),
    ...over,
  };
}

function worker(id: string, era: number, i: number, over: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id,
    name: `host-${id}:1234`,
    host: `host-${id}`,
    pid: 1234 + i,
    version: '0.1.0',
    started_at: at(era, i),
    heartbeat_at: at(era, i + 1),
    handlers: ['echo', 'flow-scheduling', 'run-script'],
    running: 2,
    cpu_load: 0.37,
    memory: { process_rss: 123_456_789, system_total: 16_000_000_000, system_free: 8_000_000_000 },
    state: 'active',
    ...over,
  };
}

function audit(id: string, era: number, i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id,
    time: at(era, i),
    request_id: `req-${id}`,
    token_name: 'ops-admin',
    operation: 'createJob',
    method: 'POST',
    path: '/api/v1/jobs',
    job_id: `job-${id}`,
    execution_id: `run-${id}`,
    worker_id: `worker-${id}`,
    batch_id: `batch-${id}`,
    status: 201,
    outcome: 'success',
    ...over,
  };
}

/** Every page of a list, checking what any page must be. */
async function allPages<T>(fetch: (after: string | null) => Promise<Page<T>>, limit: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 10_000, 'paging ends');
    const page: Page<T> = await fetch(cursor);
    assert.ok(page.items.length <= limit, `a page holds at most ${limit} items, got ${page.items.length}`);
    if (page.next !== null) assert.ok(page.items.length > 0, 'a page that says more may follow is not empty');
    items.push(...page.items);
    if (page.next === null) return items;
    cursor = page.next;
  }
}

function assertNoRepeats(ids: string[], what: string) {
  assert.equal(new Set(ids).size, ids.length, `${what}: an item came twice`);
}

/** Calls `fn` as a promise even if it throws synchronously. */
const settle = <T>(fn: () => Promise<T>): Promise<T> => Promise.resolve().then(fn);

/** A cursor the store cannot have issued: it throws CursorError. */
async function rejectsCursor(fn: () => Promise<unknown>, what: string) {
  await assert.rejects(settle(fn), (err: unknown) => {
    assert.ok(err instanceof CursorError, `${what}: expected a CursorError, got ${String(err)}`);
    return true;
  });
}

/** A well-formed key no record of the store can have: a page, or CursorError, never a database error. */
async function pageOrCursorError(fn: () => Promise<Page<unknown>>, what: string) {
  try {
    const page = await settle(fn);
    assert.ok(Array.isArray(page.items), what);
  } catch (err) {
    assert.ok(err instanceof CursorError, `${what}: expected a page or a CursorError, got ${String(err)}`);
  }
}

const matches = (f: ExecutionFilter) => (e: ExecutionRecord) =>
  (f.job_id === undefined || e.job_id === f.job_id) &&
  (f.status === undefined || e.status === f.status) &&
  (f.handler === undefined || e.handler === f.handler) &&
  (f.parent_id === undefined || e.parent_id === f.parent_id) &&
  (f.batch_id === undefined || e.batch_id === f.batch_id) &&
  (f.since === undefined || e.created_at.getTime() >= f.since.getTime()) &&
  (f.until === undefined || e.created_at.getTime() < f.until.getTime());

/** Counts without zero entries, as the store reports them. */
const countsOf = (statuses: string[]) => {
  const counts: Record<string, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};

for (const { name, skip } of stores) {
  describe(`store contract on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let store: Store;
    let started = 0;
    /** One job through insertJobs: true when it was inserted. */
    const insertJob = async (j: JobRecord) => (await store.insertJobs([j])).length === 1;

    before(async () => {
      started = Date.now();
      db = await testDatabase(name);
      ({ store } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' })));
      await store.bootLock(() => store.migrate());
    });

    after(async () => {
      await store?.close();
      await db?.drop();
      console.log(`# store contract on ${name}: ${Date.now() - started} ms`);
    });

    describe('boot and service state', () => {
      it('starts empty: no records, service state running', async () => {
        assert.deepEqual(await store.stats(), { workers: {}, jobs: 0, executions: {} });
        assert.equal(await store.getServiceState(), 'running');
        assert.deepEqual(await store.listJobs(null, 10), { items: [], next: null });
        assert.deepEqual(await store.listExecutions({}, null, 10), { items: [], next: null });
        assert.deepEqual(await store.listFailures(null, 10), { items: [], next: null });
        assert.deepEqual(await store.listWorkers(null, 10), { items: [], next: null });
        assert.deepEqual(await store.listAudit({}, null, 10), { items: [], next: null });
        assert.equal(await store.queuedCount(), 0);
        assert.deepEqual(await store.workerCounts(), {});
      });

      it('migrate again is harmless: records stay', async () => {
        const j = job('bt-keep', 1);
        assert.equal(await insertJob(j), true);
        await store.migrate();
        await store.bootLock(() => store.migrate());
        assert.deepEqual(await store.getJob('bt-keep'), j);
        assert.equal(await store.deleteJob('bt-keep'), true);
      });

      it('ping answers', async () => {
        await store.ping(5000);
      });

      it('bootLock runs its function and returns its value; an error is passed on and the lock released', async () => {
        assert.equal(await store.bootLock(async () => 'value'), 'value');
        assert.deepEqual(await store.bootLock(async () => ({ n: 1 })), { n: 1 });
        await assert.rejects(
          store.bootLock(async () => {
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await store.bootLock(async () => 7), 7);
      });

      it('two concurrent bootLock calls do not overlap', async () => {
        const events: string[] = [];
        const body = (n: number) => async () => {
          events.push(`enter ${n}`);
          await sleep(60);
          await store.ping(5000);
          events.push(`exit ${n}`);
          return n;
        };
        const results = await Promise.all([store.bootLock(body(1)), store.bootLock(body(2)), store.bootLock(body(3))]);
        assert.deepEqual(results, [1, 2, 3]);
        assert.equal(events.length, 6);
        for (let i = 0; i < events.length; i += 2) {
          const n = events[i].split(' ')[1];
          assert.deepEqual([events[i], events[i + 1]], [`enter ${n}`, `exit ${n}`], `turns overlapped: ${events.join(', ')}`);
        }
      });

      it('setServiceState and getServiceState round-trip', async () => {
        await store.setServiceState('paused');
        assert.equal(await store.getServiceState(), 'paused');
        await store.setServiceState('paused');
        assert.equal(await store.getServiceState(), 'paused');
        await store.setServiceState('running');
        assert.equal(await store.getServiceState(), 'running');
      });
    });

    describe('jobs', () => {
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
        assert.deepEqual(got.sort((a, b) => compareText(a.job_id, b.job_id)), [jobs[0], jobs[3], jobs[4]]);

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

      it('updateJob patches only the given fields and bumps updated_at; null for an unknown id', async () => {
        const original = job('ud-one', 1);
        await insertJob(original);
        const t0 = Date.now();
        const patched = await store.updateJob('ud-one', { state: 'paused', kwargs: { only: { this: [1, 2] } }, next_run_at: null, last_status: 'succeeded' });
        const t1 = Date.now();
        assert.ok(patched);
        assert.ok(patched.updated_at.getTime() >= t0 && patched.updated_at.getTime() <= t1, `updated_at bumped to now, got ${patched.updated_at.toISOString()}`);
        const expected = { ...original, state: 'paused' as const, kwargs: { only: { this: [1, 2] } }, next_run_at: null, last_status: 'succeeded' as const, updated_at: patched.updated_at };
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
        assert.deepEqual(seen.find((j) => j.job_id === 'lj-13'), job('lj-13', 1), 'listed records are whole');

        // A fresh listing sees everything, and the pages join up exactly.
        const everything = await allPages((a) => store.listJobs(a, limit), limit);
        const everyId = everything.map((j) => j.job_id);
        assertNoRepeats(everyId, 'listJobs');
        assert.deepEqual(everyId, [...everyId].sort(compareText));
        assert.deepEqual(everyId.filter((id) => id.startsWith('lj-')), [...ids, early, late].sort(compareText));
        assert.equal(everything.length, (await store.stats()).jobs);
        const whole = await store.listJobs(null, 1000);
        assert.deepEqual(whole.items.map((j) => j.job_id), everyId);
        assert.equal(whole.next, null);
      });

      it(
        'listJobs orders job ids by code point whatever their case and punctuation, whatever the collation of the database',
        async () => {
          const ids = ['zc-a1', 'zc-A2', 'zc-a-3', 'zc-a.0', 'zc-B1', 'zc-b0', 'zc-a:9', 'zc-a@1', 'zc-a_2', 'zc-Z9', 'zc-z'];
          try {
            for (const id of shuffled(ids, 2)) await insertJob(job(id, 1));
            const listed = (await allPages((a) => store.listJobs(a, 3), 3)).map((j) => j.job_id).filter((id) => id.startsWith('zc-'));
            assert.deepEqual(listed, [...ids].sort(compareText));
          } finally {
            for (const id of ids) await store.deleteJob(id);
          }
        },
      );

      it('listJobsFromFiles returns the job_id and source_file of file jobs only', async () => {
        await insertJob(job('fi-a', 1, { source: 'file', source_file: '/defaults/a.yaml' }));
        await insertJob(job('fi-b', 1, { source: 'file', source_file: null }));
        await insertJob(job('fi-c', 1, { source: 'api', source_file: '/defaults/c.yaml' }));
        const listed = (await store.listJobsFromFiles()).sort((a, b) => compareText(a.job_id, b.job_id));
        // Every file job of the database: fi-a, fi-b and the ones earlier tests left.
        const expected = (await allPages((a) => store.listJobs(a, 50), 50))
          .filter((j) => j.source === 'file')
          .map((j) => ({ job_id: j.job_id, source_file: j.source_file }));
        assert.deepEqual(listed, expected);
        assert.ok(listed.some((j) => j.job_id === 'fi-a' && j.source_file === '/defaults/a.yaml'));
        assert.ok(listed.some((j) => j.job_id === 'fi-b' && j.source_file === null));
        assert.ok(!listed.some((j) => j.job_id === 'fi-c'));
      });
    });

    describe('executions', () => {
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
        assert.deepEqual(listed, [...runs].sort(newestFirst));
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
        assert.deepEqual(got.sort((a, b) => compareText(a.id, b.id)), [runs[0], runs[4]]);
        assert.deepEqual(await store.activeExecutionsOf([]), []);
        assert.deepEqual(
          (await store.activeExecutionsOf(['mx-a', 'mx-b', 'mx-none'])).map((e) => e.id).sort(),
          ['mx-q1', 'mx-q2', 'mx-r1'],
        );

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
        assert.deepEqual(got, [
          { job: jobs[0], active: [runs[1], runs[0]] },
          { job: jobs[1], active: [] },
        ]);
      });

      it('finishExecutions ends running runs only, with their last output and their jobs\' last status', async () => {
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
        assert.deepEqual(await store.finishExecutions([], 3), []);
        const ended = await store.finishExecutions(
          [
            end('fx-a', { status: 'failed', error: 'boom', stack: 'at x', progress: null, output: ['o3', 'o4'], job_id: 'nf-job' }),
            end('fx-c', { status: 'failed' }),
            end('fx-none'),
          ],
          3,
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
        assert.deepEqual(await store.finishExecutions([end('fx-b', { output: ['x'], job_id: null })], 3), ['fx-b']);
        const b = await store.getExecution('fx-b');
        assert.deepEqual([b?.status, b?.progress, b?.output, b?.output_truncated], ['succeeded', 100, ['x'], false]);
        assert.equal((await store.getJob('nf-job'))?.last_status, 'failed', 'job_id null leaves the job alone');
      });

      it('of 10 concurrent claims of one queued run exactly one wins', async () => {
        for (const n of range(5)) {
          const id = `cc-${n}`;
          await store.insertExecution(execution(id, 1, 40 + n));
          const claims = await Promise.all(
            range(10).map((w) => store.transitionExecution(id, 'queued', { status: 'running', started_at: at(1, 50 + w), worker_id: `cc-w${w}` })),
          );
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
        await store.appendOutput('ao-one', [], 5);
        assert.deepEqual(await output(), { output: [], truncated: false });
        await store.appendOutput('ao-one', ['l1', 'l2'], 5);
        assert.deepEqual(await output(), { output: ['l1', 'l2'], truncated: false });
        await store.appendOutput('ao-one', ['l3', 'a,b', '{"q"}'], 5);
        assert.deepEqual(await output(), { output: ['l1', 'l2', 'l3', 'a,b', '{"q"}'], truncated: false }, 'exactly maxLines: nothing dropped');
        await store.appendOutput('ao-one', ['l6', 'NULL'], 5);
        assert.deepEqual(await output(), { output: ['l3', 'a,b', '{"q"}', 'l6', 'NULL'], truncated: true });
        await store.appendOutput('ao-one', ['l8'], 5);
        assert.deepEqual(await output(), { output: ['a,b', '{"q"}', 'l6', 'NULL', 'l8'], truncated: true }, 'truncated stays set');

        await store.insertExecution(execution('ao-two', 1, 61, { status: 'running' }));
        await store.appendOutput('ao-two', range(8).map((i) => `m${i}`), 3);
        const two = await store.getExecution('ao-two');
        assert.deepEqual([two?.output, two?.output_truncated], [['m5', 'm6', 'm7'], true], 'one append longer than maxLines');

        await store.insertExecution(execution('ao-three', 1, 62, { status: 'running' }));
        await store.appendOutput('ao-three', ['only', '', 'back\\slash ✓'], 3);
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
          assertNoRepeats(got.map((e) => e.id), what);
          for (const e of got) assert.ok(matches(filter)(e), `${what}: ${e.id} does not match`);
          for (let i = 1; i < got.length; i++) assert.ok(newestFirst(got[i - 1], got[i]) < 0, `${what}: ${got[i - 1].id} before ${got[i].id}`);
          const expected = runs.filter(matches(filter)).sort(newestFirst);
          if (exact) assert.deepEqual(got, expected, what);
          else assert.deepEqual(got.filter((e) => mine.has(e.id)), expected, what);
          return got;
        }

        it('without a filter: every run, newest first by (created_at, id), ties broken by id', async () => {
          const got = await check({}, 50, false);
          assert.equal(got.length, Object.values((await store.stats()).executions).reduce((a, b) => a + (b ?? 0), 0));
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
          assert.ok(since.some((e) => e.created_at.getTime() === at(E, 4).getTime()), 'since is inclusive');
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

      it('activeExecutions returns the queued and running runs of that job only', async () => {
        const runs = executionStatuses.map((status, i) => execution(`ax-${status}`, 4, i, { job_id: 'ax-job', status }));
        await store.insertExecutions(runs);
        await store.insertExecution(execution('ax-other-queued', 4, 20, { job_id: 'ax-other', status: 'queued' }));
        await store.insertExecution(execution('ax-other-running', 4, 21, { job_id: 'ax-other', status: 'running' }));
        const active = (await store.activeExecutions('ax-job')).sort((a, b) => compareText(a.id, b.id));
        assert.deepEqual(active, runs.filter((r) => r.status === 'queued' || r.status === 'running').sort((a, b) => compareText(a.id, b.id)));
        assert.deepEqual(await store.activeExecutions('ax-none'), []);
      });

      it('deleteExecutionsBefore deletes finished runs created before the date, never queued or running ones', async () => {
        // Era 0: no other test has runs this old.
        const old = executionStatuses.map((status, i) => execution(`de-${status}`, 0, i, { job_id: 'de-job', status }));
        const boundary = execution('de-boundary', 0, 10, { job_id: 'de-job', status: 'succeeded' });
        const later = execution('de-later', 0, 11, { job_id: 'de-job', status: 'failed' });
        await store.insertExecutions([...old, boundary, later]);
        const deleted = await store.deleteExecutionsBefore(at(0, 10));
        assert.equal(deleted, old.length - 2);
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
        assert.deepEqual(found.filter((e) => e.id.startsWith('rg-')), [lost]);
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
          execution('js-9b', 8, 8, { job_id: 'js-job', status: 'running' }),
          execution('js-9a', 8, 8, { job_id: 'js-job', status: 'queued' }),
          execution('js-other', 8, 9, { job_id: 'js-other', status: 'succeeded', duration_ms: 1 }),
        ];
        await store.insertExecutions(shuffled(runs, 6));
        assert.deepEqual(await store.getJobWithStats('js-job'), {
          job: theJob,
          stats: { total: 10, succeeded: 3, failed: 3, average_duration_ms: 300, latest: runs[8] },
        });
      });
    });

    describe('failures', () => {
      const F = 1;
      // Two failures per time, so ties need the id.
      const idOrder = shuffled(range(15), 7);
      const failures = range(15).map((i) => failure(`fl-${pad(idOrder[i])}`, F, Math.floor(i / 2), i % 4 === 3 ? { failed_job_id: null, traceback: null, kwargs: {} } : {}));
      const newest = (a: FailureRecord, b: FailureRecord) => b.time.getTime() - a.time.getTime() || compareText(b.id, a.id);

      it('insertFailure, then listFailures newest first by (time, id), paged completely', async () => {
        for (const f of shuffled(failures, 8)) await store.insertFailure(f);
        const expected = [...failures].sort(newest);
        for (const limit of [1, 4, 15, 16]) {
          const got = await allPages((a) => store.listFailures(a, limit), limit);
          assertNoRepeats(got.map((f) => f.id), `listFailures by ${limit}`);
          for (let i = 1; i < got.length; i++) assert.ok(newest(got[i - 1], got[i]) < 0, `${got[i - 1].id} before ${got[i].id}`);
          assert.deepEqual(got.filter((f) => f.id.startsWith('fl-')), expected, `by ${limit}`);
        }
      });

      it('deleteFailuresBefore deletes the failures older than the date', async () => {
        // Era 0: no other test has failures this old.
        for (const i of range(5)) await store.insertFailure(failure(`fd-${i}`, 0, i));
        assert.equal(await store.deleteFailuresBefore(at(0, 3)), 3);
        const left = (await allPages((a) => store.listFailures(a, 50), 50)).map((f) => f.id);
        assert.ok(left.includes('fd-3') && left.includes('fd-4'));
        assert.ok(!left.some((id) => ['fd-0', 'fd-1', 'fd-2'].includes(id)));
        assert.equal(left.filter((id) => id.startsWith('fl-')).length, 15, 'newer failures stay');
        assert.equal(await store.deleteFailuresBefore(at(0, 3)), 0);
      });

      it('deleteFailures removes every failure and returns the removed ids', async () => {
        const before = (await allPages((a) => store.listFailures(a, 50), 50)).map((f) => f.id);
        assert.ok(before.length >= 17);
        const removed = await store.deleteFailures();
        assert.deepEqual([...removed].sort(), [...before].sort());
        assert.deepEqual(await store.listFailures(null, 10), { items: [], next: null });
        assert.deepEqual(await store.deleteFailures(), []);
      });
    });

    describe('workers', () => {
      it('registerWorker and getWorker round-trip every field; null for an unknown id', async () => {
        const w = worker('wr-one', 9, 0);
        await store.registerWorker(w);
        assert.deepEqual(await store.getWorker('wr-one'), w);
        const other = worker('wr-two', 9, 1, { handlers: [], running: 0, cpu_load: 0, state: 'blocked', memory: { process_rss: 0, system_total: 1, system_free: 0 } });
        await store.registerWorker(other);
        assert.deepEqual(await store.getWorker('wr-two'), other);
        assert.equal(await store.getWorker('wr-none'), null);
      });

      it('heartbeatWorker updates and returns the record; null for a gone worker, which stays gone', async () => {
        const w = worker('hb-one', 9, 10);
        await store.registerWorker(w);
        const beat = { heartbeat_at: at(9, 30), running: 7, cpu_load: 1.25, memory: { process_rss: 1, system_total: 2, system_free: 3 } };
        const updated = await store.heartbeatWorker('hb-one', beat);
        assert.deepEqual(updated, { ...w, ...beat });
        assert.deepEqual(await store.getWorker('hb-one'), { ...w, ...beat });

        await store.registerWorker(worker('hb-blocked', 9, 11, { state: 'blocked' }));
        assert.equal((await store.heartbeatWorker('hb-blocked', beat))?.state, 'blocked', 'a blocked worker beats and stays blocked');

        const gone = worker('hb-gone', 9, 12, { state: 'gone' });
        await store.registerWorker(gone);
        assert.equal(await store.heartbeatWorker('hb-gone', beat), null);
        assert.deepEqual(await store.getWorker('hb-gone'), gone, 'a heartbeat never revives a gone worker');
        assert.equal(await store.heartbeatWorker('hb-none', beat), null);
        assert.equal(await store.getWorker('hb-none'), null);
      });

      it('listWorkers newest first by started_at, paged completely', async () => {
        // Era 10 is later than every other worker's start: these come first.
        const idOrder = shuffled(range(12), 9);
        const workers = range(12).map((i) => worker(`lw-${pad(idOrder[i])}`, 10, Math.floor(i / 2)));
        for (const w of shuffled(workers, 10)) await store.registerWorker(w);
        const byStart = (a: WorkerRecord, b: WorkerRecord) => b.started_at.getTime() - a.started_at.getTime();
        for (const limit of [1, 5, 12, 100]) {
          const got = await allPages((a) => store.listWorkers(a, limit), limit);
          assertNoRepeats(got.map((w) => w.id), `listWorkers by ${limit}`);
          for (let i = 1; i < got.length; i++) assert.ok(byStart(got[i - 1], got[i]) <= 0, `${got[i - 1].id} before ${got[i].id}`);
          const mine = got.slice(0, 12);
          assert.deepEqual(mine.map((w) => w.id).sort(), workers.map((w) => w.id).sort(), `by ${limit}`);
          for (const w of mine) assert.deepEqual(w, workers.find((x) => x.id === w.id));
          assert.equal(got.length, Object.values((await store.stats()).workers).reduce((a, b) => a + (b ?? 0), 0));
        }
      });

      it('setWorkerState changes the state of a worker that is not gone', async () => {
        const w = worker('ws-one', 9, 20);
        await store.registerWorker(w);
        assert.deepEqual(await store.setWorkerState('ws-one', 'blocked'), { ...w, state: 'blocked' });
        assert.deepEqual(await store.getWorker('ws-one'), { ...w, state: 'blocked' });
        assert.deepEqual(await store.setWorkerState('ws-one', 'active'), w);
        assert.deepEqual(await store.setWorkerState('ws-one', 'gone'), { ...w, state: 'gone' });
        assert.equal(await store.setWorkerState('ws-one', 'active'), null);
        assert.equal((await store.getWorker('ws-one'))?.state, 'gone');
        assert.equal(await store.setWorkerState('ws-none', 'active'), null);
      });

      it('markWorkersGone marks only the workers silent since before the deadline and returns their ids', async () => {
        // Era 0: no other test has workers this silent.
        await store.registerWorker(worker('mg-silent1', 0, 0, { heartbeat_at: at(0, 1) }));
        await store.registerWorker(worker('mg-silent2', 0, 1, { heartbeat_at: at(0, 2), state: 'blocked' }));
        await store.registerWorker(worker('mg-already', 0, 2, { heartbeat_at: at(0, 3), state: 'gone' }));
        await store.registerWorker(worker('mg-boundary', 0, 3, { heartbeat_at: at(0, 5) }));
        await store.registerWorker(worker('mg-alive', 0, 4, { heartbeat_at: at(0, 6) }));
        assert.deepEqual((await store.markWorkersGone(at(0, 5), at(0, 6))).sort(), ['mg-silent1', 'mg-silent2']);
        assert.equal((await store.getWorker('mg-silent1'))?.state, 'gone');
        assert.equal((await store.getWorker('mg-silent2'))?.state, 'gone');
        assert.equal((await store.getWorker('mg-boundary'))?.state, 'active');
        assert.equal((await store.getWorker('mg-alive'))?.state, 'active');
        assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 6)), []);
        assert.equal((await store.getWorker('wr-one'))?.state, 'active', 'workers heard from later stay');
      });

      it('holdWorkerSession: a worker whose session ended is gone once its heartbeat is late; not while it lives', async () => {
        await store.registerWorker(worker('ms-one', 0, 10, { heartbeat_at: at(0, 10) }));
        const warnings: Error[] = [];
        const session = await store.holdWorkerSession('ms-one', (err) => warnings.push(err));
        if (name !== 'postgres') {
          // One process owns an embedded database; MongoDB shows no other client's connection.
          assert.equal(session, null);
          assert.deepEqual(await store.markWorkersGone(at(0, 5), new Date()), []);
          assert.equal((await store.getWorker('ms-one'))?.state, 'active', 'heartbeats alone tell');
          return;
        }
        assert.ok(session, 'the session lock is held');
        assert.equal(await store.holdWorkerSession('ms-one', () => undefined), false, 'a second hold of the same worker is refused');
        // Its heartbeat is old, but its session lives: it stays.
        assert.deepEqual(await store.markWorkersGone(at(0, 5), new Date()), []);
        await session.release();
        // The session ended, but its heartbeat is not yet late: it stays.
        assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 9)), []);
        assert.deepEqual(await store.markWorkersGone(at(0, 5), at(0, 11)), ['ms-one']);
        assert.equal((await store.getWorker('ms-one'))?.state, 'gone');
        assert.deepEqual(warnings, []);
      });
    });

    describe('stats', () => {
      it('counts workers by state, jobs, and executions by status', async () => {
        const before = await store.stats();
        await store.registerWorker(worker('st-w1', 11, 0));
        await store.registerWorker(worker('st-w2', 11, 1));
        await store.registerWorker(worker('st-w3', 11, 2, { state: 'blocked' }));
        await store.registerWorker(worker('st-w4', 11, 3, { state: 'gone' }));
        for (const id of ['st-a', 'st-b', 'st-c']) await insertJob(job(id, 11));
        const statuses: ExecutionStatus[] = [...executionStatuses, 'succeeded', 'succeeded', 'failed'];
        await store.insertExecutions(statuses.map((status, i) => execution(`st-${i}`, 11, i, { status })));
        const after = await store.stats();
        const delta = (a: Partial<Record<string, number>>, b: Partial<Record<string, number>>) =>
          Object.fromEntries(Object.keys(a).map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)]).filter(([, n]) => n !== 0));
        assert.deepEqual(delta(after.workers, before.workers), { active: 2, blocked: 1, gone: 1 });
        assert.equal(after.jobs - before.jobs, 3);
        assert.deepEqual(delta(after.executions, before.executions), countsOf(statuses));
        for (const n of [...Object.values(after.workers), ...Object.values(after.executions)]) assert.ok(Number.isInteger(n) && n! > 0);
        assert.equal(after.jobs, (await allPages((a) => store.listJobs(a, 100), 100)).length);
      });
    });

    describe('queued and worker counts', () => {
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

    describe('audit', () => {
      const A = 20;
      // Two records per second, so ties need the id; three operations, two token names and
      // records without a token.
      const idOrder = shuffled(range(30), 11);
      const ops = ['createJob', 'deleteJob', 'setServiceState'];
      const records = range(30).map((i) =>
        audit(`au-${pad(idOrder[i])}`, A, Math.floor(i / 2), {
          operation: ops[i % 3],
          token_name: i % 5 === 4 ? null : i % 2 === 0 ? 'ops-admin' : 'ci-writer',
          ...(i % 4 === 3 ? { request_id: null, job_id: null, execution_id: null, worker_id: null, batch_id: null, status: 403, outcome: 'denied' as const } : {}),
        }),
      );
      const newest = (a: AuditRecord, b: AuditRecord) => b.time.getTime() - a.time.getTime() || compareText(b.id, a.id);
      const matchesAudit = (f: AuditFilter) => (r: AuditRecord) =>
        (f.operation === undefined || r.operation === f.operation) &&
        (f.token_name === undefined || r.token_name === f.token_name) &&
        (f.since === undefined || r.time.getTime() >= f.since.getTime()) &&
        (f.until === undefined || r.time.getTime() < f.until.getTime());

      it('insertAudits round-trips every field, nulls too', async () => {
        const full = audit('ar-full', A + 1, 0);
        const sparse = audit('ar-sparse', A + 1, 1, {
          request_id: null,
          token_name: null,
          operation: 'runJob',
          method: 'DELETE',
          path: '/api/v1/jobs/x y/ünïcödé',
          job_id: null,
          execution_id: null,
          worker_id: null,
          batch_id: null,
          status: 500,
          outcome: 'error',
        });
        await store.insertAudits([]);
        // One call, rows with and without values side by side.
        await store.insertAudits([full, sparse]);
        const got = (await store.listAudit({ since: at(A + 1, 0), until: at(A + 1, 2) }, null, 10)).items;
        assert.deepEqual(got, [sparse, full]);
      });

      it('listAudit pages newest first by (time, id), completely, with each filter and combined', async () => {
        for (const r of shuffled(records, 12)) await store.insertAudits([r]);
        const mine = (r: AuditRecord) => r.id.startsWith('au-');
        const filters: AuditFilter[] = [
          {},
          { operation: 'deleteJob' },
          { token_name: 'ci-writer' },
          { since: at(A, 4) },
          { until: at(A, 10) },
          { since: at(A, 4), until: at(A, 10) },
          { operation: 'createJob', token_name: 'ops-admin', since: at(A, 2), until: at(A, 14) },
          { operation: 'noSuchOperation' },
        ];
        for (const f of filters) {
          const expected = records.filter(matchesAudit(f)).sort(newest);
          for (const limit of [1, 4, 30, 31]) {
            const got = await allPages((a) => store.listAudit(f, a, limit), limit);
            assertNoRepeats(got.map((r) => r.id), `listAudit(${JSON.stringify(f)}) by ${limit}`);
            for (let i = 1; i < got.length; i++) assert.ok(newest(got[i - 1], got[i]) < 0, `${got[i - 1].id} before ${got[i].id}`);
            assert.ok(got.every(matchesAudit(f)), `every record matches ${JSON.stringify(f)}`);
            assert.deepEqual(got.filter(mine), expected, `listAudit(${JSON.stringify(f)}) by ${limit}`);
          }
        }
      });

      it('keyset pages: a record newer than the cursor is not shown, an older one is', async () => {
        const first = await store.listAudit({ operation: 'setServiceState' }, null, 3);
        assert.ok(first.next);
        await store.insertAudits([audit('au-newer', A + 2, 0, { operation: 'setServiceState' })]);
        await store.insertAudits([audit('au-older', A - 1, 0, { operation: 'setServiceState' })]);
        const rest = await allPages((a) => store.listAudit({ operation: 'setServiceState' }, a ?? first.next, 100), 100);
        const ids = rest.map((r) => r.id);
        assert.ok(!ids.includes('au-newer'));
        assert.ok(ids.includes('au-older'));
        assert.ok(!ids.some((id) => first.items.some((r) => r.id === id)));
      });
    });

    describe('bad cursors', () => {
      const garbage = ['', 'not a cursor', '!!!', 'eyJ', encodeCursor([]), Buffer.from('{"a":1}').toString('base64url'), encodeCursor(['a', 'b', 'c'])];
      const timeKeyed = [encodeCursor(['x']), encodeCursor(['x', 1000]), encodeCursor([1000]), encodeCursor([1000, 2000]), encodeCursor([null, 'x'] as unknown as string[])];
      // Well formed, but no record can have this key: a time that is no date, or that no
      // store holds; text with NUL.
      const impossibleTimes = [1e300, -8e15, 8.64e15, 1e16, 1.5].map((ms) => encodeCursor([ms, 'x']));

      it('listJobs', async () => {
        for (const c of [...garbage, encodeCursor([1000, 'x']), encodeCursor([1000]), encodeCursor([null] as unknown as string[])]) {
          await rejectsCursor(() => store.listJobs(c, 5), `listJobs(${JSON.stringify(c)})`);
        }
        const issuedElsewhere = (await store.listExecutions({}, null, 1)).next!;
        await rejectsCursor(() => store.listJobs(issuedElsewhere, 5), 'listJobs with a listExecutions cursor');
        await pageOrCursorError(() => store.listJobs(encodeCursor(['a\u0000b']), 5), 'listJobs, NUL in the key');
      });

      it('listExecutions', async () => {
        const issuedElsewhere = (await store.listJobs(null, 1)).next!;
        for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) {
          await rejectsCursor(() => store.listExecutions({}, c, 5), `listExecutions(${JSON.stringify(c)})`);
          await rejectsCursor(() => store.listExecutions({ job_id: 'lx-a' }, c, 5), `listExecutions(job_id, ${JSON.stringify(c)})`);
        }
        for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
          await pageOrCursorError(() => store.listExecutions({}, c, 5), `listExecutions(${Buffer.from(c, 'base64url').toString()})`);
        }
      });

      it('listFailures', async () => {
        const issuedElsewhere = (await store.listJobs(null, 1)).next!;
        for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) await rejectsCursor(() => store.listFailures(c, 5), `listFailures(${JSON.stringify(c)})`);
        for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
          await pageOrCursorError(() => store.listFailures(c, 5), `listFailures(${Buffer.from(c, 'base64url').toString()})`);
        }
      });

      it('listAudit', async () => {
        const issuedElsewhere = (await store.listJobs(null, 1)).next!;
        for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) {
          await rejectsCursor(() => store.listAudit({}, c, 5), `listAudit(${JSON.stringify(c)})`);
          await rejectsCursor(() => store.listAudit({ operation: 'createJob' }, c, 5), `listAudit(operation, ${JSON.stringify(c)})`);
        }
        for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
          await pageOrCursorError(() => store.listAudit({}, c, 5), `listAudit(${Buffer.from(c, 'base64url').toString()})`);
        }
      });

      it('listWorkers', async () => {
        const issuedElsewhere = (await store.listJobs(null, 1)).next!;
        for (const c of [...garbage, ...timeKeyed, issuedElsewhere]) await rejectsCursor(() => store.listWorkers(c, 5), `listWorkers(${JSON.stringify(c)})`);
        for (const c of [...impossibleTimes, encodeCursor([1000, 'x\u0000'])]) {
          await pageOrCursorError(() => store.listWorkers(c, 5), `listWorkers(${Buffer.from(c, 'base64url').toString()})`);
        }
        // An issued cursor still works.
        const first = await store.listWorkers(null, 2);
        assert.ok(first.next);
        const second = await store.listWorkers(first.next, 2);
        assert.equal(second.items.length, 2);
        assert.ok(!second.items.some((w) => first.items.some((x) => x.id === w.id)));
      });
    });
  });
}
