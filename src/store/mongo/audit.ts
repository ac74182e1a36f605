import type { Document } from 'mongodb';
import type { AuditStore } from '../audit.js';
import type { AuditFilter, AuditRecord, Page } from '../records.js';
import type { Collections } from './collections.js';
import { auditToDoc, docToAudit, type AuditDoc } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

/** Audit records newest first: audit_operation_idx, audit_token_idx or audit_time_idx, each ending in (time -1, _id -1). */
const auditNewestFirst: Keyset<AuditDoc, AuditRecord> = {
  order: 'newest',
  field: 'time',
  toItem: docToAudit,
  keyOf: (a) => [a.time.getTime(), a.id],
};

/** Audit records on MongoDB: the `audit` collection. */
export class MongoAuditStore implements AuditStore {
  constructor(private readonly c: Collections) {}

  async insertAudits(records: AuditRecord[]) {
    if (records.length) await this.c.audit.insertMany(records.map(auditToDoc));
  }

  listAudit(filter: AuditFilter, after: string | null, limit: number): Promise<Page<AuditRecord>> {
    const where: Document = {};
    if (filter.operation !== undefined) where.operation = filter.operation;
    if (filter.token_name !== undefined) where.token_name = filter.token_name;
    const time: { $gte?: Date; $lt?: Date } = {};
    if (filter.since !== undefined) time.$gte = filter.since;
    if (filter.until !== undefined) time.$lt = filter.until;
    if (Object.keys(time).length > 0) where.time = time;
    return keysetPage(this.c.audit, auditNewestFirst, where, after, limit);
  }

  async addAuditCounts(counts: Array<{ id: string; count: number }>) {
    if (counts.length === 0) return;
    // A record written before the count was kept has none: it stands for one call.
    await this.c.audit.bulkWrite(
      counts.map(({ id, count }) => ({
        updateOne: { filter: { _id: id }, update: [{ $set: { count: { $add: [{ $ifNull: ['$count', 1] }, count] } } }] },
      })),
      { ordered: false },
    );
  }

  async deleteAuditBefore(before: Date) {
    // audit_time_idx: a range on time.
    const r = await this.c.audit.deleteMany({ time: { $lt: before } });
    return r.deletedCount;
  }
}
