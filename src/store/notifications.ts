import type { DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryStatus, JobRecord, JobState, NotifyDefaults, NotifyRule, Page } from './records.js';

/** How a watched run's end changed its job: the job after, with its failures in a row and state before. */
export interface RunEndCount {
  job: JobRecord;
  streak_before: number;
  state_before: JobState;
}

/** Notifications: the deliveries queued and sent, the service's default rules, the marks of late runs. */
export interface NotificationStore {
  /**
   * Counts a watched run's end on its job, in one atomic write: a failure adds one to its
   * failures in a row, a success sets them to 0; a failure that brings them to the job's
   * pause_after_failures pauses the job. null when there is no such job.
   */
  countRunEnd(jobId: string, failed: boolean): Promise<RunEndCount | null>;
  insertDeliveries(deliveries: DeliveryRecord[]): Promise<void>;
  /**
   * Takes up to `limit` deliveries due at `now` (pending, or sending with an expired lock: its
   * sender died) for this process: each moves to `sending`, locked until `lockedUntil`.
   */
  claimDeliveries(now: Date, lockedUntil: Date, limit: number): Promise<DeliveryRecord[]>;
  /** Records a try of a delivery this process holds: its new status, the try appended, the next try's time. */
  settleDelivery(id: string, status: DeliveryStatus, attempt: DeliveryAttempt, nextAttemptAt: Date, deliveredAt: Date | null): Promise<void>;
  /** Newest first, keyset paged by (created_at, id). */
  listDeliveries(filter: DeliveryFilter, after: string | null, limit: number): Promise<Page<DeliveryRecord>>;
  /** Deletes deliveries created before `before` that are delivered or failed; returns how many. */
  deleteDeliveriesBefore(before: Date): Promise<number>;
  getNotifyDefaults(): Promise<NotifyDefaults>;
  setNotifyDefaults(notify: NotifyRule[], by: string | null): Promise<NotifyDefaults>;
  /** Jobs that have a deadline (few; the late sweep reads them). */
  jobsWithDeadlines(): Promise<JobRecord[]>;
  /** Marks these keys as done; resolves with the keys this call marked (not marked before, by any process). */
  markOnce(keys: string[], at: Date): Promise<string[]>;
  /** Forgets marks older than `before`. */
  deleteMarksBefore(before: Date): Promise<void>;
}

/** The methods of NotificationStore by name: what a store made of record stores delegates (see delegate.ts). */
export const notificationStoreMethods: Record<keyof NotificationStore, true> = {
  countRunEnd: true,
  insertDeliveries: true,
  claimDeliveries: true,
  settleDelivery: true,
  listDeliveries: true,
  deleteDeliveriesBefore: true,
  getNotifyDefaults: true,
  setNotifyDefaults: true,
  jobsWithDeadlines: true,
  markOnce: true,
  deleteMarksBefore: true,
};
