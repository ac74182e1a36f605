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
