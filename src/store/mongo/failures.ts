import type { FailureStore } from '../failures.js';
import type { FailureRecord, Page } from '../records.js';
import type { Collections } from './collections.js';
import { docToFailure, failureToDoc, type FailureDoc } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

/** Failures newest first: failure_time_idx. */
const failuresNewestFirst: Keyset<FailureDoc, FailureRecord> = {
  order: 'newest',
  field: 'time',
  toItem: docToFailure,
  keyOf: (f) => [f.time.getTime(), f.id],
};

/** Failure records on MongoDB: the `failures` collection. */
export class MongoFailureStore implements FailureStore {
  constructor(private readonly c: Collections) {}

  async insertFailure(f: FailureRecord) {
    await this.c.failures.insertOne(failureToDoc(f));
  }

  listFailures(after: string | null, limit: number): Promise<Page<FailureRecord>> {
    return keysetPage(this.c.failures, failuresNewestFirst, {}, after, limit);
  }

  async deleteFailures() {
    // _id_. No delete returns what it deleted: the ids are read, then deleted by id, so a
    // failure recorded in between stays and is not reported.
    const ids = (await this.c.failures.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
    for (let i = 0; i < ids.length; i += 1000) {
      await this.c.failures.deleteMany({ _id: { $in: ids.slice(i, i + 1000) } });
    }
    return ids;
  }

  async deleteFailuresBefore(before: Date) {
    // failure_time_idx
    const r = await this.c.failures.deleteMany({ time: { $lt: before } });
    return r.deletedCount;
  }
}
