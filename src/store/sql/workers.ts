import { sessionLockKeys, type SqlClient } from '../../db/sql-client.js';
import type { Page, WorkerHeartbeat, WorkerRecord, WorkerState } from '../records.js';
import type { WorkerStore } from '../workers.js';
import { keysetPage, type Keyset } from './keyset.js';
import { countsOf, json, rowToWorker, type Row } from './rows.js';
import { insertSql } from './statements.js';

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
  WHERE state <> 'gone'
    AND (heartbeat_at < $1
         OR (session_lock AND heartbeat_at < $2 AND NOT EXISTS (
               SELECT 1 FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND (l.classid, l.objid) = (SELECT k1::oid, k2::oid FROM (SELECT ${sessionLockKeys('w.id')}) AS k(k1, k2)))))
  RETURNING id`;
export const countWorkersByState = 'SELECT state, count(*) AS n FROM worker GROUP BY state';

/** Worker records on PostgreSQL and PGlite: the `worker` table. */
export class SqlWorkerStore implements WorkerStore {
  constructor(private readonly db: SqlClient) {}

  async registerWorker(w: WorkerRecord) {
    const { text, params } = insertSql('worker', { ...w, memory: json(w.memory) });
    await this.db.query(text, params);
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

  async markWorkersGone(deadline: Date, sessionDeadline: Date) {
    const r = await this.db.query<Row>(markSilentWorkersGone, [deadline, sessionDeadline]);
    return r.rows.map((x) => x.id as string);
  }

  async workerCounts() {
    const r = await this.db.query<Row>(countWorkersByState, []);
    return countsOf<WorkerState>(r.rows, 'state');
  }
}
