import { randomUUID } from 'node:crypto';
import { MongoServerError, type Db, type MongoClient } from 'mongodb';
import { auditStoreMethods, type AuditStore } from '../audit.js';
import { delegate } from '../delegate.js';
import { eventStoreMethods, type EventStore } from '../events.js';
import { executionStoreMethods, type ExecutionStore } from '../executions.js';
import { failureStoreMethods, type FailureStore } from '../failures.js';
import { historyStoreMethods, type HistoryStore } from '../history.js';
import { jobStoreMethods, type JobStore } from '../jobs.js';
import { secretStoreMethods, type SecretStore } from '../secrets.js';
import { serviceStateStoreMethods, type ServiceStateStore } from '../service-state.js';
import type { Store } from '../types.js';
import { workerStoreMethods, type WorkerStore } from '../workers.js';
import { MongoAuditStore } from './audit.js';
import { collectionsOf, ensureIndexes, type Collections } from './collections.js';
import { MongoEventStore } from './events.js';
import { MongoExecutionStore } from './executions.js';
import { MongoFailureStore } from './failures.js';
import { MongoHistoryStore } from './history.js';
import { MongoJobStore } from './jobs.js';
import { MongoSecretStore } from './secrets.js';
import { MongoServiceStateStore } from './service-state.js';
import { MongoWorkerStore } from './workers.js';

/** The boot lock: one document, held until `expires_at` unless renewed by its owner. */
const bootLockId = 'boot';
const bootLockTtlMs = 30_000;
const bootLockRetryMs = 250;

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The record stores' methods, delegated in the constructor: the interface types what the
// constructor defines, which is the merging this rule warns of, on purpose.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed delegation, see above
export interface MongoStore extends JobStore, ExecutionStore, FailureStore, WorkerStore, AuditStore, ServiceStateStore, SecretStore, EventStore, HistoryStore {}

/**
 * The store on MongoDB: the same records as the SQL store, one collection per table, one
 * document per row with the row's id as `_id` and its dates as BSON dates, one record store
 * per collection (jobs.ts, executions.ts, ...). Every list is a keyset page (keyset.ts) over
 * an index created by migrate(); every write that decides something (a queued run started, a
 * final status, a cancel, a worker marked gone) is a single-document conditional update, which
 * MongoDB applies atomically.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed delegation, see the interface
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly c: Collections;

  constructor(
    private readonly client: MongoClient,
    readonly db: Db,
  ) {
    this.c = collectionsOf(db);
    const executions = new MongoExecutionStore(this.c);
    delegate<JobStore>(this, new MongoJobStore(this.c, executions), jobStoreMethods);
    delegate<ExecutionStore>(this, executions, executionStoreMethods);
    delegate<FailureStore>(this, new MongoFailureStore(this.c), failureStoreMethods);
    delegate<WorkerStore>(this, new MongoWorkerStore(this.c), workerStoreMethods);
    delegate<AuditStore>(this, new MongoAuditStore(this.c), auditStoreMethods);
    delegate<EventStore>(this, new MongoEventStore(this.c), eventStoreMethods);
    delegate<ServiceStateStore>(this, new MongoServiceStateStore(this.c), serviceStateStoreMethods);
    delegate<SecretStore>(this, new MongoSecretStore(this.c), secretStoreMethods);
    delegate<HistoryStore>(this, new MongoHistoryStore(this.c), historyStoreMethods);
  }

  async migrate() {
    await ensureIndexes(this.c);
  }

  /**
   * Processes take turns through one lock document. Taking it is one atomic upsert that
   * matches only an expired lock: when another process holds it, the upsert tries to insert
   * a second document with the same _id and fails with a duplicate key, and this process
   * waits and tries again. The holder renews the expiry while `fn` runs, so a long boot keeps
   * the lock and a crashed process frees it within bootLockTtlMs. Expiry is judged by the
   * clocks of the processes, which only need to agree to within that lifetime.
   */
  async bootLock<T>(fn: () => Promise<T>): Promise<T> {
    const { locks } = this.c;
    const owner = randomUUID();
    for (;;) {
      const now = new Date();
      try {
        await locks.updateOne({ _id: bootLockId, expires_at: { $lt: now } }, { $set: { owner, expires_at: new Date(now.getTime() + bootLockTtlMs) } }, { upsert: true });
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      await sleep(bootLockRetryMs);
    }
    const renew = setInterval(() => {
      locks.updateOne({ _id: bootLockId, owner }, { $set: { expires_at: new Date(Date.now() + bootLockTtlMs) } }).catch(() => undefined);
    }, bootLockTtlMs / 3);
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      // Only our own lock: had it expired and been taken over, the new holder keeps it.
      await locks.deleteOne({ _id: bootLockId, owner }).catch(() => undefined);
    }
  }

  async ping(timeoutMs: number) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.db.command({ ping: 1 }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    await this.client.close();
  }
}
