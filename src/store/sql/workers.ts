import { sessionLockKeys, type SqlClient } from '../../db/sql-client.js';
import type { Page, WorkerHeartbeat, WorkerRecord, WorkerState } from '../records.js';
import type { WorkerStore } from '../workers.js';
import { outputTrimmedNote } from '../executions.js';
import { cappedOutput } from './executions.js';
import { keysetPage, type Keyset } from './keyset.js';
import { countsOf, json, rowToWorker, type Row } from './rows.js';

/** Workers newest first: worker_started_idx. */
const workersNewestFirst: Keyset<WorkerRecord> = {
  table: 'worker',
  columns: ['started_at', 'id'],
  direction: 'DESC',
  shape: ['number', 'string'],
  toItem: rowToWorker,
  keyOf: (w) => [w.started_at.getTime(), w.id],
};

// A gone worker stays gone: its runs were settled as lost and may run elsewhere.
const heartbeatLiveWorker = `UPDATE worker SET heartbeat_at = $2, running = $3, cpu_load = $4, memory = $5
  WHERE id = $1 AND state <> 'gone' RETURNING *`;
const selectWorker = 'SELECT * FROM worker WHERE id = $1';
const setLiveWorkerState = "UPDATE worker SET state = $2 WHERE id = $1 AND state <> 'gone' RETURNING *";
const markSessionLocked = 'UPDATE worker SET session_lock = true WHERE id = $1';
// worker_alive_idx; a worker tied to a session (never one on the embedded store) is alive
// while its lock shows in pg_locks.
const markSilentWorkersGone = `UPDATE worker w SET state = 'gone'
  WHERE state <> 'gone' AND w.id IS DISTINCT FROM $3::text
    AND (heartbeat_at < $1
         OR (session_lock AND heartbeat_at < $2 AND NOT EXISTS (
               SELECT 1 FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND (l.classid, l.objid) = (SELECT k1::oid, k2::oid FROM (SELECT ${sessionLockKeys('w.id')}) AS k(k1, k2)))))
  RETURNING id`;
// worker_gone_idx; a gone worker with a run still running waits for its settlement
// (execution_active: the runs under way).
const deleteOldGoneWorkers = `DELETE FROM worker w
  WHERE state = 'gone' AND heartbeat_at < $1
    AND NOT EXISTS (SELECT 1 FROM execution_active a WHERE a.worker_id = w.id AND a.status = 'running')`;
// The condition of every write a worker makes to its runs: the run is running on this
// registration (worker_pkey), which is not gone.
const ownedRun = `t.status = 'running' AND t.worker_id = $1
    AND EXISTS (SELECT 1 FROM worker w WHERE w.id = $1 AND w.token = $2 AND w.state <> 'gone')`;
// execution_pkey for the runs.
const fenceOwnedRuns = `UPDATE execution t SET fencing_token = nextval('fencing_token_seq')
  WHERE t.id = ANY($3::text[]) AND ${ownedRun}
  RETURNING t.id, t.fencing_token`;
const writeOwnedProgress = `UPDATE execution t SET progress = $4 WHERE t.id = $3 AND ${ownedRun}`;
// As appendOutput: keeps the newest $5 lines within $6 bytes (note $7).
const appendOwnedOutput = `UPDATE execution t
    SET (output, output_truncated) = ${cappedOutput('t.output', 't.output_truncated', '$4::text[]', '$5::int', '$6::int', '$7::text')},
        output_lines = t.output_lines + cardinality($4::text[])
  WHERE t.id = $3 AND ${ownedRun}`;
export const countWorkersByState = 'SELECT state, count(*) AS n FROM worker GROUP BY state';

/** Worker records on PostgreSQL and PGlite: the `worker` table. */
export class SqlWorkerStore implements WorkerStore {
  constructor(private readonly db: SqlClient) {}

  async registerWorker(w: WorkerRecord) {
    const row: Row = { ...w, memory: json(w.memory) };
    const cols = Object.keys(row);
    const r = await this.db.query<Row>(
      `INSERT INTO worker (${cols.map((c) => `"${c}"`).join(', ')}, token)
       VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, nextval('fencing_token_seq')) RETURNING token`,
      Object.values(row),
    );
    return Number(r.rows[0].token);
  }

  async heartbeatWorker(id: string, beat: WorkerHeartbeat) {
    const r = await this.db.query<Row>(heartbeatLiveWorker, [id, beat.heartbeat_at, beat.running, beat.cpu_load, json(beat.memory)]);
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  async getWorker(id: string) {
    const r = await this.db.query<Row>(selectWorker, [id]);
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  listWorkers(after: string | null, limit: number): Promise<Page<WorkerRecord>> {
    return keysetPage(this.db, workersNewestFirst, [], after, limit);
  }

  async setWorkerState(id: string, state: WorkerState) {
    const r = await this.db.query<Row>(setLiveWorkerState, [id, state]);
    return r.rows[0] ? rowToWorker(r.rows[0]) : null;
  }

  async holdWorkerSession(id: string, onError: (err: Error) => void) {
    const lock = await this.db.holdSessionLock(id, onError);
    if (lock) await this.db.query(markSessionLocked, [id]);
    return lock;
  }

  async markWorkersGone(deadline: Date, sessionDeadline: Date, except: string | null = null) {
    const r = await this.db.query<Row>(markSilentWorkersGone, [deadline, sessionDeadline, except]);
    return r.rows.map((x) => x.id as string);
  }

  async deleteGoneWorkers(before: Date) {
    const r = await this.db.query(deleteOldGoneWorkers, [before]);
    return r.rowCount;
  }

  async fenceRuns(workerId: string, token: number, ids: string[]) {
    if (ids.length === 0) return new Map<string, number>();
    const r = await this.db.query<Row>(fenceOwnedRuns, [workerId, token, ids]);
    return new Map(r.rows.map((x) => [x.id as string, Number(x.fencing_token)]));
  }

  async writeRunProgress(workerId: string, token: number, id: string, progress: number) {
    const r = await this.db.query(writeOwnedProgress, [workerId, token, id, progress]);
    return r.rowCount === 1;
  }

  async appendRunOutput(workerId: string, token: number, id: string, lines: string[], maxLines: number, maxBytes: number) {
    const r = await this.db.query(appendOwnedOutput, [workerId, token, id, lines, maxLines, maxBytes, outputTrimmedNote(maxBytes)]);
    return r.rowCount === 1;
  }

  async workerCounts() {
    const r = await this.db.query<Row>(countWorkersByState, []);
    return countsOf<WorkerState>(r.rows, 'state');
  }
}
