import { randomUUID } from 'node:crypto';
import { DispatchLoop } from '../dispatch-loop.js';
import type { AnyBulkWriteOperation, Collection, Filter, ObjectId } from 'mongodb';
import type { EngineData, Lease } from '../lease.js';

/**
 * A document of Agenda's collection, as Agenda's MongoDB repository saves it (`saveJob` writes
 * every field below, null when unset), plus `claimToken`, which only this dispatcher writes.
 * Its `_id` is the ObjectId the server gives it.
 */
export interface AgendaRow {
  name: string;
  data: EngineData;
  type: string;
  priority: number;
  nextRunAt: Date | null;
  lockedAt: Date | null;
  lastRunAt: Date | null;
  lastFinishedAt: Date | null;
  lastModifiedBy: string | null;
  disabled: boolean | null;
  failedAt?: Date | null;
  failCount?: number | null;
  failReason?: string | null;
  repeatTimezone?: string | null;
  repeatInterval?: string | null;
  repeatAt?: string | null;
  progress?: number | null;
  debounceStartedAt?: Date | null;
  fork?: boolean | null;
  startDate?: Date | null;
  endDate?: Date | null;
  skipDays?: number[] | null;
  /**
   * The claim that locked the row last: a random id per claim, written with the lock in the
   * same update. Agenda's repository ignores fields it does not know.
   */
  claimToken?: string;
  /**
   * The row's `nextRunAt` when that claim locked it, copied in the same update: the end of its
   * run removes the row only if it still holds this time (it was not rescheduled meanwhile).
   */
  claimedNextRunAt?: Date | null;
}

/** The fields of a new row besides its name, data, next run and state, as Agenda's `saveJob` inserts them (unset ones null). */
export function agendaRowRest(by: string): Omit<AgendaRow, 'name' | 'data' | 'nextRunAt' | 'disabled'> {
  return {
    type: 'normal',
    priority: 0,
    lockedAt: null,
    lastFinishedAt: null,
    failedAt: null,
    failCount: null,
    failReason: null,
    repeatTimezone: null,
    lastRunAt: null,
    repeatInterval: null,
    repeatAt: null,
    progress: null,
    debounceStartedAt: null,
    fork: null,
    startDate: null,
    endDate: null,
    skipDays: null,
    lastModifiedBy: by,
  };
}

/** The change stream's notice of a row written (Agenda's JobNotification, the fields read here). */
export interface RowNotice {
  jobName: string;
  nextRunAt: Date | null;
}

/** How the dispatcher hears of rows written by any process: Agenda's change stream channel, on a replica set. */
export interface NoticeChannel {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(handler: (notice: RowNotice) => void): () => void;
}

export interface MongoDispatcherOptions {
  /** Handlers this process runs: only their rows are claimed. */
  names: () => string[];
  maxConcurrency: number;
  /** Longest sleep between two looks at the collection, in ms. */
  pollIntervalMs: number;
  /** A lock older than this was taken by a process that died; its row is claimed again. */
  lockLifetimeMs: number;
  /** Who holds a claim's locks, written to lastModifiedBy (as Agenda writes its name there): the worker's id. */
  holder: () => string;
  /** Rows written by any process, heard of at once; none: polling only (a standalone server). */
  channel?: NoticeChannel;
  onError: (err: Error, where: string) => void;
  /** Longest wait between two tries of writing the rows of ended runs back, in ms. */
  retryMaxMs: number;
}

/** A row this process claimed. */
interface Claimed {
  _id: ObjectId;
  data: EngineData;
  claimedNextRunAt?: Date | null;
}

/** Which claim of which row a lease stands for. */
export interface Hold {
  id: ObjectId;
  token: string;
}

/** What the end of a run does to its row: remove it, or unlock it at its next fire. */
interface Completion {
  id: ObjectId;
  token: string;
  claimedAt: Date | null;
  nextRunAt: Date | null;
}

/** The filter of rows a claim may lock: unlocked and due, or locked longer ago than the lock lifetime (dead worker). */
function claimable(names: string[], now: Date, deadline: Date): Filter<AgendaRow> {
  return {
    name: { $in: names },
    disabled: { $ne: true },
    $or: [{ lockedAt: null, nextRunAt: { $lte: now } }, { lockedAt: { $type: 'date', $lte: deadline } }],
  };
}

/**
 * Claims due rows of Agenda's collection, many in one claim, and hands them to the run wrapper.
 *
 * Agenda's processor locks one row per `findOneAndUpdate` and waits for each answer before
 * asking for the next. A claim here is three operations whatever its size: two finds of
 * candidate ids (rows whose lock expired, through agenda_jobs_locked_idx; due unlocked rows in
 * nextRunAt order, through Agenda's findAndLockNextJobIndex), one `updateMany` that locks those
 * still claimable under a new claim token, and one find of the rows carrying that token. Each
 * document's update is atomic and its filter is evaluated against the document it writes, so of
 * two workers' updates only one locks a row, and only the winner reads it back with its token.
 * The ends of runs are written back together, one ordered `bulkWrite` per flush. The fields and
 * the lock rules are Agenda's: a row is due when unlocked and `nextRunAt` has passed, or when
 * its lock is older than the lock lifetime.
 */
