/**
 * Opaque keyset cursors: the sort key of the last item of a page, so the next page starts
 * strictly after it whatever was inserted or deleted in between.
 */
export function encodeCursor(key: Array<string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export class CursorError extends Error {}

export function decodeCursor(cursor: string, shape: Array<'string' | 'number'>): Array<string | number> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('is not a cursor this service issued');
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((v, i) => typeof v !== shape[i])) {
    throw new CursorError('is not a cursor this service issued');
  }
  return key as Array<string | number>;
}

/**
 * A keyset cursor's key as query values. A key no row can have (a time outside the years 1 to
 * 9999, PostgreSQL's range, where an invalid Date would be sent as the epoch; or text with a
 * NUL, which a PostgreSQL text column cannot hold) is not a cursor a store issued: a
 * CursorError, not a database error, on every store alike.
 */
export function cursorKey(cursor: string, shape: Array<'string' | 'number'>): Array<string | Date> {
  return decodeCursor(cursor, shape).map((v) => {
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw new CursorError('is not a cursor this service issued');
      return v;
    }
    const year = new Date(v).getUTCFullYear();
    if (!(year >= 1 && year <= 9999)) throw new CursorError('is not a cursor this service issued');
    return new Date(v);
  });
}

/**
 * A page from the rows of a keyset query that asked for `limit + 1`: the first `limit` as
 * items, and when the extra row came, the cursor of the last item shown.
 */
export function pageOf<R, T>(
  rows: R[],
  limit: number,
  toItem: (row: R) => T,
  keyOf: (item: T) => Array<string | number>,
): { items: T[]; next: string | null; cursorAfter: (index: number) => string } {
  const items = rows.slice(0, limit).map(toItem);
  const page = { items, next: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null } as {
    items: T[];
    next: string | null;
    cursorAfter: (index: number) => string;
  };
  // Not enumerable: a page still reads (and compares) as its items and next cursor.
  Object.defineProperty(page, 'cursorAfter', { value: (i: number) => encodeCursor(keyOf(items[i])), enumerable: false });
  return page;
}
