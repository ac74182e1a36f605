import type { ExecutionStatus, ServicePause, ServiceState, ServiceStats, WorkerState } from '../records.js';
import type { ServiceStateStore } from '../service-state.js';
import type { Collections } from './collections.js';
import { countsOf } from './docs.js';

/** The service state on MongoDB (one document of `service_state`) and the counts of every collection. */
export class MongoServiceStateStore implements ServiceStateStore {
  constructor(private readonly c: Collections) {}

  async getServiceState(): Promise<ServiceState> {
    const doc = await this.c.serviceState.findOne({ _id: 'service' });
    return doc?.state ?? 'running';
  }

  async setServiceState(state: ServiceState, by: string | null = null) {
    // A pipeline update reads the stored state in the same single-document write, as the SQL
    // statement does: the change to paused records its time and author, a second pause keeps
    // them, a resume clears them. $literal keeps a name starting with $ a value.
    const toPaused = state === 'paused';
    const keepOr = (field: string, value: unknown) => (toPaused ? { $cond: [{ $eq: ['$state', 'paused'] }, `$${field}`, value] } : null);
    await this.c.serviceState.updateOne(
      { _id: 'service' },
      [{ $set: { paused_at: keepOr('paused_at', '$$NOW'), paused_by: keepOr('paused_by', { $literal: by }), state: { $literal: state }, updated_at: '$$NOW' } }],
      { upsert: true },
    );
  }

  async getServicePause(): Promise<ServicePause | null> {
    const doc = await this.c.serviceState.findOne({ _id: 'service', state: 'paused' });
    return doc ? { paused_at: doc.paused_at ?? null, paused_by: doc.paused_by ?? null } : null;
  }

  async stats(): Promise<ServiceStats> {
    // Whole-collection counts, as PostgreSQL's count(*) ... GROUP BY.
    const [workers, jobs, executions] = await Promise.all([
      this.c.workers.aggregate<{ _id: WorkerState; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray(),
      this.c.jobs.countDocuments({}),
      this.c.executions.aggregate<{ _id: ExecutionStatus; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }]).toArray(),
    ]);
    return { workers: countsOf<WorkerState>(workers), jobs, executions: countsOf<ExecutionStatus>(executions) };
  }
}
