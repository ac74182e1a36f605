import type { SqlClient } from '../../db/sql-client.js';
import { cursorKey, pageOf } from '../cursor.js';
import type { Page } from '../records.js';
import type { Row } from './rows.js';

/**
 * How one list pages: the table, its sort columns (unique together; an index ends in them,
 * so the keyset condition is an index range) and how an item's cursor is made.
 */
export interface Keyset<T> {
  table: string;
  columns: string[];
  direction: 'ASC' | 'DESC';
  /** The types of the cursor's key, one per column ('number' for a time, sent as a Date). */
  shape: Array<'string' | 'number'>;
  toItem: (row: Row) => T;
  keyOf: (item: T) => Array<string | number>;
  /** Prepare the statement (see QueryOptions.prepare): only for a list without filters. */
  prepare?: boolean;
  /** The select list; `*` when unset. */
  select?: string;
}

/**
 * One page of `keyset` after the cursor `after`: the rows matching every condition (each
 * `[sql with one ?, value]`), then the keyset condition, in the keyset's order, `limit + 1`
 * rows to tell whether more follow.
 */
export async function keysetPage<T>(db: SqlClient, keyset: Keyset<T>, conditions: Array<[string, unknown]>, after: string | null, limit: number): Promise<Page<T>> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [cond, value] of conditions) {
    params.push(value);
    where.push(cond.replace('?', `$${params.length}`));
  }
  const { columns } = keyset;
  if (after !== null) {
    const key = cursorKey(after, keyset.shape);
    const first = params.length + 1;
    params.push(...key);
    const values = key.map((_, i) => `$${first + i}`);
    const [lhs, rhs] = columns.length === 1 ? [columns[0], values[0]] : [`(${columns.join(', ')})`, `(${values.join(', ')})`];
    where.push(`${lhs} ${keyset.direction === 'DESC' ? '<' : '>'} ${rhs}`);
  }
  params.push(limit + 1);
  const order = columns.map((c) => (keyset.direction === 'DESC' ? `${c} DESC` : c)).join(', ');
  const r = await db.query<Row>(
    `SELECT ${keyset.select ?? '*'} FROM ${keyset.table} ${where.length ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY ${order} LIMIT $${params.length}`,
    params,
    keyset.prepare ? { prepare: true } : undefined,
  );
  return pageOf(r.rows, limit, keyset.toItem, keyset.keyOf);
}
