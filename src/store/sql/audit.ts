import type { SqlClient } from '../../db/sql-client.js';
import type { AuditStore } from '../audit.js';
import type { AuditFilter, AuditRecord, Page } from '../records.js';
import { keysetPage, type Keyset } from './keyset.js';
import { json, rowToAudit } from './rows.js';
import { insertRowsSql } from './statements.js';

/** Audit records newest first: audit_operation_idx, audit_token_idx or audit_time_idx, each ending in (time DESC, id DESC). */
const auditNewestFirst: Keyset<AuditRecord> = {
  table: 'audit',
  columns: ['time', 'id'],
  direction: 'DESC',
  shape: ['number', 'string'],
  toItem: rowToAudit,
  keyOf: (a) => [a.time.getTime(), a.id],
};

/** Audit records on PostgreSQL and PGlite: the `audit` table. */
export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: SqlClient) {}

  async insertAudits(records: AuditRecord[]) {
    if (records.length === 0) return;
    const { text, params } = insertRowsSql(
      'audit',
      records.map((a) => ({ ...a, overrides: json(a.overrides) })),
    );
    await this.db.query(text, params);
  }

  listAudit(filter: AuditFilter, after: string | null, limit: number): Promise<Page<AuditRecord>> {
    const conditions: Array<[string, unknown]> = [];
    if (filter.operation !== undefined) conditions.push(['operation = ?', filter.operation]);
    if (filter.token_name !== undefined) conditions.push(['token_name = ?', filter.token_name]);
    if (filter.since !== undefined) conditions.push(['time >= ?', filter.since]);
    if (filter.until !== undefined) conditions.push(['time < ?', filter.until]);
    return keysetPage(this.db, auditNewestFirst, conditions, after, limit);
  }
}
