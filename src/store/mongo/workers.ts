import type { Page, WorkerHeartbeat, WorkerRecord, WorkerState } from '../records.js';
import type { WorkerStore } from '../workers.js';
import { aliveStates, type Collections } from './collections.js';
import { countsOf, docToWorker, workerToDoc, type WorkerDoc } from './docs.js';
import { keysetPage, type Keyset } from './keyset.js';

/** Workers newest first: worker_started_idx. */
const workersNewestFirst: Keyset<WorkerDoc, WorkerRecord> = {
  order: 'newest',
  field: 'started_at',
  toItem: docToWorker,
  keyOf: (w) => [w.started_at.getTime(), w.id],
};

/** Worker records on MongoDB: the `workers` collection. */
export class MongoWorkerStore implements WorkerStore {
  constructor(private readonly c: Collections) {}

  async registerWorker(w: WorkerRecord) {
    await this.c.workers.insertOne(workerToDoc(w));
  }

  async heartbeatWorker(id: string, beat: WorkerHeartbeat) {
    // _id_. A gone worker stays gone: its runs were settled as lost and may run elsewhere.
    const doc = await this.c.workers.findOneAndUpdate(
      { _id: id, state: { $ne: 'gone' } },
      { $set: { heartbeat_at: beat.heartbeat_at, running: beat.running, cpu_load: beat.cpu_load, memory: beat.memory } },
      { returnDocument: 'after' },
    );
    return doc ? docToWorker(doc) : null;
  }

  async getWorker(id: string) {
    const doc = await this.c.workers.findOne({ _id: id });
    return doc ? docToWorker(doc) : null;
  }

  listWorkers(after: string | null, limit: number): Promise<Page<WorkerRecord>> {
    return keysetPage(this.c.workers, workersNewestFirst, {}, after, limit);
  }

  async setWorkerState(id: string, state: WorkerState) {
    const doc = await this.c.workers.findOneAndUpdate({ _id: id, state: { $ne: 'gone' } }, { $set: { state } }, { returnDocument: 'after' });
    return doc ? docToWorker(doc) : null;
  }

  /** MongoDB gives no view of other clients' connections: workers are told gone by their heartbeats only. */
  async holdWorkerSession() {
    return null;
  }

  async markWorkersGone(deadline: Date, _sessionDeadline: Date) {
    // worker_alive_idx finds the silent workers; each is then marked with its own conditional
    // update, so an id is returned only by the process whose update moved that worker.
    const silent = { state: { $in: [...aliveStates] }, heartbeat_at: { $lt: deadline } };
    const candidates = await this.c.workers.find(silent, { projection: { _id: 1 } }).toArray();
    const gone: string[] = [];
    for (const { _id } of candidates) {
      const r = await this.c.workers.updateOne({ _id, ...silent }, { $set: { state: 'gone' } });
      if (r.modifiedCount === 1) gone.push(_id);
    }
    return gone;
  }

  async workerCounts() {
    const rows = await this.c.workers.aggregate<{ _id: WorkerState; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray();
    return countsOf<WorkerState>(rows);
  }
}
