import { PassThrough } from 'node:stream';
import type { SseSettings } from '../config/config.js';
import type { Logger } from '../observability/log.js';
import { Problem } from './problem.js';

/**
 * One Server-Sent Events stream: the body of its answer. What waits for the client (in this
 * stream's buffers, the socket's being full) is bounded by JOBS_SSE_BUFFER_BYTES: a client that
 * falls further behind is disconnected rather than buffered for without limit.
 */
export class SseStream {
  readonly body = new PassThrough();
  private closed = false;
  /** The body is being piped to the client (false while a replay is read before the answer starts). */
  private served = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onCloseFns: Array<() => void> = [];

  constructor(
    private readonly settings: SseSettings,
    private readonly log: Logger,
    private readonly what: Record<string, unknown>,
  ) {
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), settings.heartbeatMs);
    this.heartbeat.unref();
    // Koa destroys the body when the answer ends or the client goes away.
    this.body.once('close', () => this.finish());
    // Piping the body to the answer resumes it.
    this.body.once('resume', () => (this.served = true));
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Bytes written to this stream that the client has not taken yet. */
  private pending(): number {
    return this.body.writableLength + this.body.readableLength;
  }

  /** Sends one event; false once the stream is closed (by the client, the service, or for being too slow). */
  send(event: string, data: unknown, id?: string | number): boolean {
    return this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * send, for a burst (a replay, a run's output so far): first waits, up to a heartbeat's
   * interval, for the client to take half of the buffer, so a client that reads gets the whole
   * burst at its pace. False when the stream is closed, or when the client took nothing
   * meanwhile: it is disconnected then, rather than holding the stream (and the rest of the
   * burst) for a heartbeat per event.
   */
  async sendPaced(event: string, data: unknown, id?: string | number): Promise<boolean> {
    let deadline = Date.now() + this.settings.heartbeatMs;
    let waiting = this.pending();
    while (this.open && this.pending() > this.settings.bufferBytes / 2) {
      if (!this.served) {
        // The answer is not under way yet (a replay is read before it starts): the client's
        // heartbeat counts from when it is.
        deadline = Date.now() + this.settings.heartbeatMs;
        waiting = this.pending();
      } else if (Date.now() >= deadline) {
        if (this.pending() >= waiting) return this.tooSlow();
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.send(event, data, id);
  }

  private write(chunk: string): boolean {
    if (this.closed) return false;
    if (this.pending() + Buffer.byteLength(chunk) > this.settings.bufferBytes) return this.tooSlow();
    this.body.write(chunk);
    return true;
  }

  /** Disconnects the client (the stream is open: each caller has checked). */
  private tooSlow(): false {
    this.log.info({ ...this.what, pending_bytes: this.pending(), limit: this.settings.bufferBytes }, 'event stream client too slow: disconnected');
    this.body.destroy();
    this.finish();
    return false;
  }

  /** Ends the stream cleanly: what was sent is delivered, then the answer ends; resolves once the client took it all. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const drained = new Promise<void>((resolve) => {
      this.body.once('end', () => setImmediate(resolve));
      this.body.once('close', () => resolve());
    });
    this.body.end();
    this.finish();
    return drained;
  }

  onClose(fn: () => void) {
    if (this.closed) fn();
    else this.onCloseFns.push(fn);
  }

  private finish() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const fn of this.onCloseFns.splice(0)) fn();
  }
}

/** The open streams of this process, at most JOBS_SSE_MAX_CLIENTS; all end when the service stops. */
export class SseStreams {
  private readonly streams = new Set<SseStream>();
  private stopped = false;

  constructor(
    readonly settings: SseSettings,
    private readonly log: Logger,
  ) {}

  get count(): number {
    return this.streams.size;
  }

  /** A new stream; 503 beyond the cap or while the service stops. */
  open(what: Record<string, unknown>): SseStream {
    if (this.stopped) throw new Problem(503, 'Service unavailable', 'the service is stopping');
    if (this.streams.size >= this.settings.maxClients) {
      throw new Problem(503, 'Too many event streams', `${this.streams.size} event streams are open, the most JOBS_SSE_MAX_CLIENTS allows; try again later`, undefined, {
        'Retry-After': '5',
      });
    }
    const s = new SseStream(this.settings, this.log, what);
    this.streams.add(s);
    s.onClose(() => this.streams.delete(s));
    return s;
  }

  /** Ends every stream and refuses new ones; resolves once their clients took the ends (or `waitMs` passed). */
  async close(waitMs = 1000) {
    this.stopped = true;
    const ending = [...this.streams].map((s) => s.end());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ending), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }
}