export class MongoDispatcher extends DispatchLoop<Completion> {
  private unsubscribe?: () => void;
  /** The row and claim of each lease handed out. */
  private readonly holds = new WeakMap<Lease, Hold>();

  constructor(
    private readonly rows: Collection<AgendaRow>,
    private readonly run: (leases: Lease[]) => Array<Promise<void>>,
    private readonly options: MongoDispatcherOptions,
  ) {
    super(options);
  }

  /** The row and claim of a lease of this dispatcher. */
  holdOf(lease: Lease): Hold | undefined {
    return this.holds.get(lease);
  }

  async start() {
    if (this.started) return;
    this.started = true;
    const channel = this.options.channel;
    if (channel && !this.unsubscribe) {
      this.unsubscribe = channel.subscribe((notice) => this.heard(notice));
      // Without the stream the poll still finds every row; the channel reconnects by itself.
      await channel.connect().catch((err: unknown) => this.options.onError(err as Error, 'notification channel'));
    }
    this.wake(0);
  }

  /**
   * A row was written: a look at its due time (at once when due), if it is of a handler run
   * here. A later time is left to the poll, which also keeps the timer within setTimeout's range.
   */
  private heard(notice: RowNotice) {
    // With no room, the end of a run wakes the loop anyway.
    if (!notice.nextRunAt || this.free <= 0 || !this.options.names().includes(notice.jobName)) return;
    this.wake(Math.min(this.options.pollIntervalMs, new Date(notice.nextRunAt).getTime() - Date.now()));
  }

  /** Stops claiming; runs in progress go on, and their rows are still written back. */
  async stop() {
    await this.stopClaiming();
  }

  async close() {
    await this.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.options.channel?.disconnect().catch((err: unknown) => this.options.onError(err as Error, 'notification channel'));
    await this.closeWriteBack();
  }

  protected async claimCycle() {
    if (!this.started) return;
    const names = this.options.names();
    const room = this.free;
    // A run's end wakes the loop again.
    if (room <= 0 || names.length === 0) return;
    const by = this.options.holder();
    const { rows, token, candidates, failure } = await this.claim(names, new Date(), room, by);
    if (rows.length) this.startAll(rows, token);
    // The next look comes after a poll interval (see loop).
    if (failure) throw failure;
    if (candidates === room) {
      // As many candidates as room: more may be due now (or another worker took some of them).
      this.again = true;
      return;
    }
    const next = await this.nextDue(names);
    const until = next === null ? this.options.pollIntervalMs : Math.min(this.options.pollIntervalMs, next.getTime() - Date.now());
    this.wake(until);
  }

  /**
   * Locks up to `limit` claimable rows under a new claim token and reads back those it locked.
   * A failed `updateMany` (not a retryable write) may have locked some rows: they are read back
   * all the same, and the failure is answered with them; rows locked and never read back stay
   * locked until their lock expires, or until this worker is declared gone.
   */
  private async claim(names: string[], now: Date, limit: number, by: string): Promise<{ rows: Claimed[]; token: string; candidates: number; failure?: unknown }> {
    const deadline = new Date(now.getTime() - this.options.lockLifetimeMs);
    // Expired locks first, through agenda_jobs_locked_idx (its filter, {lockedAt: {$type: 'date'}}, is part of the query).
    const stale = await this.rows.find({ lockedAt: { $type: 'date', $lte: deadline }, name: { $in: names }, disabled: { $ne: true } }, { projection: { _id: 1 }, limit }).toArray();
    const due =
      stale.length < limit
        ? await this.rows
            .find(
              { name: { $in: names }, lockedAt: null, disabled: { $ne: true }, nextRunAt: { $lte: now } },
              { projection: { _id: 1 }, sort: { nextRunAt: 1 }, limit: limit - stale.length },
            )
            .toArray()
        : [];
    const ids = [...stale, ...due].map((r) => r._id);
    const token = randomUUID();
    if (ids.length === 0) return { rows: [], token, candidates: 0 };
    let failure: unknown;
    try {
      // The filter is checked again per document as it is written: a row another worker
      // locked since the finds is left out. A pipeline update, so the row's nextRunAt is
      // copied as it is locked (a reschedule between this update and the read below cannot
      // pass for the claimed time); strings are $literal, as a '$' would make them field paths.
      await this.rows.updateMany({ _id: { $in: ids }, ...claimable(names, now, deadline) }, [
        { $set: { lockedAt: now, lastRunAt: now, lastModifiedBy: { $literal: by }, claimToken: { $literal: token }, claimedNextRunAt: { $ifNull: ['$nextRunAt', null] } } },
      ]);
    } catch (err) {
      failure = err;
    }
    // Only rows this update locked carry its token; one released since (its worker declared
    // gone) is left to whoever claims it next. Read on the primary, which took the update,
    // whatever read preference the URL sets (a secondary may not have it yet).
    const rows = await this.rows
      .find({ _id: { $in: ids }, claimToken: token, lockedAt: { $ne: null } }, { projection: { _id: 1, data: 1, claimedNextRunAt: 1 }, readPreference: 'primary' })
      .toArray();
    return { rows, token, candidates: ids.length, failure };
  }

