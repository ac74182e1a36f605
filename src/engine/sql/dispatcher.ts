import type { SqlClient } from '../../db/sql-client.js';
import { DispatchLoop } from '../dispatch-loop.js';
import type { EngineData, Lease } from '../lease.js';
import type { JobWithActiveRuns } from '../../store/jobs.js';
import { jobWithActiveRuns, jobWithActiveRunsColumns } from '../../store/sql/jobs.js';
import type { Row } from '../../store/sql/rows.js';
import { afterLocks } from '../../store/sql/statements.js';

export interface SqlDispatcherOptions {
  /** Handlers this process runs: only their rows are claimed. */
  names: () => string[];
  maxConcurrency: number;
  /** Longest sleep between two looks at the table, in ms. */
  pollIntervalMs: number;
  /** A lock older than this was taken by a process that died; its row is claimed again. */
  lockLifetimeMs: number;
  /**
   * Who holds a claim's locks, written to locked_by: the
   * worker's id, so the rows of a worker known gone can be released at once.
   */
  holder: () => string;
  /** The LISTEN/NOTIFY channel that says a row became due (schema-qualified). */
  channel: string;
  onError: (err: Error, where: string) => void;
  /** Longest wait between two tries of writing the rows of ended runs back, in ms. */
  retryMaxMs: number;
  /**
   * Rows claimed beyond the free concurrency (JOBS_CLAIM_AHEAD), held in a local queue and
   * started as runs end, so a start does not wait for a claim. 0: claims take the free
   * concurrency only.
   */
  claimAhead: number;
  /**
   * How long before a row is due the claim may take it (JOBS_CLAIM_EARLY_MS): the row waits in
   * the local queue until its time, so a burst's claim is made before the burst is due. 0: due
   * rows only.
   */
  claimEarlyMs: number;
  /**
   * How long before a row claimed early is due it is handed to the run wrapper
   * (JOBS_FIRE_LEAD_MS, at most the early claim's lead): its fire is written ahead, and its
   * handler waits for its time (Lease.due). 0: at its time.
   */
  fireLeadMs: number;
  /** The claim reads the jobs (the service's job table) of the schedule rows it claims. */
  readJobs: boolean;
}

/**
 * The most fires handed to the run wrapper together (see startAll). A burst of 1,000 due runs
 * at concurrency 1,000 (the lag bench) started its last run 245 to 284 ms after it was due in
 * groups of 250, 296 to 356 ms in one group, and no sooner in groups of 100 (ten statements at
 * once then wait for the pool's connections).
 */
const HAND_OVER_FIRES = 250;

/** A claimed row waiting in the local queue for a free run slot. */
interface Waiting {
  row: Claimed;
  by: string;
  /** When it was claimed (Date.now()), or its due time for a row claimed before it was due. */
  at: number;
  /**
   * Its due time (ms) for a row claimed before it was due: it is handed over no sooner (a
   * schedule row: no sooner than JOBS_FIRE_LEAD_MS before it, its handler waiting for it).
   */
  due?: number;
}

/** A schedule row (it fires a job), as against a run row (it starts a queued run). */
const firesJob = (row: Claimed) => 'job_id' in row.data;

interface Claimed {
  id: string;
  name: string;
  data: EngineData;
  next_run_at: Date | null;
  /** The row's job, read by the claim (schedule rows only). */
  fire?: JobWithActiveRuns | null;
  /** Whether it waited in the local queue after the claim (Lease.waited). */
  waited?: boolean;
  /** The claim's time, written to the row's claimed_at. */
  claim: Date;
}

/** What the end of a run does to its row: remove it, or unlock it at its next fire. */
interface Completion {
  id: string;
  claimedAt: Date | null;
  nextRunAt: Date | null;
  /** The holder that claimed the row: a row claimed since by another is not touched. */
  by: string;
  /**
   * When it was claimed (the claim writes it to claimed_at): a row claimed again since, even by
   * the same holder, is not touched (a write-back tried again after its answer was lost).
   */
  claim: Date;
}

/**
 * The rows `a` of dispatch_due_idx of handler `name`, not disabled, due by `until`, as row
 * comparisons on the index's three columns (see claimSql for why not equalities).
 */
const enabledRowsOf = (name: string, until: string) =>
  `(a.handler, a.disabled, a.next_run_at) >= (${name}, FALSE, '-infinity'::timestamptz) AND (a.handler, a.disabled, a.next_run_at) <= (${name}, FALSE, ${until})`;

