import type { Page, WorkerHeartbeat, WorkerRecord, WorkerState } from '../records.js';
import type { WorkerStore } from '../workers.js';
import { appendOutputStages } from './executions.js';
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
    const [token] = await this.drawTokens(1);
    await this.c.workers.insertOne({ ...workerToDoc(w), token });
    return token;
  }

  /** `n` tokens of the fencing counter, each larger than every one drawn before. */
  private async drawTokens(n: number): Promise<number[]> {
    const doc = await this.c.counters.findOneAndUpdate({ _id: 'fencing' }, { $inc: { n } }, { upsert: true, returnDocument: 'after' });
    const last = Number(doc!.n);
    return Array.from({ length: n }, (_, i) => last - n + 1 + i);
  }

  /**
   * Whether this registration is not gone (_id_). MongoDB checks it and the run's own
   * condition in two statements: a worker marked gone between the two still makes that one
   * write, which its settlement (a move from running) then overrides or refuses.
   */
  private async live(workerId: string, token: number) {
    return (await this.c.workers.countDocuments({ _id: workerId, token, state: { $ne: 'gone' } }, { limit: 1 })) === 1;
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

  async markWorkersGone(deadline: Date, _sessionDeadline: Date, except: string | null = null) {
    // worker_alive_idx finds the silent workers; each is then marked with its own conditional
    // update, so an id is returned only by the process whose update moved that worker.
    const silent = { state: { $in: [...aliveStates] }, heartbeat_at: { $lt: deadline } };
    const candidates = await this.c.workers.find(silent, { projection: { _id: 1 } }).toArray();
    const gone: string[] = [];
    for (const { _id } of candidates) {
      if (_id === except) continue;
      const r = await this.c.workers.updateOne({ _id, ...silent }, { $set: { state: 'gone' } });
      if (r.modifiedCount === 1) gone.push(_id);
    }
    return gone;
  }

  async deleteGoneWorkers(before: Date) {
    // worker_gone_idx; a gone worker with a run still running (execution_worker_idx) waits
    // for its settlement.
    const old = await this.c.workers.find({ state: 'gone', heartbeat_at: { $lt: before } }, { projection: { _id: 1 } }).toArray();
    if (old.length === 0) return 0;
    const busy = new Set(await this.c.executions.distinct('worker_id', { status: 'running', worker_id: { $in: old.map((w) => w._id) } }));
    const ids = old.map((w) => w._id).filter((id) => !busy.has(id));
    if (ids.length === 0) return 0;
    const r = await this.c.workers.deleteMany({ _id: { $in: ids }, state: 'gone', heartbeat_at: { $lt: before } });
    return r.deletedCount;
  }

  async fenceRuns(workerId: string, token: number, ids: string[]) {
    const fenced = new Map<string, number>();
    if (ids.length === 0 || !(await this.live(workerId, token))) return fenced;
    const tokens = await this.drawTokens(ids.length);
    await Promise.all(
      ids.map(async (id, i) => {
        // _id_
        const r = await this.c.executions.updateOne({ _id: id, status: 'running', worker_id: workerId }, { $set: { fencing_token: tokens[i] } });
        if (r.modifiedCount === 1) fenced.set(id, tokens[i]);
      }),
    );
    return fenced;
  }

  async writeRunProgress(workerId: string, token: number, id: string, progress: number) {
    if (!(await this.live(workerId, token))) return false;
    const r = await this.c.executions.updateOne({ _id: id, status: 'running', worker_id: workerId }, { $set: { progress } });
    return r.matchedCount === 1;
  }

  async appendRunOutput(workerId: string, token: number, id: string, lines: string[], maxLines: number, maxBytes: number) {
    if (!(await this.live(workerId, token))) return false;
    // _id_. As appendOutput: one pipeline update.
    const r = await this.c.executions.updateOne({ _id: id, status: 'running', worker_id: workerId }, appendOutputStages(lines, maxLines, maxBytes));
    return r.matchedCount === 1;
  }

  async workerCounts() {
    const rows = await this.c.workers.aggregate<{ _id: WorkerState; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray();
    return countsOf<WorkerState>(rows);
  }
}
