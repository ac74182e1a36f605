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

/** An audit record as a row of `audit` (for insertRowsSql). */
export const auditToRow = (a: AuditRecord) => ({ ...a, overrides: json(a.overrides) });

/** Audit records on PostgreSQL and PGlite: the `audit` table. */
export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: SqlClient) {}

  async insertAudits(records: AuditRecord[]) {
    if (records.length === 0) return;
    const { text, params } = insertRowsSql('audit', records.map(auditToRow), 'ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, outcome = EXCLUDED.outcome');
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

  async addAuditCounts(counts: Array<{ id: string; count: number }>) {
    if (counts.length === 0) return;
    await this.db.query('UPDATE audit SET count = audit.count + v.count FROM json_to_recordset($1::json) AS v(id text, count integer) WHERE audit.id = v.id', [
      JSON.stringify(counts),
    ]);
  }

  async deleteAuditBefore(before: Date) {
    // In slices along audit_time_idx, so a first purge of a large table holds no long lock.
    let total = 0;
    for (;;) {
      const r = await this.db.query('DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < $1 ORDER BY time LIMIT 5000)', [before]);
      const n = r.rowCount ?? 0;
      total += n;
      if (n < 5000) return total;
    }
  }
}