/**
 * One statement claims up to `limit` rows of `dispatch`: those due by $6 (now, or a little
 * later: JOBS_CLAIM_EARLY_MS) in next_run_at order,
 * one probe of dispatch_due_idx (handler, disabled, next_run_at) per handler, unlocked or
 * locked longer ago than the lock lifetime ($3: a worker that died). Its plan does not depend
 * on statistics (the bench's server runs without autovacuum, PGlite never analyses):
 * `handler = ANY(...)` on the index's leading column let PostgreSQL scan and sort a whole due
 * backlog to take 20 rows; the per-handler probes read `limit` entries each, and past the
 * rows locked meanwhile, which are at most the runs under way. Each probe's bounds are row
 * comparisons on the index's three columns: written as equalities and a range, PostgreSQL
 * (without statistics) estimated a handful of rows and read all of them through a bitmap,
 * then sorted them; row comparisons it estimates as a wider range, which an ordered walk of
 * the index stopped by the limit serves best. Each probe's limit is a subquery, `(SELECT $4)`,
 * which the planner cannot read: it then plans for a tenth of the rows it estimates, as in a
 * generic plan. Given the limit, it compared it with the rows it estimated without statistics
 * (a fraction of the table's pages) and, when the two came near (a limit of 40 or 100 on a few
 * thousand due rows), read and sorted the handler's whole backlog through a bitmap to lock
 * the first rows. Rows a probe locks beyond
 * `limit` are let go when the statement ends. The claim writes only columns no index names,
 * so it is a HOT update. The jobs of the schedule rows come with them, as a fire decides on
 * them (job_pkey, then execution_active_job_idx), with each job row's version (`xmin`): rows
 * started at once need no read of their own, and rows that wait in the local queue (beyond
 * the free concurrency, or claimed before they are due) are fired from this read when they
 * start, by a write that checks their job is still that version (RunWrite.unchanged). A row
 * another worker changed after this statement's snapshot (its lock found the row's newer
 * version: another claim, fired and let go meanwhile) is not read: the job as the snapshot
 * saw it would not show that fire.
 *
 * The claim commits without waiting for its WAL to be flushed (`synchronous_commit` off for
 * this statement's own transaction; it always runs alone). A claim that a crash of the server
 * takes back only leaves its rows unlocked, to be claimed again, and nothing started from it:
 * a fire checks that its rows are still held by this claim (`hl`, RunWrite.held) and waits
 * for its own flush, which covers the claim's commit written before it. Waiting for the flush
 * here cost a claim as long as its work, while fires and run ends waited behind it.
 *
 * The statement is prepared, and PostgreSQL may then run it with a generic plan, which knows
 * neither the limit nor the names: every table is reached through a key it is given
 * (`= ANY(ARRAY(...))`, per-row subqueries), so no such plan can hash-join a whole table
 * against the few rows claimed.
 */
const claimSql = (readJobs: boolean) => `WITH due AS (
    SELECT x.id, x.next_run_at, x.version FROM unnest($1::text[]) AS n(name)
     CROSS JOIN LATERAL (
       SELECT a.id, a.next_run_at, a.xmin::text AS version FROM dispatch a
        WHERE ${enabledRowsOf('n.name', '$6')} AND COALESCE(a.locked_at, '-infinity') <= $3
        ORDER BY a.handler, a.disabled, a.next_run_at LIMIT (SELECT $4::int) FOR UPDATE SKIP LOCKED
     ) x
  ), c AS (
    SELECT id, version FROM due WHERE set_config('synchronous_commit', 'off', true) = 'off' ORDER BY next_run_at LIMIT $4
  ), claimed AS (
    UPDATE dispatch a SET locked_at = $2, claimed_at = $2, locked_by = $5
     WHERE a.id = ANY(ARRAY(SELECT id FROM c))
    RETURNING a.id AS id, a.handler AS row_name, a.job_id AS row_job, a.execution_id AS row_run, a.next_run_at AS row_next_run_at
  ), ranked AS (
    SELECT claimed.id::text AS row_id, claimed.row_name, claimed.row_job, claimed.row_run, claimed.row_next_run_at, c.version AS row_version,
           row_number() OVER (ORDER BY claimed.row_next_run_at NULLS FIRST, claimed.id::text) AS row_rank
      FROM claimed JOIN c ON c.id = claimed.id
  )
  ${
    readJobs
      ? `, fresh AS (
    SELECT ranked.*, ranked.row_version = (SELECT s.xmin::text FROM dispatch s WHERE s.id = ranked.row_id::uuid) AS row_read FROM ranked
  )
  SELECT fresh.*, ${jobWithActiveRunsColumns}
    FROM fresh
    LEFT JOIN LATERAL (SELECT *, xmin FROM job WHERE job.job_id = fresh.row_job COLLATE "C" AND fresh.row_read LIMIT 1) j ON true
   ORDER BY fresh.row_rank`
      : 'SELECT ranked.*, FALSE AS row_read FROM ranked ORDER BY ranked.row_rank'
  }`;

