import type { SqlClient } from '../../db/sql-client.js';
import type { FailureStore } from '../failures.js';
import type { FailureRecord, Page } from '../records.js';
import { keysetPage, type Keyset } from './keyset.js';
import { json, rowToFailure, type Row } from './rows.js';
import { insertSql } from './statements.js';

/** Failures newest first: failure_time_idx. */
const failuresNewestFirst: Keyset<FailureRecord> = {
  table: 'failure',
  columns: ['time', 'id'],
  direction: 'DESC',
  shape: ['number', 'string'],
  toItem: rowToFailure,
  keyOf: (f) => [f.time.getTime(), f.id],
};

const deleteAllFailures = 'DELETE FROM failure RETURNING id';
const deleteFailuresOlderThan = 'DELETE FROM failure WHERE time < $1';

/** Failure records on PostgreSQL and PGlite: the `failure` table. */
export class SqlFailureStore implements FailureStore {
  constructor(private readonly db: SqlClient) {}

  async insertFailure(f: FailureRecord) {
    const { text, params } = insertSql('failure', { ...f, kwargs: json(f.kwargs) });
    await this.db.query(text, params);
  }

  listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>> {
    return keysetPage(this.db, failuresNewestFirst, [], after, limit);
  }

  async deleteFailures() {
    const r = await this.db.query<Row>(deleteAllFailures, []);
    return r.rows.map((x) => x.id as string);
  }

  async deleteFailuresBefore(before: Date) {
    const r = await this.db.query(deleteFailuresOlderThan, [before]);
    return r.rowCount;
  }
}
