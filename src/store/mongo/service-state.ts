import type { ExecutionStatus, ServiceState, ServiceStats, WorkerState } from '../records.js';
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

  async setServiceState(state: ServiceState) {
    await this.c.serviceState.updateOne({ _id: 'service' }, { $set: { state, updated_at: new Date() } }, { upsert: true });
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
