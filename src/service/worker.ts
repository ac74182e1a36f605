import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Engine } from '../engine/types.js';
import type { Logger } from '../observability/log.js';
import type { Runner } from '../scheduling/runner.js';
import type { Store, WorkerHeartbeat, WorkerRecord } from '../store/types.js';
import { OutageLog } from './outage.js';

export interface WorkerOptions {
  name: string | null;
  version: string;
  handlers: string[];
  /** ms between heartbeats. */
  heartbeatIntervalMs: number;
  /** ms between looks for cancel requests of the runs in progress here. */
  cancelPollIntervalMs: number;
  /** Where a failed heartbeat is reported (a database outage is logged once); a log of its own by default. */
  outage?: OutageLog;
}

function sample(running: number): WorkerHeartbeat {
  return {
    heartbeat_at: new Date(),
    running,
    cpu_load: Math.round((os.loadavg()[0] / Math.max(1, os.cpus().length)) * 1000) / 1000,
    memory: { process_rss: process.memoryUsage.rss(), system_total: os.totalmem(), system_free: os.freemem() },
  };
}

/**
 * This process as a worker: it registers, heartbeats, takes runs only while the service is
 * running and it is not blocked, and acts on cancel requests for its runs.
 */
export class WorkerAgent {
  id = randomUUID();
  /** The fencing token of this registration: larger than every one drawn before it. */
  token: number | null = null;
  /** This worker's tie to its database connection, where the store has one. */
  private session?: { release(): Promise<void> };
  private beat?: NodeJS.Timeout;
  private cancelPoll?: NodeJS.Timeout;
  private stopped = false;
  private readonly outage: OutageLog;

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {
    this.outage = options.outage ?? new OutageLog(log);
  }

  private record(): WorkerRecord {
    const now = new Date();
    return {
      id: this.id,
      name: this.options.name ?? `${os.hostname()}:${process.pid}`,
      host: os.hostname(),
      pid: process.pid,
      version: this.options.version,
      started_at: now,
      handlers: this.options.handlers,
      state: 'active',
      ...sample(this.runner.runningCount),
    };
  }

  /** Registers under this.id (another id if its session lock is taken) and holds its session. */
  private async register() {
    for (;;) {
      this.token = await this.store.registerWorker(this.record());
      // Lost and taken again on its own; a failure to take it again is part of an outage.
      const session = await this.store.holdWorkerSession(this.id, (err) => this.outage.failed(err, 'worker session'));
      if (session !== false) {
        this.session = session ?? undefined;
        break;
      }
      await this.store.setWorkerState(this.id, 'gone');
      this.id = randomUUID();
    }
    this.runner.workerId = this.id;
    this.runner.workerToken = this.token;
  }

  async start() {
    // A write of a run refused: this registration was declared gone; the heartbeat finds out
    // and acts at once rather than at its next interval.
    this.runner.onFenced = () => void this.tick();
    await this.register();
    await this.tick();
    this.beat = setInterval(() => void this.tick(), this.options.heartbeatIntervalMs);
    this.cancelPoll = setInterval(() => void this.pollCancels(), this.options.cancelPollIntervalMs);
    this.beat.unref();
    this.cancelPoll.unref();
    this.log.info({ worker_id: this.id, handlers: this.options.handlers }, 'worker registered');
  }

  /** The heartbeat under way, and the one that waits for it. */
  private beating?: Promise<void>;
  private waiting?: Promise<void>;

  /**
   * One heartbeat: report, then follow the service state and this worker's own state. One at
   * a time (two would both find the worker gone and register twice); a call made while one is
   * under way gets the next, so it sees what changed before it was made.
   */
  tick(): Promise<void> {
    if (this.waiting) return this.waiting;
    const p: Promise<void> = (this.beating ?? Promise.resolve())
      .then(() => {
        this.waiting = undefined;
        this.beating = p;
        return this.beatOnce();
      })
      .finally(() => {
        if (this.beating === p) this.beating = undefined;
      });
    this.waiting = p;
    return p;
  }

