/**
 * The store: the one narrow interface through which the service keeps its own model
 * (job definitions, execution records, failure records, workers, audit records, service
 * state). It is made of one record store per kind of record (jobs.ts, executions.ts,
 * workers.ts, failures.ts, audit.ts, service-state.ts, secrets.ts, notifications.ts) plus the lifecycle below. PostgreSQL
 * (and the embedded PGlite) and MongoDB each implement it; the scheduling core knows nothing else.
 */
import type { AuditStore } from './audit.js';
import type { EventStore } from './events.js';
import type { ExecutionStore } from './executions.js';
import type { HistoryStore } from './history.js';
import type { FailureStore } from './failures.js';
import type { JobStore } from './jobs.js';
import type { NotificationStore } from './notifications.js';
import type { SecretStore } from './secrets.js';
import type { ServiceStateStore } from './service-state.js';
import type { WorkerStore } from './workers.js';

export type {
  AuditFilter,
  AuditOutcome,
  AuditRecord,
  BatchSummary,
  ChainLink,
  ChainOn,
  ConcurrencyPolicy,
  Deadline,
  DeliveryAttempt,
  DeliveryChannel,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryStatus,
  ExecutionEnd,
  ExecutionFilter,
  ExecutionPatch,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTrigger,
  FailureRecord,
  JobPatch,
  JobRecord,
  JobVersionRecord,
  JobSource,
  JobState,
  JobStats,
  Kwargs,
  NotifyDefaults,
  NotifyEvent,
  NotifyRule,
  Page,
  PauseRecord,
  SecretString,
  ServicePause,
  ServiceState,
  ServiceStats,
  StepSelection,
  TriggeredBy,
  WorkerHeartbeat,
  WorkerRecord,
  WorkerState,
} from './records.js';
export { activeStatuses, deliveryStatuses, notifyEvents, executionStatuses, failedStatuses, finalStatuses, firstOfEachId, hasChains, workerStates } from './records.js';
export { outputTrimmedNote, RunEndsError } from './executions.js';
export type { SecretMeta, SecretRecord } from './secrets.js';
export type { RunEndCount } from './notifications.js';
export type { EventInput, EventRecord, EventType, FollowedRun, RunEventType, StreamedEventType } from './events.js';
export { streamedEventTypes } from './events.js';
export type { AuditStore, EventStore, ExecutionStore, FailureStore, HistoryStore, JobStore, NotificationStore, SecretStore, ServiceStateStore, WorkerStore };
export type { JobFilter } from './jobs.js';

export interface Store extends JobStore, ExecutionStore, FailureStore, WorkerStore, AuditStore, ServiceStateStore, SecretStore, HistoryStore, NotificationStore, EventStore {
  readonly kind: 'embedded' | 'postgres' | 'mongodb';
  /** True when finishExecutions writes the runs' `execution.ended` events itself, in the same write. */
  readonly writesEndEvents?: boolean;
  /** Creates tables or collections and indexes, or brings them up to date; safe to call on every boot. */
  migrate(): Promise<void>;
  /**
   * Runs `fn` while no other process of the deployment runs its boot: creating tables,
   * indexes and default jobs is not safe to do from several processes at once.
   */
  bootLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Answers quickly or throws: used by readiness. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
