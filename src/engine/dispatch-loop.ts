import type { Lease } from './lease.js';

/** What the claim loop of a dispatcher needs to know (both engines' dispatchers give it). */
export interface DispatchLoopOptions {
  maxConcurrency: number;
  /** Longest sleep between two looks for due rows, in ms. */
  pollIntervalMs: number;
  onError: (err: Error, where: string) => void;
  /** Longest wait between two tries of writing the rows of ended runs back, in ms. */
  retryMaxMs: number;
  /** A lock not renewed for this long (ms) is taken for its worker's death; runs under way renew theirs every third of it. */
  lockLifetimeMs: number;
}

/** How often the locks of runs under way are renewed: every third of the lock lifetime, at most every 250 ms. */
export const renewEveryMs = (lockLifetimeMs: number) => Math.max(250, Math.floor(lockLifetimeMs / 3));

/**
 * The loop both dispatchers (SQL and MongoDB) run: one claim cycle at a time, woken by a timer
 * or at once, the count of runs under way and being recorded, and the write-back of released
 * rows (`pending`), one at a time, tried again with a growing wait until it lands, and the
 * renewal of the locks of the runs under way: one write for all of them every third of the lock
 * lifetime, where each run renewed its own (a statement per run per renewal: with a thousand long
 * runs, a thousand statements every ten seconds). A dispatcher says how it claims (`claimCycle`),
 * how it writes rows back (`flush`) and how it renews locks (`renew`).
 */
export abstract class DispatchLoop<Completion> {
  /** Claimed rows whose handler has not returned (or whose run has not settled, for runs not started). */
  protected running = 0;
  /** Runs whose handler returned and whose end is still being written. */
  protected recording = 0;
  protected started = false;
  /** Set by a claim cycle that should be followed by another at once. */
  protected again = false;
  /** Rows to write back. */
  protected pending: Completion[] = [];
  private timer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private cycle?: Promise<void>;
  private flushing?: Promise<void>;
  /** The wait before the next try of a write-back that failed; 0 after one that succeeded. */
  private flushDelay = 0;
  private closed = false;
  private readonly idle = new Set<() => void>();
  /** Leases handed to the run wrapper whose rows are not let go yet: their locks are renewed together. */
  private readonly live = new Set<Lease>();
  private renewal?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(private readonly settings: DispatchLoopOptions) {}

  /** Looks for due rows (claimCycle) while claiming is started; a failed cycle is logged and tried after a poll interval. */
  protected abstract claimCycle(): Promise<void>;
  /** Writes back the rows in `pending`; a failed write puts them back. */
  protected abstract flush(): Promise<void>;
  /**
   * Renews the locks of these leases in one write, the locks only: only rows still held by the
   * claim that handed them out (a row claimed since by another, its worker having stalled past
   * the lock lifetime, or released meanwhile, is left alone).
   */
  protected abstract renew(leases: Lease[]): Promise<void>;

  /** The lease's row is let go (its handler returned): its lock is no longer renewed. Each dispatcher's release calls it. */
  protected stopRenewing(lease: Lease) {
    this.live.delete(lease);
  }

  /** Renews the locks of the leases under way every third of the lock lifetime, while there are any. */
  private holdLive(leases: Lease[]) {
    for (const lease of leases) this.live.add(lease);
    if (this.renewal) return;
    this.renewal = setInterval(() => this.renewLive(), renewEveryMs(this.settings.lockLifetimeMs));
    this.renewal.unref();
  }

  private renewLive() {
    if (this.live.size === 0) {
      clearInterval(this.renewal);
      this.renewal = undefined;
      return;
    }
    // A renewal still under way is not doubled: the next tick renews what is live then.
    if (this.renewing) return;
    this.renewing = this.renew([...this.live])
      .catch((err) => this.settings.onError(err as Error, 'renew'))
      .finally(() => {
        this.renewing = undefined;
      });
  }

  /**
   * Rows this process may claim now: its free concurrency, less the runs whose ends wait to be
   * written beyond one concurrency's worth (so a slow database holds the claims back instead
   * of letting unwritten ends pile up).
   */
  protected get free() {
    const max = this.settings.maxConcurrency;
    return max - this.running - Math.max(0, this.recording - max);
  }