  private async beatOnce() {
    if (this.stopped) return;
    try {
      let me = await this.store.heartbeatWorker(this.id, sample(this.runner.runningCount));
      // A stop under way declares this worker gone itself: no registration again then.
      if (this.stopped) return;
      if (!me) {
        // Taken for gone (a stall past the window): its runs were settled and may run
        // elsewhere. Stop them here at once, then come back as a new worker rather than
        // report under the old registration, whose writes are refused from now on.
        // No claims meanwhile: they would carry the gone id, and others release such rows.
        await this.engine.stopProcessing();
        const stopped = this.runner.stopAllLocal('fenced');
        this.log.warn({ worker_id: this.id, token: this.token, runs_stopped: stopped }, 'this worker was declared gone; its runs are stopped here; registering again');
        await this.session?.release();
        this.id = randomUUID();
        await this.register();
        this.log.info({ worker_id: this.id, token: this.token }, 'worker registered again');
        me = await this.store.getWorker(this.id);
      }
      const service = await this.store.getServiceState();
      const take = service === 'running' && me?.state === 'active';
      if (take) await this.engine.startProcessing();
      else await this.engine.stopProcessing();
      this.outage.succeeded();
    } catch (err) {
      // Tried again at the next heartbeat, for as long as the database is away.
      this.outage.failed(err, 'worker heartbeat');
    }
  }

  private async pollCancels() {
    if (this.stopped || this.runner.runningCount === 0) return;
    try {
      for (const id of await this.store.cancelRequested(this.id)) this.runner.stopLocal(id, 'cancel');
    } catch (err) {
      this.outage.failed(err, 'cancel requests');
    }
  }

  /** Graceful stop: take no new runs, let running ones finish up to `graceMs`, then cancel them. */
  async stop(graceMs: number) {
    this.stopped = true;
    clearInterval(this.beat);
    clearInterval(this.cancelPoll);
    // A heartbeat under way ends first: it could start processing again after the stop below,
    // or, finding this worker gone, register it again with a session lock never released.
    await (this.waiting ?? this.beating);
    await this.engine.stopProcessing();
    const unwritten = await this.runner.drain(graceMs);
    // Runs whose ends could not be written stay running until this worker is taken for gone
    // (the window), not settled lost at once: the database may come back before.
    if (unwritten.length === 0) await this.store.setWorkerState(this.id, 'gone').catch(() => undefined);
    await this.session?.release();
  }
}

export interface MonitorOptions {
  heartbeatIntervalMs: number;
  /** A worker silent this long is gone (at least three heartbeats): JOBS_WORKER_GONE_AFTER_SECONDS. */
  goneAfterMs: number;
  /** Gone workers are deleted this long after their last heartbeat: JOBS_WORKER_RETENTION_SECONDS. */
  retentionMs: number;
}

/**
 * Every process watches for workers that stopped: a worker is gone once silent for the window
 * (JOBS_WORKER_GONE_AFTER_SECONDS, well above a GC pause or a blocked event loop), or, where
 * the store ties workers to their database connection, once that connection has ended and its
 * heartbeat is late (a process killed shows so within a heartbeat; a live worker whose
 * connection dropped for a moment has heartbeated since; a stopped process keeps its
 * connection, so only the window applies to it). Its runs are then settled as lost (and
 * retried per their job's rules). A process never declares its own worker gone: after a stall
 * its monitor may run before its heartbeat. Gone workers are deleted after the retention.
 */
export class LostWorkerMonitor {
  private timer?: NodeJS.Timeout;
  private prunedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly options: MonitorOptions,
    private readonly outage: OutageLog = new OutageLog(log),
  ) {}

  start() {
    // Often enough that an ended session is seen within a second.
    this.timer = setInterval(() => void this.check(), Math.min(this.options.heartbeatIntervalMs, 1000));
    this.timer.unref();
  }

  /** The window: how long a worker may be silent before it is declared gone. */
  get goneAfterMs() {
    return Math.max(this.options.goneAfterMs, 3 * this.options.heartbeatIntervalMs);
  }

  async check() {
    try {
      const now = Date.now();
      const beat = this.options.heartbeatIntervalMs;
      const late = beat + Math.max(2000, beat / 2);
      // Out of an outage, every worker's heartbeat is late, through no fault of theirs: nobody
      // is taken for gone until they have had three heartbeats to report again.
      const ended = this.outage.endedAt;
      const justBack = this.outage.down || (ended !== null && now - ended < 3 * beat);
      const gone = justBack ? [] : await this.store.markWorkersGone(new Date(now - this.goneAfterMs), new Date(now - late), this.runner.workerId);
      if (gone.length) this.log.warn({ workers: gone }, 'workers gone');
      // Every gone worker's running runs, not only the newly gone: a settlement cut short
      // by an error is finished on the next check.
      await this.runner.settleLost();
      // At most once a minute (or once a retention, when shorter).
      if (now - this.prunedAt >= Math.min(60_000, this.options.retentionMs)) {
        this.prunedAt = now;
        const removed = await this.store.deleteGoneWorkers(new Date(now - this.options.retentionMs));
        if (removed > 0) this.log.info({ removed }, 'gone workers removed');
      }
      this.outage.succeeded();
    } catch (err) {
      this.outage.failed(err, 'lost-worker check');
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
