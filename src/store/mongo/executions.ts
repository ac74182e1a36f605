import type { Document } from 'mongodb';
import { batchSummaryOf, type BatchGroup } from '../batch-summary.js';
import { outputTrimmedNote, RunEndsError, type ExecutionStore } from '../executions.js';
import {
  activeStatuses,
  failedStatuses,
  type BatchSummary,
  type ExecutionEnd,
  type ExecutionFilter,
  type ExecutionPatch,
  type ExecutionRecord,
  type ExecutionStatus,
  type JobRecord,
  type JobStats,
  type Page,
} from '../records.js';
import type { Collections } from './collections.js';
import { defined, docToExecution, docToJob, executionToDoc, type ExecutionDoc } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

/**
 * Runs newest first: execution_job_idx, execution_status_idx, execution_parent_idx,
 * execution_handler_idx, execution_batch_idx or execution_created_idx, each ending in
 * (created_at -1, _id -1).
 */
const executionsNewestFirst: Keyset<ExecutionDoc, ExecutionRecord> = {
  order: 'newest',
  field: 'created_at',
  toItem: docToExecution,
  keyOf: (e) => [e.created_at.getTime(), e.id],
  // A list never reads the runs' output (up to JOBS_OUTPUT_MAX_BYTES each).
  projection: { output: 0 },
};

/** The filter of execution_active_idx, which its queries repeat so that they may use it. */
const active = { $in: [...activeStatuses] };

/** The UTF-8 bytes of the strings of an array expression. */
const bytesOf = (array: unknown) => ({ $sum: { $map: { input: array, in: { $strLenBytes: '$$this' } } } });

/**
 * The stages of a pipeline update that append `lines` to a run's output as SQL does: the
 * newest `maxLines` lines, and of those the newest that fit `maxBytes` after the note line,
 * which comes first when older lines went for the bytes; output_truncated records any drop.
 * The expressions of one $set stage read the document as it was before that stage, so the
 * first stage's flag sees the old length. $literal keeps a line that starts with '$' from
 * being read as a field path.
 */
export function appendOutputStages(lines: string[], maxLines: number, maxBytes: number): Document[] {
  const note = outputTrimmedNote(maxBytes);
  const budget = maxBytes - Buffer.byteLength(note);
  const old = { $ifNull: ['$output', []] };
  // Newest first, while the lines fit the budget: the tail that is kept.
  const tail = {
    $reduce: {
      input: { $reverseArray: '$output' },
      initialValue: { kept: [], bytes: 0, full: false },
      in: {
        $let: {
          vars: { bytes: { $add: ['$$value.bytes', { $strLenBytes: '$$this' }] } },
          in: {
            $cond: [
              { $and: [{ $not: ['$$value.full'] }, { $lte: ['$$bytes', budget] }] },
              { kept: { $concatArrays: [['$$this'], '$$value.kept'] }, bytes: '$$bytes', full: false },
              { kept: '$$value.kept', bytes: '$$value.bytes', full: true },
            ],
          },
        },
      },
    },
  };
  return [
    {
      $set: {
        output_truncated: { $or: [{ $eq: ['$output_truncated', true] }, { $gt: [{ $add: [{ $size: old }, lines.length] }, maxLines] }] },
        output: { $slice: [{ $concatArrays: [old, { $literal: lines }] }, -maxLines] },
        output_lines: { $add: [{ $ifNull: ['$output_lines', 0] }, lines.length] },
      },
    },
    {
      $set: {
        output_truncated: { $or: ['$output_truncated', { $gt: [bytesOf('$output'), maxBytes] }] },
        output: {
          $cond: [{ $lte: [bytesOf('$output'), maxBytes] }, '$output', { $concatArrays: [[{ $literal: note }], { $let: { vars: { t: tail }, in: '$$t.kept' } }] }],
        },
      },
    },
  ];
}

/** Execution records on MongoDB: the `executions` collection. */
export class MongoExecutionStore implements ExecutionStore {
  constructor(private readonly c: Collections) {}

  async insertExecution(e: ExecutionRecord) {
    await this.c.executions.insertOne(executionToDoc(e));
  }

