import type { EventInput, EventRecord, EventStore, RunEventType } from '../events.js';
import type { Collections } from './collections.js';
import { docToExecution } from './docs.js';

/** An event as stored: `_id` numbers it, drawn from the `events` counter. */
export type EventDoc = Omit<EventRecord, 'id'> & { _id: number };

const docToEvent = ({ _id, ...rest }: EventDoc): EventRecord => ({ id: _id, ...rest });

/**
 * The event log on MongoDB: the `events` collection. Readers poll it (JOBS_SSE_POLL_INTERVAL_MS):
 * change streams need a replica set, which a deployment may not have.
 */
export class MongoEventStore implements EventStore {
  constructor(private readonly c: Collections) {}

  /** Takes `n` ids at once; answers the first. */
  private async ids(n: number): Promise<number> {
    const doc = await this.c.counters.findOneAndUpdate({ _id: 'events' }, { $inc: { n } }, { upsert: true, returnDocument: 'after' });
    return (doc?.n ?? n) - n + 1;
  }

  async appendEvents(events: EventInput[]) {
    if (events.length === 0) return;
    const first = await this.ids(events.length);
    const at = new Date();
    await this.c.events.insertMany(events.map((e, i) => ({ _id: first + i, at, ...e })));
  }

  async appendRunEvents(type: RunEventType, ids: string[]) {
    if (ids.length === 0) return;
    const runs = await this.c.executions.find({ _id: { $in: ids } }, { projection: { output: 0 } }).toArray();
    await this.appendEvents(
      runs.map((e) => ({
        type,
        job_id: e.job_id ?? null,
        execution_id: e._id,
        batch_id: e.batch_id ?? null,
        handler: e.handler,
        status: e.status,
        progress: e.progress ?? null,
        state: null,
      })),
    );
  }

  async readEvents(after: number, also: number[], limit: number) {
    const docs = await this.c.events
      .find({ $or: [{ _id: { $gt: after } }, { _id: { $in: also } }] })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(docToEvent);
  }

  async lastEventId() {
    const [last] = await this.c.events
      .find({}, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .toArray();
    return last?._id ?? 0;
  }

  async deleteEventsBefore(before: Date) {
    return (await this.c.events.deleteMany({ at: { $lt: before } })).deletedCount;
  }

  async followedRun(id: string) {
    const doc = await this.c.executions.findOne({ _id: id });
    return doc ? { execution: docToExecution(doc), lines: doc.output_lines ?? 0 } : null;
  }

  watchEvents() {
    return Promise.resolve(null);
  }
}
