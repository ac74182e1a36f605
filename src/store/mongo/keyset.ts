import type { Collection, Document, Filter, Sort } from 'mongodb';
import { cursorKey, pageOf } from '../cursor.js';
import type { Page } from '../records.js';

/**
 * How one list pages: by `_id` ascending, or newest first by a time field then `_id` (an index
 * ends in `(field -1, _id -1)`, so the keyset condition is an index range and the sort needs
 * no sorting).
 */
export type Keyset<D, T> = { toItem: (doc: D) => T; keyOf: (item: T) => Array<string | number>; projection?: Document } & ({ order: 'id' } | { order: 'newest'; field: string });

/**
 * One page of `keyset` after the cursor `after`: the documents matching `where`, then the
 * keyset condition, `limit + 1` of them to tell whether more follow. Newest first, the
 * condition `(field, _id) < (at, id)` is written as `field <= at` (an index range, merged
 * with any range `where` puts on the field) plus an `$or` that only has to look at the
 * entries equal to `at`.
 */
export async function keysetPage<D extends Document & { _id: string }, T>(
  collection: Collection<D>,
  keyset: Keyset<D, T>,
  where: Document,
  after: string | null,
  limit: number,
): Promise<Page<T>> {
  const filter: Document = { ...where };
  let sort: Sort;
  if (keyset.order === 'id') {
    if (after !== null) filter._id = { $gt: cursorKey(after, ['string'])[0] as string };
    sort = { _id: 1 };
  } else {
    const { field } = keyset;
    if (after !== null) {
      const [at, id] = cursorKey(after, ['number', 'string']) as [Date, string];
      filter[field] = { ...(filter[field] as Document | undefined), $lte: at };
      filter.$or = [{ [field]: { $lt: at } }, { _id: { $lt: id } }];
    }
    sort = { [field]: -1, _id: -1 };
  }
  const docs = (await collection
    .find(filter as Filter<D>, keyset.projection ? { projection: keyset.projection } : {})
    .sort(sort)
    .limit(limit + 1)
    .toArray()) as D[];
  return pageOf(docs, limit, keyset.toItem, keyset.keyOf);
}
