import type { AuditFilter, AuditRecord, Page } from './records.js';

/** Audit records: one per call that changes something. */
export interface AuditStore {
  /**
   * Stores the records. On SQL a record whose id is stored already takes the new one's status
   * and outcome: the record a create stored with its job (only SQL does), when the call's answer
   * then came to another status.
   */
  insertAudits(records: AuditRecord[]): Promise<void>;
  /** Newest first, keyset paged by (time, id). */
  listAudit(filter: AuditFilter, after: string | null, limit: number): Promise<Page<AuditRecord>>;
  /** Adds to the count of records by id (denied calls counted after their record was written). */
  addAuditCounts(counts: Array<{ id: string; count: number }>): Promise<void>;
  /** Deletes the records older than `before` (the retention); resolves with how many. */
  deleteAuditBefore(before: Date): Promise<number>;
}

/** The methods of AuditStore by name: what a store made of record stores delegates (see delegate.ts). */
export const auditStoreMethods: Record<keyof AuditStore, true> = {
  insertAudits: true,
  listAudit: true,
  addAuditCounts: true,
  deleteAuditBefore: true,
};
