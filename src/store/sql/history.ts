import type { SqlClient } from '../../db/sql-client.js';
import { fireTriggers, type HistoryStore } from '../history.js';
import type { JobVersionRecord, PauseRecord } from '../records.js';
import { rowToExecution, sqlList, type Row } from './rows.js';

const insertVersions = `INSERT INTO job_version (job_id, version, changed_at, changed_by, changed, definition, first_fire)
  SELECT v.job_id, v.version, v.changed_at, v.changed_by, v.changed::text[], v.definition, v.first_fire
    FROM unnest($1::text[], $2::integer[], $3::timestamptz[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])
      AS v(job_id, version, changed_at, changed_by, changed, definition, first_fire)
  ON CONFLICT (job_id, version) DO NOTHING`;
// job_version_pkey
const selectVersions = 'SELECT * FROM job_version WHERE job_id = $1 AND version >= $2 ORDER BY version LIMIT $3';
const selectVersion = 'SELECT * FROM job_version WHERE job_id = $1 AND version = $2';
// pause_job_idx / pause_service_idx
const startJobPause = 'INSERT INTO pause (job_id, paused_at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM pause WHERE job_id = $1 AND resumed_at IS NULL)';
const startServicePause = 'INSERT INTO pause (job_id, paused_at) SELECT NULL, $1 WHERE NOT EXISTS (SELECT 1 FROM pause WHERE job_id IS NULL AND resumed_at IS NULL)';
const endJobPause = 'UPDATE pause SET resumed_at = $2 WHERE job_id = $1 AND resumed_at IS NULL';
const endServicePause = 'UPDATE pause SET resumed_at = $1 WHERE job_id IS NULL AND resumed_at IS NULL';
const selectPauses = `SELECT job_id, paused_at, resumed_at FROM pause
  WHERE (job_id = $1 OR job_id IS NULL) AND paused_at < $3 AND (resumed_at IS NULL OR resumed_at > $2) ORDER BY paused_at`;
// execution_job_scheduled_idx
const selectFires = `SELECT * FROM execution WHERE job_id = $1 AND attempt = 1 AND scheduled_at >= $2 AND scheduled_at < $3
  AND trigger IN (${sqlList(fireTriggers)}) ORDER BY scheduled_at, created_at LIMIT $4`;

function rowToVersion(r: Row): JobVersionRecord {
  return {
    job_id: r.job_id as string,
    version: Number(r.version),
    changed_at: r.changed_at as Date,
    changed_by: (r.changed_by as string | null) ?? null,
    changed: (r.changed as string[]) ?? [],
    definition: (r.definition ?? {}) as Record<string, unknown>,
    first_fire: (r.first_fire as Date | null) ?? null,
  };
}

/** Versions and pauses on PostgreSQL and PGlite: the `job_version` and `pause` tables. */
export class SqlHistoryStore implements HistoryStore {
  constructor(private readonly db: SqlClient) {}

  async insertJobVersions(versions: JobVersionRecord[]) {
    if (versions.length === 0) return;
    await this.db.query(insertVersions, [
      versions.map((v) => v.job_id),
      versions.map((v) => v.version),
      versions.map((v) => v.changed_at),
      versions.map((v) => v.changed_by),
      // A text[] per row would need a 2-D array of one shape; kept as a literal each.
      versions.map((v) => `{${v.changed.map((c) => `"${c.replace(/["\\]/g, '\\$&')}"`).join(',')}}`),
      versions.map((v) => JSON.stringify(v.definition)),
      versions.map((v) => v.first_fire),
    ]);
  }

  async listJobVersions(jobId: string, from: number, limit: number) {
    const r = await this.db.query<Row>(selectVersions, [jobId, from, limit]);
    return r.rows.map(rowToVersion);
  }

  async getJobVersion(jobId: string, version: number) {
    const r = await this.db.query<Row>(selectVersion, [jobId, version]);
    return r.rows[0] ? rowToVersion(r.rows[0]) : null;
  }

  async startPause(jobId: string | null, at: Date) {
    if (jobId === null) await this.db.query(startServicePause, [at]);
    else await this.db.query(startJobPause, [jobId, at]);
  }

  async endPause(jobId: string | null, at: Date) {
    if (jobId === null) await this.db.query(endServicePause, [at]);
    else await this.db.query(endJobPause, [jobId, at]);
  }

  async listPauses(jobId: string, since: Date, until: Date): Promise<PauseRecord[]> {
    const r = await this.db.query<Row>(selectPauses, [jobId, since, until]);
    return r.rows.map((x) => ({ job_id: (x.job_id as string | null) ?? null, paused_at: x.paused_at as Date, resumed_at: (x.resumed_at as Date | null) ?? null }));
  }

  async listFires(jobId: string, since: Date, until: Date, limit: number) {
    const r = await this.db.query<Row>(selectFires, [jobId, since, until, limit]);
    return r.rows.map(rowToExecution);
  }
}