  async insertExecutions(executions: ExecutionRecord[]) {
    // The driver splits the documents into as many writes as the server needs; an empty insertMany is an error.
    if (executions.length === 0) return;
    await this.c.executions.insertMany(executions.map(executionToDoc), { ordered: true });
  }

  async activeExecutions(jobId: string) {
    // execution_active_idx
    const docs = await this.c.executions
      .find({ job_id: jobId, status: active }, { projection: { output: 0 } })
      .sort({ created_at: 1 })
      .toArray();
    return docs.map(docToExecution);
  }

  async activeExecutionsOf(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // execution_active_idx
    const docs = await this.c.executions
      .find({ job_id: { $in: jobIds }, status: active }, { projection: { output: 0 } })
      .sort({ created_at: 1 })
      .toArray();
    return docs.map(docToExecution);
  }

  async getExecution(id: string) {
    const doc = await this.c.executions.findOne({ _id: id });
    return doc ? docToExecution(doc) : null;
  }

  async getExecutions(ids: string[]) {
    if (ids.length === 0) return [];
    // _id_
    const docs = await this.c.executions.find({ _id: { $in: ids } }).toArray();
    return docs.map(docToExecution);
  }

  async updateExecution(id: string, patch: ExecutionPatch) {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return;
    await this.c.executions.updateOne({ _id: id }, { $set: set });
  }

  async transitionExecution(id: string, from: ExecutionStatus, patch: ExecutionPatch) {
    // _id_. One conditional single-document update: of two callers, only the one whose
    // filter still matched (status = from) sees matchedCount 1.
    const r = await this.c.executions.updateOne({ _id: id, status: from }, { $set: defined(patch) });
    return r.matchedCount === 1;
  }

  async transitionExecutions(from: ExecutionStatus, moves: Array<{ id: string; patch: ExecutionPatch }>) {
    // A bulk write reports only how many matched, not which: each move is its own
    // conditional update (transitionExecution), sent together.
    const moved = await Promise.all(moves.map(async (m) => ((await this.transitionExecution(m.id, from, m.patch)) ? m.id : null)));
    return moved.filter((id): id is string => id !== null);
  }

  async appendOutput(id: string, lines: string[], maxLines: number, maxBytes: number) {
    if (lines.length === 0) return;
    // _id_. One pipeline update, so atomic like the SQL one.
    await this.c.executions.updateOne({ _id: id }, appendOutputStages(lines, maxLines, maxBytes));
  }

  async finishExecutions(ends: ExecutionEnd[], maxLines: number, maxBytes: number) {
    // Each run on its own, sent together: one conditional update from running (_id_) that
    // writes its end and appends its last output, so a run settled meanwhile keeps both; then
    // its job's last status (_id_).
    const results = await Promise.allSettled(
      ends.map(async (e) => {
        const end: ExecutionPatch = { status: e.status, finished_at: e.finished_at, duration_ms: e.duration_ms, error: e.error, stack: e.stack };
        if (e.progress !== null) end.progress = e.progress;
        // What follows a failed run's end (failure record, retry) is pending until written.
        if (failedStatuses.includes(e.status)) end.chains_pending = true;
        const literal = Object.fromEntries(Object.entries(end).map(([k, v]) => [k, { $literal: v }]));
        const r = await this.c.executions.updateOne({ _id: e.id, status: 'running' }, [{ $set: literal }, ...appendOutputStages(e.output, maxLines, maxBytes)]);
        if (r.matchedCount !== 1) {
          // An earlier try of this same end may have written it, its answer lost (_id_).
          const same = await this.c.executions.countDocuments({ _id: e.id, status: e.status, finished_at: e.finished_at }, { limit: 1 });
          return same > 0 ? e.id : null;
        }
        // The run's end is written: a job whose last status cannot be written after it keeps
        // the one it had, rather than the run being taken for unrecorded.
        if (e.job_id) await this.c.jobs.updateOne({ _id: e.job_id }, { $set: { last_status: e.status, updated_at: new Date() } }).catch(() => undefined);
        return e.id;
      }),
    );
    const ended: string[] = [];
    const failed = new Map<string, Error>();
    results.forEach((r, i) => {
      if (r.status === 'rejected') failed.set(ends[i].id, r.reason as Error);
      else if (r.value !== null) ended.push(r.value);
    });
    if (failed.size === 0) return ended;
    if (failed.size === ends.length) throw [...failed.values()][0];
    throw new RunEndsError(ended, failed);
  }