/** The claim of a service's dispatcher, which reads the jobs of the schedule rows it claims. */
export const claimStatement = claimSql(true);
/** The claim of an engine used without the service's tables. */
const claimWithoutJobs = claimSql(false);

/**
 * Claims due rows of `dispatch`, many in one claim, and hands them to the run wrapper.
 *
 * Claims take up to the free concurrency (and JOBS_CLAIM_AHEAD more) in one statement
 * (`FOR UPDATE SKIP LOCKED`, so workers never take the same row) and write the ends of runs
 * back together. A row is due when `next_run_at` has passed and it is unlocked, or its lock
 * is older than the lock lifetime (its worker died).
 */
export class SqlDispatcher extends DispatchLoop<Completion> {
  private unlisten?: () => Promise<void>;
  /** The row of each lease handed out. */
  private readonly rows = new WeakMap<Lease, string>();
  private readonly holders = new WeakMap<Lease, string>();
  /** The claim of each lease: its time, written to the row's claimed_at. */
  private readonly claims = new WeakMap<Lease, Date>();
  /** Claimed rows not handed to the run wrapper yet, oldest first. */
  private waiting: Waiting[] = [];
  /**
   * Rows let go by runs whose end is being written, by run id: written by that end's own
   * statement (releaseCtes), or, should it not take them, once the run has settled.
   */
  private readonly deferred = new Map<string, Completion>();

  constructor(
    private readonly sql: SqlClient,
    private readonly run: (leases: Lease[]) => Array<Promise<void>>,
    private readonly options: SqlDispatcherOptions,
  ) {
    super(options);
  }

  get active() {
    return this.running;
  }

  /** The id of the row a lease of this dispatcher holds. */
  rowOf(lease: Lease): string | undefined {
    return this.rows.get(lease);
  }

  /** Who claimed the row of a lease (the row's locked_by at the claim). */
  holderOf(lease: Lease): string | undefined {
    return this.holders.get(lease);
  }

  /** When the row of a lease was claimed (the row's claimed_at): a claim taken again since has another. */
  claimOf(lease: Lease): Date | undefined {
    return this.claims.get(lease);
  }

  async start() {
    if (this.started) return;
    this.started = true;
    this.unlisten ??= await this.sql.listen(
      this.options.channel,
      () => this.wake(0),
      (err) => this.options.onError(err, 'notification channel'),
    );
    this.wake(0);
  }

  /** Stops claiming; runs in progress go on, and their rows are still written back. Rows waiting in the local queue are unlocked. */
  async stop() {
    await this.stopClaiming();
    this.letGo(this.waiting.splice(0, this.waiting.length));
  }

  /**
   * The longest a claimed row waits in the local queue before it is unlocked for any worker:
   * two poll intervals but at least 2 s (shorter, a slow machine's queue would be let go and
   * claimed again over and over), and at most a third of the lock lifetime.
   */
  private get waitLimitMs() {
    return Math.min(Math.max(2 * this.options.pollIntervalMs, 2000), this.options.lockLifetimeMs / 3);
  }

  /** Whether the store runs one statement at a time (PGlite, a transaction). */
  private get oneConnection() {
    return this.sql.connections < 2;
  }

  /**
   * JOBS_CLAIM_AHEAD where the store runs statements side by side; 0 on one connection (PGlite).
   * There a waiting row's start costs a read of its job that a claim of the free concurrency
   * makes in the claim itself, and nothing runs meanwhile on the connection for the local queue
   * to overlap: the embedded dispatch bench made 1,310 runs/s without it and 1,026 with 20.
   */
  private get claimAhead() {
    return this.oneConnection ? 0 : this.options.claimAhead;
  }

