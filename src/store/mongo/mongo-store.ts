import { randomUUID } from 'node:crypto';
import { MongoBulkWriteError, MongoServerError, type Collection, type Db, type Document, type Filter, type IndexDescription, type MongoClient } from 'mongodb';
import type {
  AuditFilter,
  AuditRecord,
  BatchSummary,
  ExecutionEnd,
  ExecutionFilter,
  ExecutionPatch,
  ExecutionRecord,
  ExecutionStatus,
  FailureRecord,
  JobPatch,
  JobRecord,
  JobStats,
  Page,
  ServiceState,
  ServiceStats,
  Store,
  WorkerHeartbeat,
  WorkerRecord,
  WorkerState,
} from '../types.js';
import { failedStatuses, firstOfEachId } from '../types.js';
import { cursorKey, encodeCursor } from '../cursor.js';

/** The record types as stored: the id is the document's `_id`, every other field keeps its name. */
type JobDoc = Omit<JobRecord, 'job_id'> & { _id: string };
type ExecutionDoc = Omit<ExecutionRecord, 'id'> & { _id: string };
type FailureDoc = Omit<FailureRecord, 'id'> & { _id: string };
type WorkerDoc = Omit<WorkerRecord, 'id'> & { _id: string };
type AuditDoc = Omit<AuditRecord, 'id'> & { _id: string };
interface ServiceStateDoc {
  _id: string;
  state: ServiceState;
  updated_at: Date;
}
interface LockDoc {
  _id: string;
  owner: string;
  expires_at: Date;
}

/**
 * The statuses of an active run and of a live worker. Each list is both the filter of its
 * partial index and the predicate of the queries that use it: a query whose predicate equals
 * the index filter is always eligible for the partial index.
 */
const activeStatuses: ExecutionStatus[] = ['queued', 'running'];
const aliveStates: WorkerState[] = ['active', 'blocked'];

/** One index for each query the store makes; the queries below name the one they use. */
const indexes: Record<'jobs' | 'executions' | 'failures' | 'workers' | 'audit', IndexDescription[]> = {
  jobs: [{ name: 'job_source_idx', key: { source: 1 }, partialFilterExpression: { source: 'file' } }],
  executions: [
    { name: 'execution_created_idx', key: { created_at: -1, _id: -1 } },
    { name: 'execution_job_idx', key: { job_id: 1, created_at: -1, _id: -1 } },
    { name: 'execution_status_idx', key: { status: 1, created_at: -1, _id: -1 } },
    // Whole indexes, where PostgreSQL's are partial (IS NOT NULL): a run without a parent or
    // a batch stores null there, a partial filter has no `$ne: null`, and whether the planner
    // takes an equality as inside `$type: 'string'` is not documented.
    { name: 'execution_parent_idx', key: { parent_id: 1, created_at: -1, _id: -1 } },
    { name: 'execution_handler_idx', key: { handler: 1, created_at: -1, _id: -1 } },
    { name: 'execution_batch_idx', key: { batch_id: 1, created_at: -1, _id: -1 } },
    { name: 'execution_active_idx', key: { job_id: 1, created_at: 1 }, partialFilterExpression: { status: { $in: activeStatuses } } },
    { name: 'execution_worker_idx', key: { worker_id: 1 }, partialFilterExpression: { status: 'running' } },
  ],
  failures: [{ name: 'failure_time_idx', key: { time: -1, _id: -1 } }],
  workers: [
    { name: 'worker_started_idx', key: { started_at: -1, _id: -1 } },
    { name: 'worker_alive_idx', key: { heartbeat_at: 1 }, partialFilterExpression: { state: { $in: aliveStates } } },
  ],
  audit: [
    { name: 'audit_time_idx', key: { time: -1, _id: -1 } },
    { name: 'audit_operation_idx', key: { operation: 1, time: -1, _id: -1 } },
    { name: 'audit_token_idx', key: { token_name: 1, time: -1, _id: -1 } },
  ],
};

