import { MongoBulkWriteError } from 'mongodb';
import type { NotificationStore } from '../notifications.js';
import type { DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryStatus, NotifyDefaults, NotifyRule, Page } from '../records.js';
import type { Collections } from './collections.js';
import { docToJob } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

export type DeliveryDoc = Omit<DeliveryRecord, 'id'> & { _id: string };
export interface NotifyDefaultsDoc {
  _id: string;
  notify: NotifyRule[];
  updated_at: Date;
  updated_by: string | null;
}
export interface NotifyMarkDoc {
  _id: string;
  created_at: Date;
}

const docToDelivery = ({ _id, ...rest }: DeliveryDoc): DeliveryRecord => ({ id: _id, ...rest, attempts: rest.attempts ?? [], locked_until: rest.locked_until ?? null });

/** notification_delivery_created_idx, or notification_delivery_job_idx with a job. */
const deliveriesNewestFirst: Keyset<DeliveryDoc, DeliveryRecord> = { order: 'newest', field: 'created_at', toItem: docToDelivery, keyOf: (d) => [d.created_at.getTime(), d.id] };

const isDuplicates = (err: unknown) => err instanceof MongoBulkWriteError && [err.writeErrors].flat().every((e) => e.code === 11000);

/** Notifications on MongoDB: the deliveries, notify_defaults and notify_marks collections, and the job's counters. */
export class MongoNotificationStore implements NotificationStore {
  constructor(private readonly c: Collections) {}

  async countRunEnd(jobId: string, failed: boolean) {
    // One pipeline update reads the stored streak and state in the same single-document write,
    // as the SQL statement does; the document before it is answered, the one after derived.
    const streak = { $ifNull: ['$failure_streak', 0] };
    const reaches = { $and: [failed, { $ne: [{ $ifNull: ['$pause_after_failures', null] }, null] }, { $gte: [{ $add: [streak, 1] }, '$pause_after_failures'] }] };
    const before = await this.c.jobs.findOneAndUpdate(
      { _id: jobId },
      [{ $set: { state: { $cond: [reaches, 'paused', '$state'] }, failure_streak: failed ? { $add: [streak, 1] } : 0, updated_at: '$$NOW' } }],
      { returnDocument: 'before' },
    );
    if (!before) return null;
    const job = docToJob(before);
    const streakBefore = job.failure_streak;
    const after = failed ? streakBefore + 1 : 0;
    const paused = failed && job.pause_after_failures !== null && after >= job.pause_after_failures;
    return { job: { ...job, failure_streak: after, state: paused ? ('paused' as const) : job.state }, streak_before: streakBefore, state_before: job.state };
  }

  async insertDeliveries(deliveries: DeliveryRecord[]) {
    if (deliveries.length === 0) return;
    try {
      await this.c.deliveries.insertMany(
        deliveries.map(({ id, ...rest }) => ({ _id: id, ...rest, attempts: [], locked_until: null })),
        { ordered: false },
      );
    } catch (err) {
      // A delivery inserted already (a try whose answer was lost) stays as it is.
      if (!isDuplicates(err)) throw err;
    }
  }

  async claimDeliveries(now: Date, lockedUntil: Date, limit: number) {
    const claimed: DeliveryRecord[] = [];
    // One conditional update per delivery: two processes never take the same one.
    while (claimed.length < limit) {
      const doc = await this.c.deliveries.findOneAndUpdate(
        { next_attempt_at: { $lte: now }, $or: [{ status: 'pending' }, { status: 'sending', locked_until: { $lt: now } }] },
        { $set: { status: 'sending', locked_until: lockedUntil } },
        { sort: { next_attempt_at: 1 }, returnDocument: 'after' },
      );
      if (!doc) break;
      claimed.push(docToDelivery(doc));
    }
    return claimed;
  }

  async settleDelivery(id: string, status: DeliveryStatus, attempt: DeliveryAttempt, nextAttemptAt: Date, deliveredAt: Date | null) {
    await this.c.deliveries.updateOne(
      { _id: id },
      { $set: { status, next_attempt_at: nextAttemptAt, delivered_at: deliveredAt, locked_until: null }, $push: { attempts: attempt } },
    );
  }

  listDeliveries(filter: DeliveryFilter, after: string | null, limit: number): Promise<Page<DeliveryRecord>> {
    const where: Record<string, unknown> = {};
    if (filter.job_id !== undefined) where.job_id = filter.job_id;
    if (filter.status !== undefined) where.status = filter.status;
    return keysetPage(this.c.deliveries, deliveriesNewestFirst, where, after, limit);
  }

  async deleteDeliveriesBefore(before: Date) {
    const r = await this.c.deliveries.deleteMany({ created_at: { $lt: before }, status: { $in: ['delivered', 'failed'] } });
    return r.deletedCount;
  }

  async getNotifyDefaults(): Promise<NotifyDefaults> {
    const doc = await this.c.notifyDefaults.findOne({ _id: 'service' });
    return doc ? { notify: doc.notify, updated_at: doc.updated_at, updated_by: doc.updated_by ?? null } : { notify: [], updated_at: null, updated_by: null };
  }

  async setNotifyDefaults(notify: NotifyRule[], by: string | null): Promise<NotifyDefaults> {
    const updated_at = new Date();
    await this.c.notifyDefaults.updateOne({ _id: 'service' }, { $set: { notify, updated_at, updated_by: by } }, { upsert: true });
    return { notify, updated_at, updated_by: by };
  }

  async jobsWithDeadlines() {
    return (await this.c.jobs.find({ deadline: { $type: 'object' } }).toArray()).map(docToJob);
  }

  async markOnce(keys: string[], at: Date) {
    if (keys.length === 0) return [];
    try {
      await this.c.notifyMarks.insertMany(
        keys.map((k) => ({ _id: k, created_at: at })),
        { ordered: false },
      );
      return keys;
    } catch (err) {
      if (!isDuplicates(err)) throw err;
      const taken = new Set([(err as MongoBulkWriteError).writeErrors].flat().map((e) => e.index));
      return keys.filter((_, i) => !taken.has(i));
    }
  }

  async deleteMarksBefore(before: Date) {
    await this.c.notifyMarks.deleteMany({ created_at: { $lt: before } });
  }
}