  /**
   * JOBS_CLAIM_EARLY_MS, at most half the wait limit: a row's lock, taken that long before it
   * is due, stays well within the lock lifetime until the row is let go (its wait limit counts
   * from its due time), so no other worker takes it as a dead worker's meanwhile.
   */
  private get claimEarlyMs() {
    return Math.min(this.options.claimEarlyMs, this.waitLimitMs / 2);
  }

  /** JOBS_FIRE_LEAD_MS, at most the early claim's lead. */
  private get fireLeadMs() {
    return Math.min(this.options.fireLeadMs, this.claimEarlyMs);
  }

  /** When (ms) a row claimed early may be handed over: a schedule row's fire leads its time by fireLeadMs. */
  private handOverAt(row: Claimed, due: number): number {
    return firesJob(row) ? due - this.fireLeadMs : due;
  }

  /** Unlocks rows claimed but never handed out, at their stored next run (due now when it had none). */
  private letGo(rows: Waiting[]) {
    if (rows.length === 0) return;
    for (const w of rows) {
      const at = w.row.next_run_at ? new Date(w.row.next_run_at) : new Date();
      this.pending.push({ id: w.row.id, claimedAt: at, nextRunAt: at, by: w.by, claim: w.row.claim });
    }
    this.scheduleFlush();
  }

  async close() {
    await this.stop();
    await this.unlisten?.();
    this.unlisten = undefined;
    await this.closeWriteBack();
  }

  protected async claimCycle() {
    if (!this.started) return;
    const names = this.options.names();
    // Rows that waited too long go back; the rest start as far as the free concurrency allows.
    const now0 = Date.now();
    const stale = this.waiting.filter((w) => now0 - w.at > this.waitLimitMs);
    if (stale.length) {
      this.waiting = this.waiting.filter((w) => now0 - w.at <= this.waitLimitMs);
      this.letGo(stale);
    }
    // Rows claimed before they were due start at their time (their fires written up to
    // JOBS_FIRE_LEAD_MS before it).
    const ready = this.startable(now0);
    if (ready.length) {
      const starting = new Set(ready.slice(0, this.free));
      this.waiting = this.waiting.filter((w) => !starting.has(w));
      this.startWaiting([...starting]);
    }
    // A row claimed early that is due within a few ms: a timer may fire that much before the
    // clock reaches a due time. Its start is not held back by a claim: the loop looks again then.
    const soon = this.earliestEarly(now0);
    if (soon - now0 <= 5) {
      this.wake(soon - now0 + 1);
      return;
    }
    // Rows claimed early count against the concurrency: they hold their places until their time.
    const room = Math.max(0, this.free) + this.claimAhead - this.waiting.length;
    // Likewise a claim: with rows waiting, a few free places are not worth a statement yet.
    if (room <= 0 || names.length === 0 || (this.waiting.length && room < Math.ceil(this.options.maxConcurrency / 2))) {
      // A run's end wakes the loop again; rows left waiting are looked at within their wait
      // limit, rows not due yet at their time.
      if (this.waiting.length) this.wake(this.waitingWakeMs(this.waitLimitMs));
      return;
    }
    const now = new Date();
    const until = new Date(now.getTime() + this.claimEarlyMs);
    const by = this.options.holder();
    const rows = await this.claim(names, now, until, room, by);
    if (rows.length) {
      const due: Claimed[] = [];
      const early: Claimed[] = [];
      // Told apart by the clock after the claim: a row whose time passed while it ran starts now.
      const at = Date.now();
      for (const r of rows) (r.next_run_at === null || this.handOverAt(r, r.next_run_at.getTime()) <= at ? due : early).push(r);
      const runNow = due.slice(0, Math.max(0, this.free));
      if (runNow.length) this.startAll(runNow, by);
      // A row that waits is fired later, from the claim's read if its job has not changed by then.
      for (const row of due.slice(runNow.length)) this.waiting.push({ row: { ...row, waited: true }, by, at });
      for (const row of early) {
        const time = row.next_run_at!.getTime();
        this.waiting.push({ row: { ...row, waited: true }, by, at: time, due: time });
      }
    }
    if (rows.length === room) {
      // Full claim: more may be due right now.
      this.again = true;
      return;
    }
    // The next claim: when the earliest unlocked row is due, less the early claim's lead.
    const next = await this.nextDue(names);
    // Rows claimed early whose time passed during the claim or this look start now (the wake
    // below counts only times still ahead).
    if (this.startable(Date.now()).length) {
      this.again = true;
      return;
    }
    const sleep = next === null ? this.options.pollIntervalMs : Math.min(this.options.pollIntervalMs, next.getTime() - this.claimEarlyMs - Date.now());
    this.wake(this.waitingWakeMs(sleep));
  }

