import type { Collection, Db, IndexDescription } from 'mongodb';
import { activeStatuses, workerStates, type WorkerState } from '../records.js';
import type { AuditDoc, ExecutionDoc, FailureDoc, JobDoc, JobVersionDoc, PauseDoc, ServiceStateDoc, WorkerDoc } from './docs.js';
import type { EventDoc } from './events.js';
import type { SecretDoc } from './secrets.js';

export interface LockDoc {
  _id: string;
  owner: string;
  expires_at: Date;
}

/** The store's collections: one per SQL table, plus the boot lock's. */
export interface Collections {
  jobs: Collection<JobDoc>;
  executions: Collection<ExecutionDoc>;
  failures: Collection<FailureDoc>;
  workers: Collection<WorkerDoc>;
  audit: Collection<AuditDoc>;
  serviceState: Collection<ServiceStateDoc>;
  locks: Collection<LockDoc>;
  secrets: Collection<SecretDoc>;
  /** Counters by name: `fencing` hands out worker registration and run tokens. */
  counters: Collection<CounterDoc>;
  /** The event log of the live streams (events.ts). */
  events: Collection<EventDoc>;
  jobVersions: Collection<JobVersionDoc>;
  pauses: Collection<PauseDoc>;
}

export interface CounterDoc {
  _id: string;
  n: number;
}

export function collectionsOf(db: Db): Collections {
  return {
    jobs: db.collection<JobDoc>('jobs'),
    executions: db.collection<ExecutionDoc>('executions'),
    failures: db.collection<FailureDoc>('failures'),
    workers: db.collection<WorkerDoc>('workers'),
    audit: db.collection<AuditDoc>('audit'),
    serviceState: db.collection<ServiceStateDoc>('service_state'),
    locks: db.collection<LockDoc>('locks'),
    secrets: db.collection<SecretDoc>('secrets'),
    counters: db.collection<CounterDoc>('counters'),
    events: db.collection<EventDoc>('events'),
    jobVersions: db.collection<JobVersionDoc>('job_versions'),
    pauses: db.collection<PauseDoc>('pauses'),
  };
}

/**
 * The states of a live worker. Like activeStatuses for execution_active_idx, the list is both
 * the filter of its partial index and the predicate of the queries that use it: a query whose
 * predicate equals the index filter is always eligible for the partial index.
 */
export const aliveStates: readonly WorkerState[] = workerStates.filter((s) => s !== 'gone');

/**
 * One index for each query the store makes; the queries name the one they use. Creating an
 * index that exists with the same name and definition does nothing, so the whole list is
 * applied on every boot, in the order written, where PostgreSQL runs numbered migrations.
 */
export const indexes: Array<{ collection: 'jobs' | 'executions' | 'failures' | 'workers' | 'audit' | 'events' | 'jobVersions' | 'pauses'; indexes: IndexDescription[] }> = [
  { collection: 'jobs', indexes: [{ name: 'job_source_idx', key: { source: 1 }, partialFilterExpression: { source: 'file' } }] },
  {
    collection: 'executions',
    indexes: [
      { name: 'execution_created_idx', key: { created_at: -1, _id: -1 } },
      { name: 'execution_job_idx', key: { job_id: 1, created_at: -1, _id: -1 } },
      { name: 'execution_status_idx', key: { status: 1, created_at: -1, _id: -1 } },
      // Whole indexes, where PostgreSQL's are partial (IS NOT NULL): a run without a parent or
      // a batch stores null there, a partial filter has no `$ne: null`, and whether the planner
      // takes an equality as inside `$type: 'string'` is not documented.
      { name: 'execution_parent_idx', key: { parent_id: 1, created_at: -1, _id: -1 } },
      { name: 'execution_handler_idx', key: { handler: 1, created_at: -1, _id: -1 } },
      { name: 'execution_batch_idx', key: { batch_id: 1, created_at: -1, _id: -1 } },
      { name: 'execution_active_idx', key: { job_id: 1, created_at: 1 }, partialFilterExpression: { status: { $in: [...activeStatuses] } } },
      { name: 'execution_worker_idx', key: { worker_id: 1 }, partialFilterExpression: { status: 'running' } },
      { name: 'execution_job_scheduled_idx', key: { job_id: 1, scheduled_at: 1 }, partialFilterExpression: { attempt: 1 } },
    ],
  },
  { collection: 'failures', indexes: [{ name: 'failure_time_idx', key: { time: -1, _id: -1 } }] },
  {
    collection: 'workers',
    indexes: [
      { name: 'worker_started_idx', key: { started_at: -1, _id: -1 } },
      { name: 'worker_alive_idx', key: { heartbeat_at: 1 }, partialFilterExpression: { state: { $in: [...aliveStates] } } },
      { name: 'worker_gone_idx', key: { heartbeat_at: 1 }, partialFilterExpression: { state: 'gone' } },
    ],
  },
  {
    collection: 'audit',
    indexes: [
      { name: 'audit_time_idx', key: { time: -1, _id: -1 } },
      { name: 'audit_operation_idx', key: { operation: 1, time: -1, _id: -1 } },
      { name: 'audit_token_idx', key: { token_name: 1, time: -1, _id: -1 } },
    ],
  },
  { collection: 'events', indexes: [{ name: 'event_at_idx', key: { at: 1 } }] },
  { collection: 'jobVersions', indexes: [{ name: 'job_version_idx', key: { job_id: 1, version: 1 } }] },
  { collection: 'pauses', indexes: [{ name: 'pause_job_idx', key: { job_id: 1, paused_at: 1 } }] },
];

/** Creates every index (and with it its collection) that is missing. */
export async function ensureIndexes(c: Collections): Promise<void> {
  for (const { collection, indexes: list } of indexes) await c[collection].createIndexes(list);
}
