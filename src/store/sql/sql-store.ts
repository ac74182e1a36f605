import { analyzeSettled } from './analyze.js';
import type { SqlClient } from '../../db/sql-client.js';
import { auditStoreMethods, type AuditStore } from '../audit.js';
import { delegate } from '../delegate.js';
import { eventStoreMethods, type EventStore } from '../events.js';
import { executionStoreMethods, type ExecutionStore } from '../executions.js';
import { failureStoreMethods, type FailureStore } from '../failures.js';
import { historyStoreMethods, type HistoryStore } from '../history.js';
import { jobStoreMethods, type JobStore } from '../jobs.js';
import { notificationStoreMethods, type NotificationStore } from '../notifications.js';
import { secretStoreMethods, type SecretStore } from '../secrets.js';
import { serviceStateStoreMethods, type ServiceStateStore } from '../service-state.js';
import type { Store } from '../types.js';
import { workerStoreMethods, type WorkerStore } from '../workers.js';
import { SqlAuditStore } from './audit.js';
import { SqlEventStore } from './events.js';
import { SqlExecutionStore } from './executions.js';
import { SqlFailureStore } from './failures.js';
import { SqlHistoryStore } from './history.js';
import { SqlJobStore } from './jobs.js';
import { runMigrations } from './migrate.js';
import { SqlNotificationStore } from './notifications.js';
import { SqlSecretStore } from './secrets.js';
import { SqlServiceStateStore } from './service-state.js';
import { SqlWorkerStore } from './workers.js';

// The record stores' methods, delegated in the constructor: the interface types what the
// constructor defines, which is the merging this rule warns of, on purpose.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed delegation, see above
export interface SqlStore extends JobStore, ExecutionStore, FailureStore, WorkerStore, AuditStore, ServiceStateStore, SecretStore, HistoryStore, NotificationStore, EventStore {}

/**
 * The store on PostgreSQL, also used for the embedded PGlite: one record store per table
 * (jobs.ts, executions.ts, ...), each method of Store answered by the record store that owns
 * it. Every list is a keyset page (keyset.ts) over an index named in the migrations; nothing
 * reads a whole table.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed delegation, see the interface
export class SqlStore implements Store {
  constructor(
    readonly kind: 'embedded' | 'postgres',
    readonly db: SqlClient,
  ) {
    delegate<JobStore>(this, new SqlJobStore(db), jobStoreMethods);
    delegate<ExecutionStore>(this, new SqlExecutionStore(db), executionStoreMethods);
    delegate<FailureStore>(this, new SqlFailureStore(db), failureStoreMethods);
    delegate<WorkerStore>(this, new SqlWorkerStore(db), workerStoreMethods);
    delegate<AuditStore>(this, new SqlAuditStore(db), auditStoreMethods);
    delegate<ServiceStateStore>(this, new SqlServiceStateStore(db), serviceStateStoreMethods);
    delegate<SecretStore>(this, new SqlSecretStore(db), secretStoreMethods);
    delegate<HistoryStore>(this, new SqlHistoryStore(db), historyStoreMethods);
    delegate<NotificationStore>(this, new SqlNotificationStore(db), notificationStoreMethods);
    delegate<EventStore>(this, new SqlEventStore(db), eventStoreMethods);
  }

  /** finishExecutions writes the runs' ended events with their ends (one statement). */
  readonly writesEndEvents = true;

  /** The end of the last bootLock call of this process: calls take turns here too. */
  private bootTurn: Promise<unknown> = Promise.resolve();

  /** Runs the numbered migrations this database has not run (migrate.ts). */
  async migrate() {
    await runMigrations(this.db);
  }

  bootLock<T>(fn: () => Promise<T>): Promise<T> {
    // An arbitrary constant naming this service's boot among the database's advisory locks.
    // The embedded client's lock is no lock (one process owns the database), so calls of
    // this process also wait for each other.
    const turn = this.bootTurn.then(() => this.db.withLock(0x6a6f6273, fn));
    this.bootTurn = turn.catch(() => undefined);
    return turn;
  }

  async ping(timeoutMs: number) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.db.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    await analyzeSettled(this.db);
    await this.db.close();
  }
}