  /**
   * The waiting rows that may be handed over at `now`, when a hand-over is worth making; none
   * otherwise. A hand-over costs the same few statements for one row or many: rows start once
   * half the concurrency is free (or all of them fit), not one at a time as runs end.
   */
  private startable(now: number): Waiting[] {
    const ready = this.waiting.filter((w) => w.due === undefined || this.handOverAt(w.row, w.due) <= now);
    const batch = Math.min(ready.length, Math.ceil(this.options.maxConcurrency / 2));
    return ready.length && this.free >= Math.max(1, batch) ? ready : [];
  }

  /**
   * `ms`, or sooner when a row claimed before it was due comes due sooner. Rows due already
   * that wait for a free place are not counted: a run's end wakes the loop for them, and their
   * wait limit bounds the wait.
   */
  private waitingWakeMs(ms: number): number {
    const now = Date.now();
    return Math.min(ms, this.earliestEarly(now) - now);
  }

  /** The earliest time (ms) after `now` at which a row claimed early may be handed over (handOverAt); Infinity if none. */
  private earliestEarly(now: number): number {
    let earliest = Infinity;
    for (const w of this.waiting) {
      if (w.due === undefined) continue;
      const at = this.handOverAt(w.row, w.due);
      if (at > now && at < earliest) earliest = at;
    }
    return earliest;
  }

  protected override retryWakeMs(ms: number): number {
    return this.waitingWakeMs(ms);
  }

  /** Hands rows of the local queue to the run wrapper, one hand-over per claimer. */
  private startWaiting(list: Waiting[]) {
    const byHolder = new Map<string, Claimed[]>();
    for (const w of list) byHolder.set(w.by, [...(byHolder.get(w.by) ?? []), w.row]);
    for (const [by, rows] of byHolder) this.startAll(rows, by);
  }

  /** See claimStatement. */
  private async claim(names: string[], now: Date, until: Date, limit: number, by: string): Promise<Claimed[]> {
    const deadline = new Date(now.getTime() - this.options.lockLifetimeMs);
    const text = this.options.readJobs ? claimStatement : claimWithoutJobs;
    const r = await this.sql.query<Row>(text, [names, now, deadline, limit, by, until], { prepare: true });
    return r.rows.map((x) => {
      const data: EngineData = x.row_job !== null ? { job_id: x.row_job as string } : { execution_id: x.row_run as string };
      return {
        id: x.row_id as string,
        name: x.row_name as string,
        data,
        next_run_at: (x.row_next_run_at as Date | null) ?? null,
        claim: now,
        // A row not read (changed by another worker since the snapshot): its job is read when it starts.
        fire: 'job_id' in data && x.row_read ? (x.job_id ? jobWithActiveRuns(x) : null) : undefined,
      };
    });
  }

  /** The earliest unlocked due time among this process's handlers, one index probe per handler. */
  private async nextDue(names: string[]): Promise<Date | null> {
    const r = await this.sql.query<{ at: Date | null }>(
      `SELECT min(x.next_run_at) AS at
         FROM unnest($1::text[]) AS n(name)
         CROSS JOIN LATERAL (
           SELECT next_run_at FROM dispatch a
            WHERE ${enabledRowsOf('n.name', "'infinity'::timestamptz")} AND a.locked_at IS NULL
            ORDER BY a.handler, a.disabled, a.next_run_at LIMIT 1
         ) x`,
      [names],
    );
    const at = r.rows[0]?.at;
    return at ? new Date(at) : null;
  }

