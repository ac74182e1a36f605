import { MongoBulkWriteError, type Document } from 'mongodb';
import type { ExecutionStore } from '../executions.js';
import type { JobFilter, JobStore, JobUpdate } from '../jobs.js';
import { countedTriggers, firstOfEachId, type ExecutionRecord, type JobPatch, type JobRecord, type Page } from '../records.js';
import type { Collections } from './collections.js';
import { defined, docToJob, jobToDoc, type JobDoc } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

/** _id_ (job_id order: binary, as PostgreSQL's under the C collation). */
const jobsById: Keyset<JobDoc, JobRecord> = { order: 'id', toItem: docToJob, keyOf: (j) => [j.job_id] };

/** The fields of a job's schedule (core.ts sameSchedule). */
const scheduleFields = ['interval_seconds', 'cron', 'timezone', 'when', 'start_at', 'end_at'] as const;

/**
 * upsertJob's update, one atomic pipeline upsert by _id: every value as a literal (kwargs may
 * hold keys an expression would read). A job stored with the same schedule keeps its next fire
 * (the one the caller read may have fired since, and writing it back would fire it again); a
 * redefined job keeps its history, so created_at, last run, last status and failures in a row
 * are only written on insert (no created_at yet).
 */
function upsertUpdate(job: JobRecord) {
  const { _id, created_at, last_run_at, last_status, failure_streak, next_run_at, ...rest } = jobToDoc(job);
  const literal = (v: unknown) => ({ $literal: v });
  const inserting = { $eq: [{ $type: '$created_at' }, 'missing'] };
  // A field missing from an older document is null here, as in a query.
  const sameSchedule = { $and: scheduleFields.map((f) => ({ $eq: [{ $ifNull: [`$${f}`, null] }, literal(rest[f])] })) };
  const onInsert = (field: string, v: unknown) => ({ $cond: [inserting, literal(v), `$${field}`] });
  const set: Document = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, literal(v)]));
  set.next_run_at = { $cond: [{ $and: [{ $not: [inserting] }, sameSchedule] }, '$next_run_at', literal(next_run_at)] };
  set.created_at = onInsert('created_at', created_at);
  set.last_run_at = onInsert('last_run_at', last_run_at);
  set.last_status = onInsert('last_status', last_status);
  set.failure_streak = onInsert('failure_streak', failure_streak);
  return { filter: { _id }, update: [{ $set: set }] };
}

/** Where a fire's next fire is written: the version it was planned from, or a job still holding the fire it follows. */
function followsFire(u: JobUpdate) {
  return u.fired ? { $or: [{ version: u.version }, { next_run_at: u.fired }] } : { version: u.version };
}

/** Job definitions on MongoDB: the `jobs` collection. */
export class MongoJobStore implements JobStore {
  constructor(
    private readonly c: Collections,
    private readonly executions: Pick<ExecutionStore, 'activeExecutionsOf'>,
  ) {}

