import type { EventHub } from '../scheduling/events/hub.js';
import type { Logger } from '../observability/log.js';
import type { SseStreams } from './sse.js';
import { redactText } from '../observability/redact.js';
import { finalStatuses, outputTrimmedNote, streamedEventTypes, type EventRecord, type ExecutionStatus, type StreamedEventType } from '../store/types.js';
import type { operations } from '../generated/openapi.js';
import { isoOrNull, isoTime } from './iso-time.js';
import { Problem } from './problem.js';
import type { Schemas, Services } from './context.js';
import type { OperationInput, OperationResult } from './types.js';

type EventsQuery = NonNullable<operations['streamEvents']['parameters']['query']>;

/** What the live streams need: the process's reader of the event log and its open streams. */
export interface LiveStreams {
  hub: EventHub;
  streams: SseStreams;
  log: Logger;
}

/** Lines of output sent in one `output` event at most, so one event stays well within a buffer. */
const maxLinesPerEvent = 500;
const maxBytesPerEvent = 64 * 1024;

const streamHeaders = { 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' };

/** The Last-Event-ID header as a count or an event id; 400 naming it when it is neither. */
function lastEventId(headers: OperationInput['headers']): number | null {
  const v = headers['last-event-id'];
  if (v === undefined || v === '') return null;
  const s = Array.isArray(v) ? v[0] : v;
  if (!/^\d{1,15}$/.test(s)) throw Problem.invalid([{ field: 'header.last-event-id', reason: `must be the id of an event received (digits), got '${s.slice(0, 100)}'` }]);
  return Number(s);
}

export function eventBody(e: EventRecord): Schemas['Event'] {
  return {
    id: String(e.id),
    type: e.type as StreamedEventType,
    at: isoTime(e.at),
    job_id: e.job_id,
    execution_id: e.execution_id,
    batch_id: e.batch_id,
    handler: e.handler,
    status: e.status,
    progress: e.progress,
    state: e.state,
  };
}

/** GET /events: the changes of every process, filtered, from now or after Last-Event-ID. */
export async function streamEvents(s: Services, input: OperationInput): Promise<OperationResult> {
  const q = input.query as EventsQuery;
  const known = new Set<string>(streamedEventTypes);
  let types: Set<string> = known;
  if (q.types !== undefined) {
    const asked = q.types.split(',');
    const unknown = asked.filter((t) => !known.has(t));
    if (unknown.length)
      throw Problem.invalid([{ field: 'query.types', reason: `unknown event type(s) ${unknown.map((t) => `'${t}'`).join(', ')}; one of ${[...known].join(', ')}` }]);
    types = new Set(asked);
  }
  const after = lastEventId(input.headers);
  const matches = (e: EventRecord) =>
    types.has(e.type) &&
    (q.job_id === undefined || e.job_id === q.job_id) &&
    (q.execution_id === undefined || e.execution_id === q.execution_id) &&
    (q.batch_id === undefined || e.batch_id === q.batch_id) &&
    (q.handler === undefined || e.handler === q.handler);
  const stream = s.live.streams.open({ stream: 'events', token: input.caller });
  // Events go out in order: a burst waits for the client (sendPaced), later ones queue behind it.
  let sending = Promise.resolve();
  const send = (events: EventRecord[]) => {
    const mine = events.filter(matches);
    if (mine.length === 0) return;
    sending = sending.then(async () => {
      for (const e of mine) if (!(mine.length > 1 ? await stream.sendPaced(e.type, eventBody(e), e.id) : stream.send(e.type, eventBody(e), e.id))) return;
    });
  };
  try {
    const unsubscribe = await s.live.hub.subscribe({ deliver: send, close: () => void sending.then(() => stream.end()) }, after);
    stream.onClose(unsubscribe);
  } catch (err) {
    void stream.end();
    throw err;
  }
  return { status: 200, body: stream.body, type: 'text/event-stream', headers: streamHeaders };
}

/**
 * GET /executions/{id}/output?follow=true: the run's lines from Last-Event-ID (a count of lines)
 * on, its status as it changes, and its end. Each event about the run in the log makes the
 * stream read the run again; its output lines are numbered by the run's count of lines written.
 */
export async function followOutput(s: Services, input: OperationInput, executionId: string): Promise<OperationResult> {
  let sent = lastEventId(input.headers) ?? 0;
  const first = await s.store.followedRun(executionId);
  if (!first) throw new Problem(404, 'Execution not found', `no execution with id '${executionId}'`);
  const stream = s.live.streams.open({ stream: 'output', execution_id: executionId, token: input.caller });
  const note = outputTrimmedNote(s.config.maxOutputBytes);
  let shown: { status: ExecutionStatus; progress: number | null } | null = null;
  let busy = false;
  let again = false;
  let done = false;

  const refresh = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const run = await s.store.followedRun(executionId);
        if (!run) {
          done = true;
          void stream.end();
          return;
        }
        const e = run.execution;
        const kept = e.output_truncated && e.output[0] === note ? e.output.slice(1) : e.output;
        const total = Math.max(run.lines, kept.length);
        const final = finalStatuses.includes(e.status);
        if (!final && (shown === null || shown.status !== e.status || shown.progress !== e.progress)) {
          shown = { status: e.status, progress: e.progress };
          if (!stream.send('status', { execution_id: e.id, status: e.status, progress: e.progress } satisfies Schemas['StatusEvent'])) return;
        }
        if (total > sent) {
          const firstKept = total - kept.length;
          let from = Math.max(sent, firstKept);
          let dropped = from - sent;
          while (from < total) {
            const lines: string[] = [];
            let bytes = 0;
            while (from + lines.length < total && lines.length < maxLinesPerEvent && bytes < maxBytesPerEvent) {
              const line = redactText(kept[from + lines.length - firstKept]);
              lines.push(line);
              bytes += Buffer.byteLength(line);
            }
            const next = from + lines.length;
            const data: Schemas['OutputEvent'] = { execution_id: e.id, offset: from, lines, dropped };
            if (!(await stream.sendPaced('output', data, next))) return;
            sent = next;
            from = next;
            dropped = 0;
          }
        }
        if (final) {
          done = true;
          stream.send('end', {
            execution_id: e.id,
            status: e.status,
            error: e.error === null ? null : redactText(e.error),
            finished_at: isoOrNull(e.finished_at),
            lines: total,
          } satisfies Schemas['EndEvent']);
          void stream.end();
          return;
        }
      } while (again && stream.open);
    } catch (err) {
      // The database away: the next event or heartbeat tries again.
      s.live.log.warn({ err, execution_id: executionId }, 'reading a followed run failed');
    } finally {
      busy = false;
    }
  };

  const safety = setInterval(() => void refresh(), s.config.sse.heartbeatMs);
  safety.unref();
  stream.onClose(() => clearInterval(safety));
  try {
    const unsubscribe = await s.live.hub.subscribe({
      deliver: (events) => {
        if (!done && events.some((e) => e.execution_id === executionId)) void refresh();
      },
      close: () => void stream.end(),
    });
    stream.onClose(unsubscribe);
  } catch (err) {
    void stream.end();
    throw err;
  }
  void refresh();
  return { status: 200, body: stream.body, type: 'text/event-stream', headers: streamHeaders };
}
