import type { SqlClient } from '../../db/sql-client.js';
import type { ExecutionStatus, ServicePause, ServiceState, ServiceStats, WorkerState } from '../records.js';
import type { ServiceStateStore } from '../service-state.js';
import { countsOf, type Row } from './rows.js';
import { countWorkersByState } from './workers.js';

const selectServiceState = "SELECT state FROM service_state WHERE id = 'service'";
// The pause's time and author are written by the change to paused only, in the same statement
// as the state, so a second pause or two processes pausing at once keep the first.
const upsertServiceState = `INSERT INTO service_state AS s (id, state, updated_at, paused_at, paused_by)
  VALUES ('service', $1::text, now(), CASE WHEN $1::text = 'paused' THEN now() END, CASE WHEN $1::text = 'paused' THEN $2::text END)
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at,
    paused_at = CASE WHEN EXCLUDED.state <> 'paused' THEN NULL WHEN s.state = 'paused' THEN s.paused_at ELSE EXCLUDED.paused_at END,
    paused_by = CASE WHEN EXCLUDED.state <> 'paused' THEN NULL WHEN s.state = 'paused' THEN s.paused_by ELSE EXCLUDED.paused_by END`;
const selectServicePause = "SELECT paused_at, paused_by FROM service_state WHERE id = 'service' AND state = 'paused'";
const countJobs = 'SELECT count(*) AS n FROM job';
// Ended runs from their counts (execution_count), runs under way from execution_active: a
// few rows per job, not one per run.
export const countExecutionsByStatus = `SELECT status, sum(executions) AS n FROM execution_count GROUP BY status HAVING sum(executions) <> 0
  UNION ALL SELECT status, count(*) AS n FROM execution_active GROUP BY status`;

/** The service state on PostgreSQL and PGlite (the one-row `service_state` table) and the counts of every table. */
export class SqlServiceStateStore implements ServiceStateStore {
  constructor(private readonly db: SqlClient) {}

  async getServiceState(): Promise<ServiceState> {
    const r = await this.db.query<Row>(selectServiceState, []);
    return (r.rows[0]?.state as ServiceState | undefined) ?? 'running';
  }

  async setServiceState(state: ServiceState, by: string | null = null) {
    await this.db.query(upsertServiceState, [state, by]);
  }

  async getServicePause(): Promise<ServicePause | null> {
    const row = (await this.db.query<Row>(selectServicePause, [])).rows[0];
    return row ? { paused_at: (row.paused_at as Date | null) ?? null, paused_by: (row.paused_by as string | null) ?? null } : null;
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