  async insertJobs(jobs: JobRecord[]) {
    const docs = firstOfEachId(jobs).map(jobToDoc);
    if (docs.length === 0) return [];
    try {
      await this.c.jobs.insertMany(docs, { ordered: false });
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
    // One atomic upsert by _id.
    const { filter, update } = upsertUpdate(job);
    const doc = await this.c.jobs.findOneAndUpdate(filter, update, { upsert: true, returnDocument: 'after' });
    return docToJob(doc!);
  }

  async upsertJobs(jobs: JobRecord[]) {
    if (jobs.length === 0) return;
    // upsertJob's update for each job, sent as one unordered bulk write (_id_).
    await this.c.jobs.bulkWrite(
      jobs.map((job) => ({ updateOne: { ...upsertUpdate(job), upsert: true } })),
      { ordered: false },
    );
  }

  async getJob(jobId: string) {
    const doc = await this.c.jobs.findOne({ _id: jobId });
    return doc ? docToJob(doc) : null;
  }

  listJobs(after: string | null, limit: number, filter: JobFilter = {}): Promise<Page<JobRecord>> {
    // _id_ in job_id order (an anchored regex is a range of it); the other filters are checked on the documents it walks through.
    const where: Document = {};
    if (filter.search) where._id = { $regex: `^${filter.search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` };
    for (const field of ['handler', 'state', 'source', 'last_status'] as const) if (filter[field]) where[field] = filter[field];
    return keysetPage(this.c.jobs, jobsById, where, after, limit);
  }

  async updateJob(jobId: string, patch: JobPatch) {
    const doc = await this.c.jobs.findOneAndUpdate({ _id: jobId }, { $set: { ...defined(patch), updated_at: patch.updated_at ?? new Date() } }, { returnDocument: 'after' });
    return doc ? docToJob(doc) : null;
  }

  async updateJobAtVersion(jobId: string, version: number, patch: JobPatch) {
    const doc = await this.c.jobs.findOneAndUpdate(
      { _id: jobId, version },
      { $set: { ...defined(patch), updated_at: patch.updated_at ?? new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? docToJob(doc) : null;
  }

  async getJobs(jobIds: string[]) {
    if (jobIds.length === 0) return [];
    // _id_
    const docs = await this.c.jobs.find({ _id: { $in: jobIds } }).toArray();
    return docs.map(docToJob);
  }

  async getJobsWithActiveRuns(jobIds: string[]) {
    const [jobs, active] = await Promise.all([this.getJobs(jobIds), this.executions.activeExecutionsOf(jobIds)]);
    const byJob = new Map<string, ExecutionRecord[]>();
    for (const e of active) (byJob.get(e.job_id!) ?? byJob.set(e.job_id!, []).get(e.job_id!)!).push(e);
    // Jobs with max_runs: their counted runs (execution_job_idx), stopping at max_runs.
    const counted = await Promise.all(
      jobs.map((job) =>
        job.max_runs === null
          ? null
          : this.c.executions.countDocuments({ job_id: job.job_id, trigger: { $in: [...countedTriggers] }, attempt: 1, status: { $ne: 'missed' } }, { limit: job.max_runs }),
      ),
    );
    return jobs.map((job, i) => ({ job, active: byJob.get(job.job_id) ?? [], counted: counted[i] }));
  }

  async updateJobs(updates: JobUpdate[]) {
    if (updates.length === 0) return;
    const now = new Date();
    // _id_; one round trip, each update atomic on its document. A next fire computed from an
    // older version is not written over the job's own (the version's update matches nothing).
    await this.c.jobs.bulkWrite(
      updates.flatMap((u) => {
        const { next_run_at, ...rest } = u.patch;
        const guarded = u.version !== undefined && next_run_at !== undefined;
        const set = guarded ? rest : u.patch;
        return [
          { updateOne: { filter: { _id: u.job_id }, update: { $set: { ...defined(set), updated_at: u.patch.updated_at ?? now } } } },
          ...(guarded ? [{ updateOne: { filter: { _id: u.job_id, ...followsFire(u) }, update: { $set: { next_run_at } } } }] : []),
        ];
      }),
      { ordered: false },
    );
  }

  async deleteJob(jobId: string) {
    await this.c.jobVersions.deleteMany({ job_id: jobId });
    await this.c.pauses.deleteMany({ job_id: jobId });
    const r = await this.c.jobs.deleteOne({ _id: jobId });
    return r.deletedCount === 1;
  }

  async listJobsFromFiles() {
    // job_source_idx
    const docs = await this.c.jobs.find({ source: 'file' }, { projection: { _id: 1, source_file: 1 } }).toArray();
    return docs.map((d) => ({ job_id: d._id, source_file: d.source_file ?? null }));
  }

  async chainedJobs() {
    const docs = await this.c.jobs.find({ $or: ['on_success', 'on_failure', 'on_finish', 'after_all'].map((f) => ({ [`${f}.0`]: { $exists: true } })) }).toArray();
    return docs.map(docToJob);
  }

  async fanInJobs() {
    // job_fan_in_idx
    const docs = await this.c.jobs.find({ 'after_all.0': { $exists: true } }).toArray();
    return docs.map(docToJob);
  }
}