  /** The wait before the next cycle after a failed one: `ms`, or sooner for rows a dispatcher holds until a time of their own. */
  protected retryWakeMs(ms: number): number {
    return ms;
  }

  /** Looks for due rows in `delay` ms, or sooner if a look was planned already. */
  wake(delay: number) {
    if (!this.started) return;
    const at = Date.now() + Math.max(0, delay);
    if (at >= this.wakeAt) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.wakeAt = Infinity;
        this.loop();
      },
      Math.max(0, delay),
    );
    this.timer.unref();
  }

  private loop() {
    if (this.cycle) {
      this.again = true;
      return;
    }
    this.cycle = (async () => {
      try {
        do {
          this.again = false;
          await this.claimCycle();
        } while (this.again && this.started);
      } catch (err) {
        this.settings.onError(err as Error, 'claim');
        this.wake(this.retryWakeMs(this.settings.pollIntervalMs));
      } finally {
        this.cycle = undefined;
      }
    })();
  }

  /** Stops claiming, once the cycle under way has ended. */
  protected async stopClaiming() {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Infinity;
    await this.cycle;
  }

  /**
   * Waits for every run to be recorded and its row written back, then gives the write-back its
   * last tries: rows not written back now are unlocked by the lock lifetime, or at once when
   * this worker is marked gone.
   */
  protected async closeWriteBack() {
    await this.settled();
    this.closed = true;
    // No run is under way: no lock is left to renew, and the client may close after this.
    clearInterval(this.renewal);
    this.renewal = undefined;
    await this.renewing;
    await this.flushing;
    for (let i = 0; i < 3 && this.pending.length; i++) {
      try {
        await this.flush();
      } catch (err) {
        this.settings.onError(err as Error, 'complete');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Resolves once no run of this dispatcher is under way or being recorded. */
  private settled(): Promise<void> {
    if (this.running === 0 && this.recording === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** A run is recorded: closeWriteBack may go on once none is left. */
  protected recorded() {
    this.recording -= 1;
    if (this.running === 0 && this.recording === 0) {
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
  }

  /**
   * Hands claimed leases to the run wrapper and settles each run: a run the wrapper could not
   * record (the store failed) keeps a row not yet let go for a poll interval rather than losing
   * it; once a run settles its lease is released (runs not started, a fire only queued,
   * recorded missed or skipped, let their row go here), `settled(i)` runs, and the run counts
   * as recorded.
   */
  protected handOver(run: (leases: Lease[]) => Array<Promise<void>>, leases: Lease[], released: boolean[], settled?: (i: number) => void) {
    this.holdLive(leases);
    let runs: Array<Promise<void>>;
    try {
      runs = run(leases);
    } catch (err) {
      runs = leases.map(() => Promise.reject(err));
    }
    leases.forEach((lease, i) => {
      runs[i]
        .catch((err) => {
          this.settings.onError(err as Error, 'run');
          // Never before the time a row handed over ahead was due (Lease.due).
          if (!released[i]) lease.nextRunAt = new Date(Math.max(Date.now() + this.settings.pollIntervalMs, lease.due?.getTime() ?? 0));
        })
        .finally(() => {
          // The release stops the renewal of the lease's lock (stopRenewing), as every release does.
          lease.release!();
          settled?.(i);
          this.recorded();
          this.wake(0);
        });
    });
  }

  /**
   * Rows released together are written back together, one write at a time. A write that fails
   * is tried again, waiting longer each time, until it lands or the dispatcher closes.
   */
  protected scheduleFlush() {
    if (this.flushing) return;
    const delay = this.flushDelay;
    this.flushing = new Promise<void>((resolve) => (delay ? setTimeout(resolve, delay) : setImmediate(resolve)))
      .then(() => this.flush())
      .then(
        () => {
          this.flushDelay = 0;
        },
        (err) => {
          this.settings.onError(err as Error, 'complete');
          this.flushDelay = Math.min(this.settings.retryMaxMs, Math.max(50, this.flushDelay * 2));
        },
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length && !this.closed) this.scheduleFlush();
      });
  }
}