  listExecutions(filter: ExecutionFilter, after: string | null, limit: number): Promise<Page<ExecutionRecord>> {
    const where: Document = {};
    if (filter.job_id !== undefined) where.job_id = filter.job_id;
    if (filter.status !== undefined) where.status = filter.status;
    if (filter.parent_id !== undefined) where.parent_id = filter.parent_id;
    if (filter.handler !== undefined) where.handler = filter.handler;
    if (filter.batch_id !== undefined) where.batch_id = filter.batch_id;
    const created: { $gte?: Date; $lt?: Date } = {};
    if (filter.since !== undefined) created.$gte = filter.since;
    if (filter.until !== undefined) created.$lt = filter.until;
    if (Object.keys(created).length > 0) where.created_at = created;
    return keysetPage(this.c.executions, executionsNewestFirst, where, after, limit);
  }

  async deleteExecutionsBefore(before: Date) {
    // execution_created_idx
    const r = await this.c.executions.deleteMany({ created_at: { $lt: before }, status: { $nin: [...activeStatuses] } });
    return r.deletedCount;
  }

  async requestCancel(id: string, at: Date) {
    // _id_, conditional on the run still running.
    const r = await this.c.executions.updateOne({ _id: id, status: 'running' }, { $set: { cancel_requested_at: at } });
    return r.matchedCount === 1;
  }

  async cancelRequested(workerId: string) {
    // execution_worker_idx
    const docs = await this.c.executions.find({ worker_id: workerId, status: 'running', cancel_requested_at: { $ne: null } }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  async runningOnGoneWorkers() {
    // execution_worker_idx (only running runs are in it; `$type: 'string'` gives the scan its
    // bounds, and a run without a worker joins none), then the workers' _id_.
    const docs = await this.c.executions
      .aggregate<ExecutionDoc>([
        { $match: { status: 'running', worker_id: { $type: 'string' } } },
        { $lookup: { from: 'workers', localField: 'worker_id', foreignField: '_id', as: 'worker' } },
        { $match: { 'worker.state': 'gone' } },
        { $project: { worker: 0, output: 0 } },
      ])
      .toArray();
    return docs.map(docToExecution);
  }

  async batchSummary(batchId: string): Promise<BatchSummary | null> {
    // execution_batch_idx. $min and $max skip nulls, as SQL's min and max do.
    const groups = await this.c.executions
      .aggregate<BatchGroup>([
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
        { $set: { status: '$_id' } },
      ])
      .toArray();
    return batchSummaryOf(batchId, groups);
  }

  async getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats } | null> {
    const doc = await this.c.jobs.findOne({ _id: jobId });
    return doc ? { job: docToJob(doc), stats: await this.jobStats(jobId) } : null;
  }

  private async jobStats(jobId: string): Promise<JobStats> {
    // execution_job_idx, for both queries.
    const [agg] = await this.c.executions
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
    const latest = await this.c.executions.findOne({ job_id: jobId }, { sort: { created_at: -1, _id: -1 }, projection: { output: 0 } });
    return {
      // No runs: no group at all, where SQL's aggregate answers one row of zeros.
      total: Number(agg?.total ?? 0),
      succeeded: Number(agg?.succeeded ?? 0),
      failed: Number(agg?.failed ?? 0),
      average_duration_ms: agg?.avg_ms === null || agg?.avg_ms === undefined ? null : Math.round(Number(agg.avg_ms)),
      latest: latest ? docToExecution(latest) : null,
    };
  }

  async queuedCount() {
    // execution_status_idx
    return this.c.executions.countDocuments({ status: 'queued' });
  }

  async chainsPending(before: Date, limit: number) {
    // execution_chains_pending_idx
    const docs = await this.c.executions
      .find({ chains_pending: true, finished_at: { $lt: before }, status: { $nin: [...activeStatuses] } })
      .sort({ finished_at: 1 })
      .limit(limit)
      .toArray();
    return docs.map(docToExecution);
  }
}
