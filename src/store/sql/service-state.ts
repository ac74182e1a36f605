import type { SqlClient } from '../../db/sql-client.js';
import type { ExecutionStatus, ServiceState, ServiceStats, WorkerState } from '../records.js';
import type { ServiceStateStore } from '../service-state.js';
import { countsOf, type Row } from './rows.js';
import { countWorkersByState } from './workers.js';

const selectServiceState = "SELECT state FROM service_state WHERE id = 'service'";
const upsertServiceState = `INSERT INTO service_state (id, state, updated_at) VALUES ('service', $1, now())
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`;
const countJobs = 'SELECT count(*) AS n FROM job';
const countExecutionsByStatus = 'SELECT status, count(*) AS n FROM execution GROUP BY status';

/** The service state on PostgreSQL and PGlite (the one-row `service_state` table) and the counts of every table. */
export class SqlServiceStateStore implements ServiceStateStore {
  constructor(private readonly db: SqlClient) {}

  async getServiceState(): Promise<ServiceState> {
    const r = await this.db.query<Row>(selectServiceState, []);
    return (r.rows[0]?.state as ServiceState | undefined) ?? 'running';
  }

  async setServiceState(state: ServiceState) {
    await this.db.query(upsertServiceState, [state]);
  }

  async stats(): Promise<ServiceStats> {
    const [workers, jobs, executions] = await Promise.all([
      this.db.query<Row>(countWorkersByState, []),
      this.db.query<Row>(countJobs, []),
      this.db.query<Row>(countExecutionsByStatus, []),
    ]);
    return {
      workers: countsOf<WorkerState>(workers.rows, 'state'),
      jobs: Number(jobs.rows[0].n),
      executions: countsOf<ExecutionStatus>(executions.rows, 'status'),
    };
  }
}
