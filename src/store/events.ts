import type { ExecutionRecord, ExecutionStatus } from './records.js';

/** The changes GET /events streams, and `output`: new lines of a run, for its followers only. */
export const streamedEventTypes = [
  'execution.created',
  'execution.started',
  'execution.progress',
  'execution.ended',
  'job.created',
  'job.updated',
  'job.paused',
  'job.resumed',
  'job.deleted',
  'service.paused',
  'service.resumed',
] as const;
export type StreamedEventType = (typeof streamedEventTypes)[number];
export type EventType = StreamedEventType | 'output';
/** The events about runs, written from the run rows themselves (see appendRunEvents). */
export type RunEventType = 'execution.created' | 'execution.started' | 'execution.progress' | 'execution.ended' | 'output';

/** One change as written to the event log; null where a field does not apply to the type. */
export interface EventInput {
  type: EventType;
  job_id: string | null;
  execution_id: string | null;
  batch_id: string | null;
  handler: string | null;
  status: ExecutionStatus | null;
  progress: number | null;
  /** A job's or the service's state after the change. */
  state: 'running' | 'paused' | null;
}

/** An event as read back: numbered in the order written, deployment-wide. */
export interface EventRecord extends EventInput {
  id: number;
  at: Date;
}

/** A run as its followers see it: the record, and the number of lines it has written in all. */
export interface FollowedRun {
  execution: ExecutionRecord;
  lines: number;
}

/**
 * The event log: what every process of a deployment writes of its changes, and reads back
 * for the streams it serves. Ids grow in the order the log hands them out; a write that took
 * its id before another may still land after it, which readers allow for (src/events/hub.ts).
 */
export interface EventStore {
  appendEvents(events: EventInput[]): Promise<void>;
  /** One event of `type` per run, its fields read from the run as stored now. */
  appendRunEvents(type: RunEventType, ids: string[]): Promise<void>;
  /** Events after `after`, and those of the ids in `also` (gaps seen before), oldest first. */
  readEvents(after: number, also: number[], limit: number): Promise<EventRecord[]>;
  /** The id of the newest event; 0 when there is none. */
  lastEventId(): Promise<number>;
  /** Deletes events older than `before`; answers how many. */
  deleteEventsBefore(before: Date): Promise<number>;
  followedRun(id: string): Promise<FollowedRun | null>;
  /**
   * Calls `onWake` when another process (or this one) wrote events, where the database says so
   * (LISTEN/NOTIFY); resolves with a function that stops, or null where readers must poll.
   */
  watchEvents(onWake: () => void, onError: (err: Error) => void): Promise<(() => Promise<void>) | null>;
}

export const eventStoreMethods: Record<keyof EventStore, true> = {
  appendEvents: true,
  appendRunEvents: true,
  readEvents: true,
  lastEventId: true,
  deleteEventsBefore: true,
  followedRun: true,
  watchEvents: true,
};
