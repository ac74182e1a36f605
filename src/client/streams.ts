/**
 * The live streams of the service (text/event-stream) read with fetch, so the token goes in
 * the Authorization header as for every call (a browser's EventSource cannot send it): async
 * iterators that resume after a lost connection with Last-Event-ID.
 */
import type { components } from '../generated/openapi.js';

type Schemas = components['schemas'];

/** One message of a text/event-stream. */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into its messages; comments (heartbeats) are skipped. */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | null = null;
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (data.length) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** An event of a followed run's output stream. */
export type OutputStreamEvent =
  { event: 'output'; id: number; data: Schemas['OutputEvent'] } | { event: 'status'; data: Schemas['StatusEvent'] } | { event: 'end'; data: Schemas['EndEvent'] };

export interface StreamOptions {
  signal?: AbortSignal;
  /** Connect again after a lost connection, resuming after the last event received; default true. */
  reconnect?: boolean;
  /** ms before connecting again; default 1000. */
  retryMs?: number;
  /** Attempts in a row without an event before giving up (rethrowing the last error); default 5. */
  maxRetries?: number;
}

export interface FollowOptions extends StreamOptions {
  /** Resume after this many lines (the `id` of the last `output` event received). */
  lastEventId?: number;
}

export interface EventsOptions extends StreamOptions {
  /** Resume after this event (an Event's `id`). */
  lastEventId?: string;
}

export interface EventsFilter {
  types?: Array<Schemas['EventType']>;
  job_id?: string;
  execution_id?: string;
  batch_id?: string;
  handler?: string;
}

/** Opens one stream: resolves with its body, or rejects (a ProblemError for an error answer). */
export type StreamOpener = (lastEventId: string | undefined, signal: AbortSignal | undefined) => Promise<ReadableStream<Uint8Array>>;

/**
 * The messages of a stream, connecting again after a lost connection (resuming from the last
 * id seen) until `finished` says the last message was the final one or the signal aborts.
 * An error answer of the service (ProblemError) is thrown at once.
 */
export async function* resumingStream(
  open: StreamOpener,
  first: string | undefined,
  options: StreamOptions,
  finished: (m: SseMessage) => boolean,
  isFatal: (err: unknown) => boolean,
): AsyncGenerator<SseMessage> {
  let last = first;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    try {
      const body = await open(last, options.signal);
      for await (const m of parseEventStream(body)) {
        failures = 0;
        if (m.id !== null) last = m.id;
        yield m;
        if (finished(m)) return;
      }
      // The service ended the stream (it stops, or this client fell behind): connect again.
      failures++;
      if (options.reconnect === false) return;
    } catch (err) {
      if (options.signal?.aborted) return;
      if (isFatal(err) || options.reconnect === false) throw err;
      if (++failures > (options.maxRetries ?? 5)) throw err;
    }
    if (failures > (options.maxRetries ?? 5)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.retryMs ?? 1000);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

export function outputEvent(m: SseMessage): OutputStreamEvent | null {
  const data: unknown = JSON.parse(m.data);
  if (m.event === 'output') return { event: 'output', id: Number(m.id), data: data as Schemas['OutputEvent'] };
  if (m.event === 'status') return { event: 'status', data: data as Schemas['StatusEvent'] };
  if (m.event === 'end') return { event: 'end', data: data as Schemas['EndEvent'] };
  return null;
}
