import { fireTriggers, type HistoryStore } from '../history.js';
import type { ExecutionTrigger, JobVersionRecord, PauseRecord } from '../records.js';
import type { Collections } from './collections.js';
import { docToExecution, type JobVersionDoc, type PauseDoc } from './docs.js';

const toVersion = ({ _id, ...v }: JobVersionDoc): JobVersionRecord => ({ ...v, first_fire: v.first_fire ?? null, changed_by: v.changed_by ?? null });
const toPause = (d: PauseDoc): PauseRecord => ({ job_id: d.job_id ?? null, paused_at: d.paused_at, resumed_at: d.resumed_at ?? null });

/** Versions and pauses on MongoDB: the `job_versions` and `pauses` collections. */
export class MongoHistoryStore implements HistoryStore {
  constructor(private readonly c: Collections) {}

  async insertJobVersions(versions: JobVersionRecord[]) {
    if (versions.length === 0) return;
    // _id_: an upsert that only inserts, so a version stored already stays as it is.
    await this.c.jobVersions.bulkWrite(
      versions.map((v) => {
        // The filter's _id is the inserted document's.
        return { updateOne: { filter: { _id: `${v.job_id}#${v.version}` }, update: { $setOnInsert: v }, upsert: true } };
      }),
      { ordered: false },
    );
  }

  async listJobVersions(jobId: string, from: number, limit: number) {
    // job_version_idx
    const docs = await this.c.jobVersions
      .find({ job_id: jobId, version: { $gte: from } })
      .sort({ version: 1 })
      .limit(limit)
      .toArray();
    return docs.map(toVersion);
  }

  async getJobVersion(jobId: string, version: number) {
    const doc = await this.c.jobVersions.findOne({ job_id: jobId, version });
    return doc ? toVersion(doc) : null;
  }

  async startPause(jobId: string | null, at: Date) {
    // One open pause per job (or for the service): its _id names it, so a second insert fails.
    const _id = `open#${jobId ?? ''}`;
    await this.c.pauses.updateOne({ _id }, { $setOnInsert: { job_id: jobId, paused_at: at, resumed_at: null } }, { upsert: true });
  }

  async endPause(jobId: string | null, at: Date) {
    const open = await this.c.pauses.findOne({ _id: `open#${jobId ?? ''}` });
    if (!open) return;
    // Closed under an id of its own, then the open one goes; a crash between leaves both, and
    // the ledger reads the open one as still paused until the next resume closes it.
    await this.c.pauses.updateOne(
      { _id: `closed#${jobId ?? ''}#${open.paused_at.getTime()}` },
      { $setOnInsert: { job_id: jobId, paused_at: open.paused_at, resumed_at: at } },
      { upsert: true },
    );
    await this.c.pauses.deleteOne({ _id: open._id });
  }

  async listPauses(jobId: string, since: Date, until: Date) {
    // pause_job_idx
    const docs = await this.c.pauses
      .find({ job_id: { $in: [jobId, null] }, paused_at: { $lt: until }, $or: [{ resumed_at: null }, { resumed_at: { $gt: since } }] })
      .sort({ paused_at: 1 })
      .toArray();
    return docs.map(toPause);
  }

  async listFires(jobId: string, since: Date, until: Date, limit: number) {
    // execution_job_scheduled_idx
    const docs = await this.c.executions
      .find({ job_id: jobId, attempt: 1, scheduled_at: { $gte: since, $lt: until }, trigger: { $in: fireTriggers as ExecutionTrigger[] } })
      .sort({ scheduled_at: 1, created_at: 1 })
      .limit(limit)
      .toArray();
    return docs.map(docToExecution);
  }
}
