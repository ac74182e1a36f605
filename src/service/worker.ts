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
  /** ms between heartbeats; a worker silent for three of them is gone. */
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
      await this.store.registerWorker(this.record());
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
  }

  async start() {
    await this.register();
    await this.tick();
    this.beat = setInterval(() => void this.tick(), this.options.heartbeatIntervalMs);
    this.cancelPoll = setInterval(() => void this.pollCancels(), this.options.cancelPollIntervalMs);
    this.beat.unref();
    this.cancelPoll.unref();
    this.log.info({ worker_id: this.id, handlers: this.options.handlers }, 'worker registered');
  }

  /** One heartbeat: report, then follow the service state and this worker's own state. */
  async tick() {
    if (this.stopped) return;
    try {
      let me = await this.store.heartbeatWorker(this.id, sample(this.runner.runningCount));
      if (!me) {
        // Taken for gone (a long stall): its runs were settled and may run elsewhere. Come
        // back as a new worker rather than report under the old identity.
        this.log.warn({ worker_id: this.id }, 'this worker was marked gone; registering again');
        await this.session?.release();
        this.id = randomUUID();
        await this.register();
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
    await this.engine.stopProcessing();
    await this.runner.drain(graceMs);
    await this.store.setWorkerState(this.id, 'gone').catch(() => undefined);
    await this.session?.release();
  }
}

/**
 * Every process watches for workers that stopped: a worker is gone after three missed
 * heartbeats, or, where the store ties workers to their database connection, once that
 * connection has ended and its heartbeat is late (a process killed shows so within a
 * heartbeat; a live worker whose connection dropped for a moment has heartbeated since). Its
 * runs are then settled as lost (and retried per their job's rules).
 */
export class LostWorkerMonitor {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly heartbeatIntervalMs: number,
    private readonly outage: OutageLog = new OutageLog(log),
  ) {}

  start() {
    // Often enough that an ended session is seen within a second.
    this.timer = setInterval(() => void this.check(), Math.min(this.heartbeatIntervalMs, 1000));
    this.timer.unref();
  }

  async check() {
    try {
      const now = Date.now();
      const late = this.heartbeatIntervalMs + Math.max(2000, this.heartbeatIntervalMs / 2);
      // Out of an outage, every worker's heartbeat is late, through no fault of theirs: nobody
      // is taken for gone until they have had three heartbeats to report again.
      const ended = this.outage.endedAt;
      const justBack = this.outage.down || (ended !== null && now - ended < 3 * this.heartbeatIntervalMs);
      const gone = justBack ? [] : await this.store.markWorkersGone(new Date(now - 3 * this.heartbeatIntervalMs), new Date(now - late));
      if (gone.length) this.log.warn({ workers: gone }, 'workers gone');
      // Every gone worker's running runs, not only the newly gone: a settlement cut short
      // by an error is finished on the next check.
      await this.runner.settleLost();
      this.outage.succeeded();
    } catch (err) {
      this.outage.failed(err, 'lost-worker check');
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