/** The boot lock: one document, held until `expires_at` unless renewed by its owner. */
const bootLockId = 'boot';
const bootLockTtlMs = 30_000;
const bootLockRetryMs = 250;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The fields of a patch that are set: undefined means "leave as is", as in the SQL store. */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function jobToDoc(job: JobRecord): JobDoc {
  return {
    _id: job.job_id,
    handler: job.handler,
    kwargs: job.kwargs ?? {},
    state: job.state,
    periodically: job.periodically ?? null,
    interval_seconds: job.interval_seconds ?? null,
    cron: job.cron ?? null,
    timezone: job.timezone ?? null,
    when: job.when ?? null,
    misfire_grace_time: job.misfire_grace_time ?? null,
    timeout: job.timeout ?? null,
    concurrency_policy: job.concurrency_policy ?? null,
    retries: job.retries ?? 0,
    retry_backoff: job.retry_backoff ?? 0,
    next_run_at: job.next_run_at ?? null,
    last_run_at: job.last_run_at ?? null,
    last_status: job.last_status ?? null,
    source: job.source ?? 'api',
    source_file: job.source_file ?? null,
    created_at: job.created_at,
    updated_at: job.updated_at,
  };
}

function docToJob(d: JobDoc): JobRecord {
  return {
    job_id: d._id,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    state: d.state,
    periodically: d.periodically ?? null,
    interval_seconds: num(d.interval_seconds),
    cron: d.cron ?? null,
    timezone: d.timezone ?? null,
    when: d.when ?? null,
    misfire_grace_time: num(d.misfire_grace_time),
    timeout: num(d.timeout),
    concurrency_policy: d.concurrency_policy ?? null,
    retries: Number(d.retries ?? 0),
    retry_backoff: Number(d.retry_backoff ?? 0),
    next_run_at: d.next_run_at ?? null,
    last_run_at: d.last_run_at ?? null,
    last_status: d.last_status ?? null,
    source: d.source,
    source_file: d.source_file ?? null,
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

function executionToDoc(e: ExecutionRecord): ExecutionDoc {
  return {
    _id: e.id,
    job_id: e.job_id ?? null,
    handler: e.handler,
    kwargs: e.kwargs ?? {},
    status: e.status,
    trigger: e.trigger,
    parent_id: e.parent_id ?? null,
    batch_id: e.batch_id ?? null,
    selection: e.selection ?? null,
    attempt: e.attempt ?? 1,
    timeout: e.timeout ?? null,
    worker_id: e.worker_id ?? null,
    cancel_requested_at: e.cancel_requested_at ?? null,
    scheduled_at: e.scheduled_at,
    started_at: e.started_at ?? null,
    finished_at: e.finished_at ?? null,
    duration_ms: e.duration_ms ?? null,
    progress: e.progress ?? null,
    error: e.error ?? null,
    stack: e.stack ?? null,
    output: e.output ?? [],
    output_truncated: e.output_truncated ?? false,
    created_at: e.created_at,
  };
}

function docToExecution(d: ExecutionDoc): ExecutionRecord {
  return {
    id: d._id,
    job_id: d.job_id ?? null,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    status: d.status,
    trigger: d.trigger,
    parent_id: d.parent_id ?? null,
    batch_id: d.batch_id ?? null,
    selection: d.selection ?? null,
    attempt: Number(d.attempt ?? 1),
    timeout: num(d.timeout),
    worker_id: d.worker_id ?? null,
    cancel_requested_at: d.cancel_requested_at ?? null,
    scheduled_at: d.scheduled_at,
    started_at: d.started_at ?? null,
    finished_at: d.finished_at ?? null,
    duration_ms: num(d.duration_ms),
    progress: num(d.progress),
    error: d.error ?? null,
    stack: d.stack ?? null,
    output: d.output ?? [],
    output_truncated: Boolean(d.output_truncated),
    created_at: d.created_at,
  };
}

function failureToDoc(f: FailureRecord): FailureDoc {
  return {
    _id: f.id,
    failed_job_id: f.failed_job_id ?? null,
    execution_id: f.execution_id,
    handler: f.handler,
    kwargs: f.kwargs ?? {},
    error: f.error,
    traceback: f.traceback ?? null,
    time: f.time,
  };
}

function docToFailure(d: FailureDoc): FailureRecord {
  return {
    id: d._id,
    failed_job_id: d.failed_job_id ?? null,
    execution_id: d.execution_id,
    handler: d.handler,
    kwargs: d.kwargs ?? {},
    error: d.error,
    traceback: d.traceback ?? null,
    time: d.time,
  };
}

function workerToDoc(w: WorkerRecord): WorkerDoc {
  return {
    _id: w.id,
    name: w.name,
    host: w.host,
    pid: w.pid,
    version: w.version,
    started_at: w.started_at,
    heartbeat_at: w.heartbeat_at,
    handlers: w.handlers,
    running: w.running ?? 0,
    cpu_load: w.cpu_load ?? 0,
    memory: w.memory,
    state: w.state,
  };
}

function docToWorker(d: WorkerDoc): WorkerRecord {
  return {
    id: d._id,
    name: d.name,
    host: d.host,
    pid: Number(d.pid),
    version: d.version,
    started_at: d.started_at,
    heartbeat_at: d.heartbeat_at,
    handlers: d.handlers ?? [],
    running: Number(d.running),
    cpu_load: Number(d.cpu_load),
    memory: d.memory,
    state: d.state,
  };
}

function auditToDoc(a: AuditRecord): AuditDoc {
  const { id, ...rest } = a;
  return { _id: id, ...rest };
}

function docToAudit(d: AuditDoc): AuditRecord {
  return {
    id: d._id,
    time: d.time,
    request_id: d.request_id ?? null,
    token_name: d.token_name ?? null,
    operation: d.operation,
    method: d.method,
    path: d.path,
    job_id: d.job_id ?? null,
    execution_id: d.execution_id ?? null,
    worker_id: d.worker_id ?? null,
    batch_id: d.batch_id ?? null,
    status: Number(d.status),
    outcome: d.outcome,
  };
}

const countsOf = <K extends string>(rows: Array<{ _id: K; n: number }>): Partial<Record<K, number>> =>
  Object.fromEntries(rows.map((r) => [r._id, Number(r.n)])) as Partial<Record<K, number>>;

/**
 * The newest-first keyset condition `(field, _id) < (at, id)`, written as `field <= at` (an
 * index range) plus an `$or` that only has to look at the entries equal to `at`.
 */
function keysetBefore(field: string, cursor: string): { range: Date; or: Document[] } {
  const [at, id] = cursorKey(cursor, ['number', 'string']) as [Date, string];
  return { range: at, or: [{ [field]: { $lt: at } }, { _id: { $lt: id } }] };
}

/**
 * The store on MongoDB: the same records as the SQL store, one collection per table, one
 * document per row with the row's id as `_id` and its dates as BSON dates. Every list is a
 * keyset page over an index created by migrate(); every write that decides something (a run
 * claimed, a final status, a cancel, a worker marked gone) is a single-document conditional
 * update, which MongoDB applies atomically.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly jobs: Collection<JobDoc>;
  private readonly executions: Collection<ExecutionDoc>;
  private readonly failures: Collection<FailureDoc>;
  private readonly workers: Collection<WorkerDoc>;
  private readonly audit: Collection<AuditDoc>;
  private readonly serviceState: Collection<ServiceStateDoc>;
  private readonly locks: Collection<LockDoc>;

  constructor(
    private readonly client: MongoClient,
    readonly db: Db,
  ) {
    this.jobs = db.collection<JobDoc>('jobs');
    this.executions = db.collection<ExecutionDoc>('executions');
    this.failures = db.collection<FailureDoc>('failures');
    this.workers = db.collection<WorkerDoc>('workers');
    this.audit = db.collection<AuditDoc>('audit');
    this.serviceState = db.collection<ServiceStateDoc>('service_state');
    this.locks = db.collection<LockDoc>('locks');
  }

  async migrate() {
    // createIndexes is a no-op for an index that exists with the same name and definition;
    // it creates the collection when missing.
    await this.jobs.createIndexes(indexes.jobs);
    await this.executions.createIndexes(indexes.executions);
    await this.failures.createIndexes(indexes.failures);
    await this.workers.createIndexes(indexes.workers);
    await this.audit.createIndexes(indexes.audit);
  }

  /**
   * Processes take turns through one lock document. Taking it is one atomic upsert that
   * matches only an expired lock: when another process holds it, the upsert tries to insert
   * a second document with the same _id and fails with a duplicate key, and this process
   * waits and tries again. The holder renews the expiry while `fn` runs, so a long boot keeps
   * the lock and a crashed process frees it within bootLockTtlMs. Expiry is judged by the
   * clocks of the processes, which only need to agree to within that lifetime.
   */
  async bootLock<T>(fn: () => Promise<T>): Promise<T> {
    const owner = randomUUID();
    for (;;) {
      const now = new Date();
      try {
        await this.locks.updateOne(
          { _id: bootLockId, expires_at: { $lt: now } },
          { $set: { owner, expires_at: new Date(now.getTime() + bootLockTtlMs) } },
          { upsert: true },
        );
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      await sleep(bootLockRetryMs);
    }
    const renew = setInterval(() => {
      this.locks
        .updateOne({ _id: bootLockId, owner }, { $set: { expires_at: new Date(Date.now() + bootLockTtlMs) } })
        .catch(() => undefined);
    }, bootLockTtlMs / 3);
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      // Only our own lock: had it expired and been taken over, the new holder keeps it.
      await this.locks.deleteOne({ _id: bootLockId, owner }).catch(() => undefined);
    }
  }

  async ping(timeoutMs: number) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.db.command({ ping: 1 }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    await this.client.close();
  }

  async insertJobs(jobs: JobRecord[]) {
    const docs = firstOfEachId(jobs).map(jobToDoc);
    if (docs.length === 0) return [];
    try {
      await this.jobs.insertMany(docs, { ordered: false });
      return docs.map((d) => d._id);
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      // Unordered: every document was tried. The only unique index on jobs is _id, so a
      // duplicate key means that job_id is taken; any other error fails the call.
      const writeErrors = [err.writeErrors].flat();
      if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== 11000)) throw err;
      const taken = new Set(writeErrors.map((e) => e.index));
      return docs.filter((_, i) => !taken.has(i)).map((d) => d._id);
    }
  }

  async upsertJob(job: JobRecord) {
    // One atomic upsert by _id. A redefined job keeps its history: created_at, last run and
    // last status are only written when the document is inserted.
    const { _id, created_at, last_run_at, last_status, ...rest } = jobToDoc(job);
    const doc = await this.jobs.findOneAndUpdate(
      { _id },
      { $set: rest, $setOnInsert: { created_at, last_run_at, last_status } },
      { upsert: true, returnDocument: 'after' },
    );
    return docToJob(doc!);
  }

  async upsertJobs(jobs: JobRecord[]) {
    if (jobs.length === 0) return;
    // upsertJob's update for each job, sent as one unordered bulk write (_id_).
    await this.jobs.bulkWrite(
      jobs.map((job) => {
        const { _id, created_at, last_run_at, last_status, ...rest } = jobToDoc(job);
        return { updateOne: { filter: { _id }, update: { $set: rest, $setOnInsert: { created_at, last_run_at, last_status } }, upsert: true } };
      }),
      { ordered: false },
    );
  }

  async getJob(jobId: string) {
    const doc = await this.jobs.findOne({ _id: jobId });
    return doc ? docToJob(doc) : null;
  }

  async listJobs(after: string | null, limit: number): Promise<Page<JobRecord>> {
    // _id_ (job_id order: binary, as PostgreSQL's under the C collation).
    const key = after === null ? null : (cursorKey(after, ['string'])[0] as string);
    const docs = await this.jobs
      .find(key === null ? {} : { _id: { $gt: key } })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .toArray();
    const items = docs.slice(0, limit).map(docToJob);
    const more = docs.length > limit;
    return { items, next: more ? encodeCursor([items[items.length - 1].job_id]) : null };
  }

  async updateJob(jobId: string, patch: JobPatch) {
    const doc = await this.jobs.findOneAndUpdate(
      { _id: jobId },
      { $set: { ...defined(patch), updated_at: patch.updated_at ?? new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? docToJob(doc) : null;
  }

  async deleteJob(jobId: string) {
    const r = await this.jobs.deleteOne({ _id: jobId });
    return r.deletedCount === 1;
  }

  async listJobsFromFiles() {
    // job_source_idx
    const docs = await this.jobs.find({ source: 'file' }, { projection: { _id: 1, source_file: 1 } }).toArray();
    return docs.map((d) => ({ job_id: d._id, source_file: d.source_file ?? null }));
  }

  async insertExecution(e: ExecutionRecord) {
    await this.executions.insertOne(executionToDoc(e));
  }

  async insertExecutions(executions: ExecutionRecord[]) {
    // The driver splits the batch as the server needs; an empty insertMany is an error.
    if (executions.length === 0) return;
    await this.executions.insertMany(executions.map(executionToDoc), { ordered: true });
  }

  async getJobs(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // _id_
    const docs = await this.jobs.find({ _id: { $in: jobIds } }).toArray();
    return docs.map(docToJob);
  }

  async updateJobs(updates: Array<{ job_id: string; patch: JobPatch }>) {
    if (updates.length === 0) return;
    const now = new Date();
    // _id_; one round trip, each update atomic on its document.
    await this.jobs.bulkWrite(
      updates.map((u) => ({
        updateOne: { filter: { _id: u.job_id }, update: { $set: { ...defined(u.patch), updated_at: u.patch.updated_at ?? now } } },
      })),
      { ordered: false },
    );
  }

  async getJobsWithActiveRuns(jobIds: string[]) {
    const [jobs, active] = await Promise.all([this.getJobs(jobIds), this.activeExecutionsOf(jobIds)]);
    const byJob = new Map<string, ExecutionRecord[]>();
    for (const e of active) (byJob.get(e.job_id!) ?? byJob.set(e.job_id!, []).get(e.job_id!)!).push(e);
    return jobs.map((job) => ({ job, active: byJob.get(job.job_id) ?? [] }));
  }

  async activeExecutionsOf(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // execution_active_idx
    const docs = await this.executions
      .find({ job_id: { $in: jobIds }, status: { $in: activeStatuses } })
      .sort({ created_at: 1 })
      .toArray();
    return docs.map(docToExecution);
  }

  async getExecutions(ids: string[]) {
    if (ids.length === 0) return [];
    // _id_
    const docs = await this.executions.find({ _id: { $in: ids } }).toArray();
    return docs.map(docToExecution);
  }

  async transitionExecutions(from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>) {
    // A bulk write reports only how many matched, not which: each move is its own
    // conditional update (transitionExecution), sent together.
    const moved = await Promise.all(moves.map(async (m) => ((await this.transitionExecution(m.id, from, m.patch)) ? m.id : null)));
    return moved.filter((id): id is string => id !== null);
  }

  async activeExecutions(jobId: string) {
    // execution_active_idx
    const docs = await this.executions
      .find({ job_id: jobId, status: { $in: activeStatuses } })
      .sort({ created_at: 1 })
      .toArray();
    return docs.map(docToExecution);
  }

  async getExecution(id: string) {
    const doc = await this.executions.findOne({ _id: id });
    return doc ? docToExecution(doc) : null;
  }

  async updateExecution(id: string, patch: ExecutionPatch) {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return;
    await this.executions.updateOne({ _id: id }, { $set: set });
  }

  async transitionExecution(id: string, from: ExecutionStatus, patch: ExecutionPatch) {
    // _id_. One conditional single-document update: of two callers, only the one whose
    // filter still matched (status = from) sees matchedCount 1.
    const r = await this.executions.updateOne({ _id: id, status: from }, { $set: defined(patch) });
    return r.matchedCount === 1;
  }

  async appendOutput(id: string, lines: string[], maxLines: number) {
    if (lines.length === 0) return;
    // _id_. One pipeline update, so atomic like the SQL one: every expression of a $set stage
    // reads the document as it was before the stage, so the truncated flag sees the old
    // length. $literal keeps a line that starts with '$' from being read as a field path.
    await this.executions.updateOne({ _id: id }, [
      {
        $set: {
          output_truncated: {
            $or: [{ $eq: ['$output_truncated', true] }, { $gt: [{ $add: [{ $size: { $ifNull: ['$output', []] } }, lines.length] }, maxLines] }],
          },
          output: { $slice: [{ $concatArrays: [{ $ifNull: ['$output', []] }, { $literal: lines }] }, -maxLines] },
        },
      },
    ]);
  }

  async finishExecutions(ends: ExecutionEnd[], maxLines: number) {
    // Each run on its own: its last output, then the conditional move from running (_id_),
    // then its job's last status (_id_). Sent together, not one after the other.
    const moved = await Promise.all(
      ends.map(async (e) => {
        await this.appendOutput(e.id, e.output, maxLines);
        const patch: ExecutionPatch = { status: e.status, finished_at: e.finished_at, duration_ms: e.duration_ms, error: e.error, stack: e.stack };
        if (e.progress !== null) patch.progress = e.progress;
        if (!(await this.transitionExecution(e.id, 'running', patch))) return null;
        if (e.job_id) await this.jobs.updateOne({ _id: e.job_id }, { $set: { last_status: e.status, updated_at: new Date() } });
        return e.id;
      }),
    );
    return moved.filter((id): id is string => id !== null);
  }

  async listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>> {
    // execution_job_idx, execution_status_idx, execution_parent_idx, execution_handler_idx,
    // execution_batch_idx or execution_created_idx, each ending in (created_at -1, _id -1) so
    // the keyset condition is an index range and the sort needs no sorting.
    const where: Filter<ExecutionDoc> = {};
    if (filter.job_id !== undefined) where.job_id = filter.job_id;
    if (filter.status !== undefined) where.status = filter.status;
    if (filter.parent_id !== undefined) where.parent_id = filter.parent_id;
    if (filter.handler !== undefined) where.handler = filter.handler;
    if (filter.batch_id !== undefined) where.batch_id = filter.batch_id;
    const created: { $gte?: Date; $lt?: Date; $lte?: Date } = {};
    if (filter.since !== undefined) created.$gte = filter.since;
    if (filter.until !== undefined) created.$lt = filter.until;
    if (after !== null) {
      const { range, or } = keysetBefore('created_at', after);
      created.$lte = range;
      where.$or = or;
    }
    if (Object.keys(created).length > 0) where.created_at = created;
    const docs = await this.executions
      .find(where)
      .sort({ created_at: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const items = docs.slice(0, limit).map(docToExecution);
    const last = items[items.length - 1];
    return { items, next: docs.length > limit ? encodeCursor([last.created_at.getTime(), last.id]) : null };
  }

  async deleteExecutionsBefore(before: Date) {
    // execution_created_idx
    const r = await this.executions.deleteMany({ created_at: { $lt: before }, status: { $nin: activeStatuses } });
    return r.deletedCount;
  }

  async requestCancel(id: string, at: Date) {
    // _id_, conditional on the run still running.
    const r = await this.executions.updateOne({ _id: id, status: 'running' }, { $set: { cancel_requested_at: at } });
    return r.matchedCount === 1;
  }

  async cancelRequested(workerId: string) {
    // execution_worker_idx
    const docs = await this.executions
      .find({ worker_id: workerId, status: 'running', cancel_requested_at: { $ne: null } }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id);
  }

  async runningOnGoneWorkers() {
    // execution_worker_idx (only running runs are in it; `$type: 'string'` gives the scan its
    // bounds, and a run without a worker joins none), then the workers' _id_.
    const docs = await this.executions
      .aggregate<ExecutionDoc>([
        { $match: { status: 'running', worker_id: { $type: 'string' } } },
        { $lookup: { from: 'workers', localField: 'worker_id', foreignField: '_id', as: 'worker' } },
        { $match: { 'worker.state': 'gone' } },
        { $project: { worker: 0 } },
      ])
      .toArray();
    return docs.map(docToExecution);
  }

  async batchSummary(batchId: string): Promise<BatchSummary | null> {
    // execution_batch_idx. $min and $max skip nulls, as SQL's min and max do.
    const rows = await this.executions
      .aggregate<{ _id: ExecutionStatus; n: number; job_id: string | null; submitted: Date | null; started: Date | null; finished: Date | null }>([
        { $match: { batch_id: batchId } },
        {
          $group: {
            _id: '$status',
            n: { $sum: 1 },
            job_id: { $min: '$job_id' },
            submitted: { $min: '$created_at' },
            started: { $min: '$started_at' },
            finished: { $max: '$finished_at' },
          },
        },
      ])
      .toArray();
    if (rows.length === 0) return null;
    const counts = countsOf<ExecutionStatus>(rows);
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    const done = rows.every((x) => x._id !== 'queued' && x._id !== 'running');
    const dates = (k: 'submitted' | 'started' | 'finished') => rows.map((x) => x[k] ?? null).filter((d): d is Date => d !== null);
    const earliest = (k: 'submitted' | 'started') => dates(k).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
    const finished = dates('finished').sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    return {
      batch_id: batchId,
      job_id: rows[0].job_id ?? null,
      total,
      counts,
      submitted_at: earliest('submitted')!,
      started_at: earliest('started'),
      finished_at: done ? finished : null,
    };
  }

  async getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats } | null> {
    const job = await this.getJob(jobId);
    return job ? { job, stats: await this.jobStats(jobId) } : null;
  }

  private async jobStats(jobId: string): Promise<JobStats> {
    // execution_job_idx, for both queries.
    const [agg] = await this.executions
      .aggregate<{ total: number; succeeded: number; failed: number; avg_ms: number | null }>([
        { $match: { job_id: jobId } },
        {
          $group: {
            _id: null,
            total: { $sum: 1 },
            succeeded: { $sum: { $cond: [{ $eq: ['$status', 'succeeded'] }, 1, 0] } },
            failed: { $sum: { $cond: [{ $in: ['$status', [...failedStatuses]] }, 1, 0] } },
            // $avg skips the nulls of the other statuses, like SQL's avg ... FILTER.
            avg_ms: { $avg: { $cond: [{ $eq: ['$status', 'succeeded'] }, '$duration_ms', null] } },
          },
        },
      ])
      .toArray();
    const latest = await this.executions.findOne({ job_id: jobId }, { sort: { created_at: -1, _id: -1 } });
    return {
      // No runs: no group at all, where SQL's aggregate answers one row of zeros.
      total: Number(agg?.total ?? 0),
      succeeded: Number(agg?.succeeded ?? 0),
      failed: Number(agg?.failed ?? 0),
      average_duration_ms: agg?.avg_ms === null || agg?.avg_ms === undefined ? null : Math.round(Number(agg.avg_ms)),
      latest: latest ? docToExecution(latest) : null,
    };
  }

  async insertFailure(f: FailureRecord) {
    await this.failures.insertOne(failureToDoc(f));
  }

  async listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>> {
    // failure_time_idx
    const where: Filter<FailureDoc> = {};
    if (after !== null) {
      const { range, or } = keysetBefore('time', after);
      where.time = { $lte: range };
      where.$or = or;
    }
    const docs = await this.failures
      .find(where)
      .sort({ time: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const items = docs.slice(0, limit).map(docToFailure);
    const last = items[items.length - 1];
    return { items, next: docs.length > limit ? encodeCursor([last.time.getTime(), last.id]) : null };
  }

  async deleteFailures() {
    // _id_. No delete returns what it deleted: the ids are read, then deleted by id, so a
    // failure recorded in between stays and is not reported.
    const ids = (await this.failures.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
    for (let i = 0; i < ids.length; i += 1000) {
      await this.failures.deleteMany({ _id: { $in: ids.slice(i, i + 1000) } });
    }
    return ids;
  }

  async deleteFailuresBefore(before: Date) {
    // failure_time_idx
    const r = await this.failures.deleteMany({ time: { $lt: before } });
    return r.deletedCount;
  }

  async registerWorker(w: WorkerRecord) {
    await this.workers.insertOne(workerToDoc(w));
  }

  async heartbeatWorker(id: string, beat: WorkerHeartbeat) {
    // _id_. A gone worker stays gone: its runs were settled as lost and may run elsewhere.
    const doc = await this.workers.findOneAndUpdate(
      { _id: id, state: { $ne: 'gone' } },
      { $set: { heartbeat_at: beat.heartbeat_at, running: beat.running, cpu_load: beat.cpu_load, memory: beat.memory } },
      { returnDocument: 'after' },
    );
    return doc ? docToWorker(doc) : null;
  }

  async getWorker(id: string) {
    const doc = await this.workers.findOne({ _id: id });
    return doc ? docToWorker(doc) : null;
  }

  async listWorkers(after: string | null, limit: number): Promise<Page<WorkerRecord>> {
    // worker_started_idx
    const where: Filter<WorkerDoc> = {};
    if (after !== null) {
      const { range, or } = keysetBefore('started_at', after);
      where.started_at = { $lte: range };
      where.$or = or;
    }
    const docs = await this.workers
      .find(where)
      .sort({ started_at: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const items = docs.slice(0, limit).map(docToWorker);
    const last = items[items.length - 1];
    return { items, next: docs.length > limit ? encodeCursor([last.started_at.getTime(), last.id]) : null };
  }

  async setWorkerState(id: string, state: WorkerState) {
    const doc = await this.workers.findOneAndUpdate({ _id: id, state: { $ne: 'gone' } }, { $set: { state } }, { returnDocument: 'after' });
    return doc ? docToWorker(doc) : null;
  }

  /** MongoDB gives no view of other clients' connections: workers are told gone by their heartbeats only. */
  async holdWorkerSession() {
    return null;
  }

  async markWorkersGone(deadline: Date, _sessionDeadline: Date) {
    // worker_alive_idx finds the silent workers; each is then marked with its own conditional
    // update, so an id is returned only by the process whose update moved that worker.
    const silent = { state: { $in: aliveStates }, heartbeat_at: { $lt: deadline } };
    const candidates = await this.workers.find(silent, { projection: { _id: 1 } }).toArray();
    const gone: string[] = [];
    for (const { _id } of candidates) {
      const r = await this.workers.updateOne({ _id, ...silent }, { $set: { state: 'gone' } });
      if (r.modifiedCount === 1) gone.push(_id);
    }
    return gone;
  }

  async stats(): Promise<ServiceStats> {
    // Whole-collection counts, as PostgreSQL's count(*) ... GROUP BY.
    const [workers, jobs, executions] = await Promise.all([
      this.workers.aggregate<{ _id: WorkerState; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray(),
      this.jobs.countDocuments({}),
      this.executions.aggregate<{ _id: ExecutionStatus; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }]).toArray(),
    ]);
    return { workers: countsOf<WorkerState>(workers), jobs, executions: countsOf<ExecutionStatus>(executions) };
  }

  async queuedCount() {
    // execution_status_idx
    return this.executions.countDocuments({ status: 'queued' });
  }

  async workerCounts() {
    const rows = await this.workers.aggregate<{ _id: WorkerState; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray();
    return countsOf<WorkerState>(rows);
  }

  async insertAudits(records: AuditRecord[]) {
    if (records.length) await this.audit.insertMany(records.map(auditToDoc));
  }

  async listAudit(filter: AuditFilter, after: string | null, limit: number): Promise<Page<AuditRecord>> {
    // audit_operation_idx, audit_token_idx or audit_time_idx, each ending in (time -1, _id -1).
    const where: Filter<AuditDoc> = {};
    if (filter.operation !== undefined) where.operation = filter.operation;
    if (filter.token_name !== undefined) where.token_name = filter.token_name;
    const time: { $gte?: Date; $lt?: Date; $lte?: Date } = {};
    if (filter.since !== undefined) time.$gte = filter.since;
    if (filter.until !== undefined) time.$lt = filter.until;
    if (after !== null) {
      const { range, or } = keysetBefore('time', after);
      time.$lte = range;
      where.$or = or;
    }
    if (Object.keys(time).length > 0) where.time = time;
    const docs = await this.audit
      .find(where)
      .sort({ time: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const items = docs.slice(0, limit).map(docToAudit);
    const last = items[items.length - 1];
    return { items, next: docs.length > limit ? encodeCursor([last.time.getTime(), last.id]) : null };
  }

  async getServiceState(): Promise<ServiceState> {
    const doc = await this.serviceState.findOne({ _id: 'service' });
    return doc?.state ?? 'running';
  }

  async setServiceState(state: ServiceState) {
    await this.serviceState.updateOne({ _id: 'service' }, { $set: { state, updated_at: new Date() } }, { upsert: true });
  }
}
