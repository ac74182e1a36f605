import type { Logger } from '../../observability/log.js';
import type { EventRecord, EventStore } from '../../store/types.js';

/** Events read at once from the log. */
const pageSize = 1000;
/** How long an id skipped in the log is looked for again: a write that took it may land late. */
const gapWaitMs = 5000;
/** The most skipped ids remembered at once; beyond, a jump is taken as ids never used. */
const maxGaps = 1000;

export interface EventSubscriber {
  /** Events in the order of the log (late ones, see gapWaitMs, after those read with them). */
  deliver(events: EventRecord[]): void;
  /** The hub stopped: the service is stopping. */
  close(): void;
}

interface Subscription extends EventSubscriber {
  /** The newest id this subscriber has had; events up to it are not delivered again. */
  last: number;
  /** While its replay runs, live events wait here. */
  queue: EventRecord[] | null;
}

export interface EventHubOptions {
  pollIntervalMs: number;
  retentionMs: number;
}

/**
 * The one reader of the event log in a process, fanning out to every stream it serves: it
 * reads what is new when the database says so (LISTEN/NOTIFY) and every poll interval (the
 * only way on MongoDB, and the fallback while a notification connection is lost). It runs
 * while it has subscribers. Every process also deletes events past JOBS_SSE_RETENTION.
 */
export class EventHub {
  private readonly subs = new Set<Subscription>();
  private cursor = 0;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => Promise<void>) | null = null;
  private readonly gaps = new Map<number, number>();
  private reading = false;
  private again = false;
  private failing = false;
  private closed = false;
  /** The cursor is set: reads may run. */
  private ready = false;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly log: Logger,
    private readonly options: EventHubOptions,
  ) {}

  /** Deletes events past their retention now and then (at most every ten minutes). */
  startPruning() {
    const prune = async () => {
      try {
        await this.store.deleteEventsBefore(new Date(Date.now() - this.options.retentionMs));
      } catch (err) {
        this.log.warn({ err }, 'deleting events past their retention failed');
      }
    };
    void prune();
    this.pruneTimer = setInterval(() => void prune(), Math.min(600_000, Math.max(1000, this.options.retentionMs / 2)));
    this.pruneTimer.unref();
  }

  /**
   * Delivers the events written from now on, or, with `after`, those after that id first (as
   * far as the log still keeps them). Resolves with a function that unsubscribes.
   */
  async subscribe(subscriber: EventSubscriber, after: number | null = null): Promise<() => void> {
    if (this.closed) {
      subscriber.close();
      return () => undefined;
    }
    await this.start();
    const sub: Subscription = { deliver: (e) => subscriber.deliver(e), close: () => subscriber.close(), last: after ?? this.cursor, queue: after === null ? null : [] };
    this.subs.add(sub);
    const unsubscribe = () => {
      this.subs.delete(sub);
      if (this.subs.size === 0) void this.stop();
    };
    if (after !== null) {
      try {
        for (;;) {
          const page = await this.store.readEvents(sub.last, [], pageSize);
          if (page.length === 0 || !this.subs.has(sub)) break;
          sub.last = page[page.length - 1].id;
          sub.deliver(page);
          if (page.length < pageSize || sub.last >= this.cursor) break;
        }
      } catch (err) {
        unsubscribe();
        throw err;
      }
      const waiting = sub.queue ?? [];
      sub.queue = null;
      const rest = waiting.filter((e) => e.id > sub.last);
      if (rest.length) {
        sub.last = Math.max(sub.last, rest[rest.length - 1].id);
        sub.deliver(rest);
      }
    }
    return unsubscribe;
  }

  /** Reads what is new now (a process's own writes need not wait for the poll). */
  wake() {
    if (this.ready) void this.read();
  }

  private start(): Promise<void> {
    return (this.running ??= (async () => {
      try {
        this.cursor = await this.store.lastEventId();
        this.ready = true;
      } catch (err) {
        this.running = null;
        throw err;
      }
      this.timer = setInterval(() => void this.read(), this.options.pollIntervalMs);
      this.timer.unref();
      try {
        this.unwatch = await this.store.watchEvents(
          () => void this.read(),
          (err) => this.log.warn({ err }, 'event notifications lost; polling meanwhile'),
        );
      } catch (err) {
        this.log.warn({ err }, 'event notifications unavailable; polling');
      }
    })());
  }

  private async stop() {
    const was = this.running;
    if (!was) return;
    this.running = null;
    this.ready = false;
    clearInterval(this.timer);
    this.gaps.clear();
    const unwatch = this.unwatch;
    this.unwatch = null;
    await unwatch?.().catch(() => undefined);
  }

  private async read() {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        const rows = await this.store.readEvents(this.cursor, [...this.gaps.keys()], pageSize);
        const now = Date.now();
        const fresh: EventRecord[] = [];
        const late: EventRecord[] = [];
        for (const e of rows) {
          if (this.gaps.delete(e.id)) late.push(e);
          else if (e.id > this.cursor) {
            if (e.id - this.cursor - 1 <= maxGaps - this.gaps.size) for (let id = this.cursor + 1; id < e.id; id++) this.gaps.set(id, now);
            this.cursor = e.id;
            fresh.push(e);
          }
        }
        for (const [id, since] of this.gaps) if (now - since > gapWaitMs) this.gaps.delete(id);
        this.fanOut(fresh, false);
        this.fanOut(late, true);
        if (rows.length === pageSize) this.again = true;
        if (this.failing) this.log.info('event log readable again');
        this.failing = false;
      } while (this.again && this.running);
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'reading the event log failed; trying again at the next poll');
      this.failing = true;
    } finally {
      this.reading = false;
    }
  }

  private fanOut(events: EventRecord[], late: boolean) {
    if (events.length === 0) return;
    for (const sub of this.subs) {
      if (sub.queue) {
        sub.queue.push(...events);
        continue;
      }
      const mine = late ? events : events.filter((e) => e.id > sub.last);
      if (mine.length === 0) continue;
      if (!late) sub.last = mine[mine.length - 1].id;
      try {
        sub.deliver(mine);
      } catch (err) {
        this.log.error({ err }, 'an event stream failed to take events');
      }
    }
  }

  /** Stops reading and closes every subscriber (the service stops). */
  async close() {
    this.closed = true;
    clearInterval(this.pruneTimer);
    for (const sub of [...this.subs]) sub.close();
    this.subs.clear();
    await this.stop();
  }
}
