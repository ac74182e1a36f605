/**
 * Records, times and checks shared by the store conformance suite (test/store-contract.test.ts).
 * Every test uses ids of its own (job ids are two letters, a hyphen, then letters and digits:
 * their order is the same under any collation) and times of its own: `at(era, i)` is a fixed,
 * distinct millisecond time, and only the tests that delete or mark by time ("before", "older
 * than") use era 0, the earliest.
 */
import assert from 'node:assert/strict';
import { CursorError } from '../../src/store/cursor.js';
import type { AuditRecord, ExecutionFilter, ExecutionRecord, FailureRecord, JobRecord, Page, WorkerRecord } from '../../src/store/types.js';

export const BASE = Date.UTC(2001, 0, 1);
export const DAY = 86_400_000;
/** A fixed time: day `era` after 2001-01-01, plus `i` seconds. */
export const at = (era: number, i = 0) => new Date(BASE + era * DAY + i * 1000);
export const pad = (n: number, width = 2) => String(n).padStart(width, '0');
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
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
export const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Newest first by (created_at, id). */
export const newestFirst = (a: ExecutionRecord, b: ExecutionRecord) => b.created_at.getTime() - a.created_at.getTime() || compareText(b.id, a.id);

export const kwargsOf = (tag: string) => ({
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

export function job(jobId: string, era: number, over: Partial<JobRecord> = {}): JobRecord {
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
    version: 1,
    ...over,
  };
}

export function fullJob(jobId: string, era: number): JobRecord {
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
export function sparseJob(jobId: string, era: number): JobRecord {
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

export function execution(id: string, era: number, i: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
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
    idempotency_key: id,
    fencing_token: null,
    job_version: null,
    active_execution_id: null,
    ...over,
  };
}

/** A finished run with every field set. */
export function fullExecution(id: string, era: number, i: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
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

export function failure(id: string, era: number, i: number, over: Partial<FailureRecord> = {}): FailureRecord {
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

export function worker(id: string, era: number, i: number, over: Partial<WorkerRecord> = {}): WorkerRecord {
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

export function audit(id: string, era: number, i: number, over: Partial<AuditRecord> = {}): AuditRecord {
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
    client_address: '127.0.0.1',
    count: 1,
    ...over,
  };
}

/** Every page of a list, checking what any page must be. */
export async function allPages<T>(fetch: (after: string | null) => Promise<Page<T>>, limit: number): Promise<T[]> {
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

export function assertNoRepeats(ids: string[], what: string) {
  assert.equal(new Set(ids).size, ids.length, `${what}: an item came twice`);
}

/** Calls `fn` as a promise even if it throws synchronously. */
export const settle = <T>(fn: () => Promise<T>): Promise<T> => Promise.resolve().then(fn);

/** A cursor the store cannot have issued: it throws CursorError. */
export async function rejectsCursor(fn: () => Promise<unknown>, what: string) {
  await assert.rejects(settle(fn), (err: unknown) => {
    assert.ok(err instanceof CursorError, `${what}: expected a CursorError, got ${String(err)}`);
    return true;
  });
}

/** A well-formed key no record of the store can have: a page, or CursorError, never a database error. */
export async function pageOrCursorError(fn: () => Promise<Page<unknown>>, what: string) {
  try {
    const page = await settle(fn);
    assert.ok(Array.isArray(page.items), what);
  } catch (err) {
    assert.ok(err instanceof CursorError, `${what}: expected a page or a CursorError, got ${String(err)}`);
  }
}

export const matches = (f: ExecutionFilter) => (e: ExecutionRecord) =>
  (f.job_id === undefined || e.job_id === f.job_id) &&
  (f.status === undefined || e.status === f.status) &&
  (f.handler === undefined || e.handler === f.handler) &&
  (f.parent_id === undefined || e.parent_id === f.parent_id) &&
  (f.batch_id === undefined || e.batch_id === f.batch_id) &&
  (f.since === undefined || e.created_at.getTime() >= f.since.getTime()) &&
  (f.until === undefined || e.created_at.getTime() < f.until.getTime());

/** Counts without zero entries, as the store reports them. */
export const countsOf = (statuses: string[]) => {
  const counts: Record<string, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};