  /**
   * Hands a claim to the run wrapper. Fires of schedule rows go in groups of at most
   * HAND_OVER_FIRES, each read and written by statements of its own, side by side on the
   * pool's connections, so the first runs of a large claim start before the last are written
   * and the server uses more than one core. Each schedule row is its own job's, so the groups
   * share no job; run rows (queued runs, which may share jobs) stay in one group.
   */
  private startAll(rows: Claimed[], by: string) {
    const fires = rows.filter((r) => 'job_id' in r.data);
    const runs = rows.filter((r) => !('job_id' in r.data));
    // On one connection (PGlite) the groups would only queue behind each other, each with
    // statements of its own: a burst of 1,000 started its last run 25% later than in one.
    if (fires.length <= HAND_OVER_FIRES || this.oneConnection) return this.startGroup(rows, by);
    for (let i = 0; i < fires.length; i += HAND_OVER_FIRES) this.startGroup(fires.slice(i, i + HAND_OVER_FIRES), by);
    if (runs.length) this.startGroup(runs, by);
  }

  /** Hands rows to the run wrapper at once, so it can read and write for all of them together. */
  private startGroup(rows: Claimed[], by: string) {
    this.running += rows.length;
    const released = rows.map(() => false);
    /** The run whose end writes each row's release, if its release was deferred to it. */
    const ends: Array<string | undefined> = rows.map(() => undefined);
    const now = Date.now();
    const leases = rows.map((row, i): Lease => {
      const claimed = row.next_run_at ? new Date(row.next_run_at) : null;
      // A schedule row handed over before its time (JOBS_FIRE_LEAD_MS) fires for that time.
      const due = firesJob(row) && claimed && claimed.getTime() > now ? claimed : undefined;
      // A row fired is gone once its run ends unless the wrapper gives it
      // a next run; a lock refresh keeps the stored time until then.
      const lease: Lease = {
        data: row.data,
        fire: row.fire,
        waited: row.waited,
        due,
        nextRunAt: null,
        touch: () => this.renewLocks([lease], true),
        // The row goes (or waits for its next fire) once the handler returned, while the
        // run's end is written: a worker dying in between leaves a running record, which is
        // settled as lost.
        release: (endOf?: string) => {
          if (released[i]) return;
          released[i] = true;
          this.stopRenewing(lease);
          this.running -= 1;
          this.recording += 1;
          const completion = { id: row.id, claimedAt: claimed, nextRunAt: lease.nextRunAt, by, claim: row.claim };
          if (endOf) {
            ends[i] = endOf;
            this.deferred.set(endOf, completion);
          } else {
            this.pending.push(completion);
            this.scheduleFlush();
          }
          this.wake(0);
        },
      };
      this.rows.set(lease, row.id);
      this.holders.set(lease, by);
      this.claims.set(lease, row.claim);
      return lease;
    });
    this.handOver(this.run, leases, released, (i) => {
      // A release left to the run's end that its end did not write goes on its own.
      const end = ends[i];
      const left = end === undefined ? undefined : this.deferred.get(end);
      if (end !== undefined && left) {
        this.deferred.delete(end);
        this.pending.push(left);
        this.scheduleFlush();
      }
    });
  }

  /**
   * The statement part that releases the rows of the runs `runIds` whose release was deferred
   * to their end (see Lease.release), for the statement writing those ends; parameters are
   * numbered from `first`. `settle(true)` once that statement committed, `settle(false)`
   * when it failed: the releases wait for the next try. Null: none of them has one.
   */
  releaseCtes(runIds: string[], first: number): { ctes: string; params: unknown[]; settle(ok: boolean): void; read: string } | null {
    const taken: Array<[string, Completion]> = [];
    for (const id of runIds) {
      const c = this.deferred.get(id);
      if (c) {
        this.deferred.delete(id);
        taken.push([id, c]);
      }
    }
    if (taken.length === 0) return null;
    return {
      ctes: releaseStatement('r', first),
      read: 'SELECT 1 FROM rkept',
      params: releaseParams(taken.map(([, c]) => c)),
      settle: (ok) => {
        if (ok) return;
        for (const [id, c] of taken) if (!this.deferred.has(id)) this.deferred.set(id, c);
      },
    };
  }

  /** The locks of the runs under way, every third of the lock lifetime (renewLocks). */
  protected renew(leases: Lease[]) {
    return this.renewLocks(leases, false);
  }