  /** The earliest unlocked due time among this process's handlers (findAndLockNextJobIndex). */
  private async nextDue(names: string[]): Promise<Date | null> {
    const row = await this.rows.findOne(
      { name: { $in: names }, lockedAt: null, disabled: { $ne: true }, nextRunAt: { $type: 'date' } },
      { projection: { nextRunAt: 1 }, sort: { nextRunAt: 1 } },
    );
    return row?.nextRunAt ? new Date(row.nextRunAt) : null;
  }

  /**
   * The locks of the runs under way, every third of the lock lifetime: the lock only (a fire
   * writes its next run itself, and a renewal between the hand-over and the fire must not move
   * the row before the fire is recorded).
   */
  protected renew(leases: Lease[]) {
    return this.lockMany(leases, false);
  }

  /** Renews the locks of leases of this dispatcher and stores their next runs already set (a fire's schedule rows). */
  touchMany(leases: Lease[]) {
    return this.lockMany(leases, true);
  }

  /**
   * One unordered bulkWrite renews the locks of the leases given, only of rows still held by the
   * claim that handed them out; `withNext` also stores the next run a lease set.
   */
  private async lockMany(leases: Lease[], withNext: boolean) {
    const now = new Date();
    const ops: Array<AnyBulkWriteOperation<AgendaRow>> = [];
    for (const lease of leases) {
      const hold = this.holds.get(lease);
      if (hold) ops.push({ updateOne: { filter: this.held(hold), update: { $set: withNext ? this.touched(lease, now) : { lockedAt: now } } } });
    }
    if (ops.length) await this.rows.bulkWrite(ops, { ordered: false });
  }

  /** A row still locked by the claim that handed it out: a late write of a row released (its worker declared gone) or claimed again is a no-op. */
  private held(hold: Hold): Filter<AgendaRow> {
    return { _id: hold.id, claimToken: hold.token, lockedAt: { $ne: null } };
  }

  /** A renewed lock, with the lease's next run once set (until then the row keeps the time it was claimed at). */
  private touched(lease: Lease, now: Date): Partial<AgendaRow> {
    return lease.nextRunAt ? { lockedAt: now, nextRunAt: lease.nextRunAt } : { lockedAt: now };
  }

  /** Hands a claim to the run wrapper at once, so it can read and write for all of it together. */
  private startAll(rows: Claimed[], token: string) {
    this.running += rows.length;
    const released = rows.map(() => false);
    const leases = rows.map((row, i): Lease => {
      const claimedAt = row.claimedNextRunAt ? new Date(row.claimedNextRunAt) : null;
      const hold: Hold = { id: row._id, token };
      // As with Agenda, a row fired is gone once its run ends unless the wrapper gives it a
      // next run; a lock renewal keeps the stored time until then.
      const lease: Lease = {
        data: row.data,
        nextRunAt: null,
        touch: () => this.lockMany([lease], true),
        // The row goes (or waits for its next fire) once the handler returned, while the run's
        // end is written: a worker dying in between leaves a running record, settled as lost.
        release: () => {
          if (released[i]) return;
          released[i] = true;
          this.stopRenewing(lease);
          this.running -= 1;
          this.recording += 1;
          this.pending.push({ id: row._id, token, claimedAt, nextRunAt: lease.nextRunAt });
          this.scheduleFlush();
          this.wake(0);
        },
      };
      this.holds.set(lease, hold);
      return lease;
    });
    this.handOver(this.run, leases, released);
  }

  /**
   * Writes back the rows of ended runs in one ordered bulkWrite, which the driver sends as one
   * `delete` command and then one `update` command: first the rows left with no next run are
   * deleted, unless their `nextRunAt` was changed under the run (a job rescheduled while it
   * ran); then every row still of its claim is unlocked, at its next fire when the run gave it
   * one (a deleted row matches nothing). The order matters: an unlock before the delete would
   * let another worker claim the row the delete then removes. Only rows still carrying the
   * claim's token are touched, so a row claimed since by another worker is left alone, and a
   * try whose answer was lost is harmless when tried again. A failed write puts its rows back
   * for the next try.
   */
  protected async flush() {
    const ended = this.pending.splice(0, this.pending.length);
    if (ended.length === 0) return;
    const now = new Date();
    const ops: Array<AnyBulkWriteOperation<AgendaRow>> = [];
    for (const c of ended) {
      if (c.nextRunAt === null) ops.push({ deleteOne: { filter: { _id: c.id, claimToken: c.token, nextRunAt: c.claimedAt } } });
    }
    for (const c of ended) {
      const $set: Partial<AgendaRow> = c.nextRunAt ? { lockedAt: null, nextRunAt: c.nextRunAt, lastFinishedAt: now } : { lockedAt: null, lastFinishedAt: now };
      ops.push({ updateOne: { filter: { _id: c.id, claimToken: c.token }, update: { $set } } });
    }
    try {
      await this.rows.bulkWrite(ops, { ordered: true });
    } catch (err) {
      this.pending.unshift(...ended);
      throw err;
    }
  }
}