  /**
   * One statement renews the locks of the leases given, only where the claim that handed a row
   * out still holds it (`id`, `locked_by`, `claimed_at`, and a lock: a row let go keeps the
   * first two): a run whose worker stalled past the lock lifetime neither renews nor moves the
   * row of the claim that took it since, nor locks again a row released meanwhile. `withNext`
   * (a lease's touch) also stores the next run the lease set. The periodic renewal writes the
   * lock only (a fire writes its next run itself, and a renewal between the hand-over and the
   * fire must not move the row before the fire is recorded), and skips rows another statement
   * holds (a fire, a run end, a reschedule: they are renewed at the next tick), so it never
   * waits on a row lock nor deadlocks with a write that locks rows in another order.
   */
  private async renewLocks(leases: Lease[], withNext: boolean) {
    const held = leases.flatMap((lease) => {
      const id = this.rows.get(lease);
      const by = this.holders.get(lease);
      const claim = this.claims.get(lease);
      return id && by && claim ? [{ id, by, claim, next: lease.nextRunAt }] : [];
    });
    if (held.length === 0) return;
    await this.sql.query(
      `WITH l AS (
         SELECT a.id, v.next FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS v(id, by, claim, next)
           JOIN dispatch a ON a.id = v.id AND a.locked_by = v.by AND a.claimed_at = v.claim AND a.locked_at IS NOT NULL
          ORDER BY a.id FOR UPDATE OF a${withNext ? '' : ' SKIP LOCKED'}
       )
       UPDATE dispatch a SET locked_at = $1${withNext ? ', next_run_at = COALESCE(l.next, a.next_run_at)' : ''} FROM l WHERE a.id = l.id`,
      [new Date(), held.map((h) => h.id), held.map((h) => h.by), held.map((h) => h.claim), held.map((h) => h.next)],
    );
  }

  /** Writes back the rows let go with no run end to carry them (releaseStatement), in one statement. A failed write puts its rows back for the next try. */
  protected async flush() {
    const ended = this.pending.splice(0, this.pending.length);
    if (ended.length === 0) return;
    try {
      await this.sql.query(`WITH ${releaseStatement('r', 1)} SELECT 1`, releaseParams(ended));
    } catch (err) {
      this.pending.unshift(...ended);
      throw err;
    }
  }
}

function releaseParams(list: Completion[]): unknown[] {
  return [list.map((c) => c.id), list.map((c) => c.claimedAt), list.map((c) => c.nextRunAt), list.map((c) => c.by), list.map((c) => c.claim)];
}

/**
 * CTEs (named from `p`) that write back the rows of finished runs: rows with no next run are
 * deleted, unless their next_run_at was changed under the run (a job rescheduled while it
 * ran), which are only unlocked; the others are unlocked at their next fire, or at the time
 * they hold if it is no longer the one claimed: the fire wrote that next fire, or the job was
 * rescheduled while the row was held (a row let go unfired, say, keeps the new time, not the
 * one its claim read). next_run_at
 * keeps milliseconds (timestamptz(3)), so the time the claim read into a Date compares equal.
 * The rows are locked in id order first (two workers' statements cannot deadlock), and only
 * those still held by the claim that took them, holder and claim time (a try whose answer was
 * lost is harmless, even once the same worker has claimed the row again).
 * Parameters: `first` .. `first` + 4 (releaseParams).
 */
function releaseStatement(p: string, first: number): string {
  const [ids, claimed, next, by, claim] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `${p}v AS (
      SELECT * FROM unnest(${ids}::uuid[], ${claimed}::timestamptz[], ${next}::timestamptz[], ${by}::text[], ${claim}::timestamptz[]) AS v(id, claimed, next, by, claim)
    ), ${p}l AS (
      SELECT a.id FROM dispatch a JOIN ${p}v v ON a.id = v.id AND a.locked_by = v.by AND a.claimed_at = v.claim ORDER BY a.id FOR UPDATE OF a
    ), ${p}gone AS (
      DELETE FROM dispatch a USING ${p}v v
       WHERE a.id = v.id AND a.locked_by = v.by AND a.claimed_at = v.claim AND v.next IS NULL AND a.next_run_at IS NOT DISTINCT FROM v.claimed
         AND ${afterLocks(`${p}l`)}
      RETURNING a.id
    ), ${p}kept AS (
      UPDATE dispatch a SET locked_at = NULL,
             next_run_at = CASE WHEN a.next_run_at IS DISTINCT FROM v.claimed THEN a.next_run_at ELSE COALESCE(v.next, a.next_run_at) END
        FROM ${p}v v WHERE a.id = v.id AND a.locked_by = v.by AND a.claimed_at = v.claim AND a.id NOT IN (SELECT id FROM ${p}gone)
         AND ${afterLocks(`${p}l`)}
      RETURNING 1
    )`;
}
