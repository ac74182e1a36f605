import { setTimeout as sleep } from 'node:timers/promises';
import type { Catalog } from './catalog.js';
import { JobsChangedError, NotHeldError, type Engine, type FireJobPatch, type Lease } from '../engine/types.js';
import { renewEveryMs } from '../engine/dispatch-loop.js';
import type { Logger } from '../observability/log.js';
import { hasChains, type ExecutionRecord, type ExecutionStatus, type JobPatch, type JobRecord, type Store } from '../store/types.js';
import type { JobWithActiveRuns } from '../store/jobs.js';
import { RunCancels } from './run/cancel.js';
import { RunChains } from './run/chains.js';
import type { ActiveRun, RunDeps, RunnerOptions } from './run/deps.js';
import { executeHandler } from './run/execute.js';
import { planFire } from './run/plan.js';
import { blankExecution } from './run/blank-execution.js';
import { RunRecorder } from './run/record.js';
import type { StopReason } from './run/stop.js';
import { crashAt } from './crash-point.js';

/** Jobs a sweep for running jobs without a schedule row looks at (sweepUnscheduled). */
const UNSCHEDULED_SLICE = 2000;

export { policyOf, recurrenceOf } from './run/plan.js';
export { selectSteps } from './run/context.js';
export { blankExecution } from './run/blank-execution.js';
export type { RunnerOptions } from './run/deps.js';
export type { StopReason } from './run/stop.js';

/** What a fire of schedule rows gives: the runs to execute here, and the rows deferred to their times. */
interface Fired {
  toRun: Map<Lease, ExecutionRecord>;
  deferred: Lease[];
}

/**
 * Whether a fire decided on `fire`, a read made earlier, can be written on condition that the
 * job is unchanged (RunWrite.unchanged): the job existed and was running, with no run queued
 * or running and no max_runs (a count of its runs that the condition does not cover).
 */
function checkable(fire: JobWithActiveRuns | null): boolean {
  return fire !== null && fire.seen !== undefined && fire.job.state === 'running' && fire.active.length === 0 && fire.counted === null;
}

/**
 * The run wrapper: turns a locked dispatch row into a run and its record. A schedule row fires
 * its job (misfire grace, concurrency policy, next fire); a run row starts one queued run.
 * Handler errors end the run as `failed`; they never reach Agenda, whose failure counting
 * would otherwise decide the fate of recurring jobs. Retries are the service's own.
 */
export class Runner {
  private readonly active = new Map<string, ActiveRun>();
  /** Every execute() under way, until its final status is written. */
  private readonly inFlight = new Set<Promise<ExecutionStatus>>();
  /** Runs executed here whose end is not written yet, by id: never settled as lost by this process. */
  private readonly recording = new Set<string>();
  /** Runs whose fencing token was drawn by the write that stored them (see RunWrite.fence). */
  private readonly prefenced = new WeakSet<ExecutionRecord>();
  /** The waits of fires held back to their times (fireAtTime), stopped by a shutdown or a fence. */
  private readonly holdBacks = new Set<AbortController>();
  /** How many times this worker was declared gone (stopAllLocal): a fire held back for a claim of before is not waited for. */
  private fences = 0;
  /** Set once a shutdown began: no fire is held back to its time any more (fireAtTime). */
  private draining = false;
  /** Set once a shutdown gives up on what is left to write. */
  private stopped = false;
  /** The worker this process runs as; null in a process that runs no jobs. */
  workerId: string | null = null;
  /** The fencing token of that worker's registration; every write of its runs names it. */
  workerToken: number | null = null;
  /** Called when a write of a run was refused: the worker was declared gone. */
  onFenced: (() => void) | null = null;
  /** What the phases of a run share: the store, the log, the engine's run rows. */
  private readonly deps: RunDeps;
  private readonly recorder: RunRecorder;
  private readonly cancels: RunCancels;
  private readonly chains: RunChains;

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {
    this.deps = {
      store,
      log,
      options,
      active: this.active,
      rows: {
        queue: (executions) => this.enqueue(executions),
        removeRun: (executionId) => this.engine.removeRun(executionId),
      },
      newExecution: (job, fields) => this.newExecution(job, fields),
      finishRuns: (ends, maxLines, maxBytes) => (this.engine.finishRuns ? this.engine.finishRuns(ends, maxLines, maxBytes) : this.store.finishExecutions(ends, maxLines, maxBytes)),
      worker: () => ({ id: this.workerId, token: this.workerToken }),
      fenced: () => this.onFenced?.(),
      stopped: () => this.stopped,
    };
    this.chains = new RunChains(this.deps, catalog);
    this.recorder = new RunRecorder(this.deps, (run) => this.chains.start(run));
    this.cancels = new RunCancels(this.deps, this.recorder);
  }

  /** Takes the engine's rows of every handler of the catalog. */
  defineAll() {
    // The claims' locks name this worker, so they are released as soon as it is known gone.
    this.engine.define(
      this.catalog.names(),
      (leases) => this.runMany(leases),
      () => this.workerId,
    );
  }

  get runningCount() {
    return this.active.size;
  }

  /** Seconds a new run of this job may take. */
  timeoutFor(job: Pick<JobRecord, 'timeout' | 'handler'>): number {
    return job.timeout ?? this.catalog.get(job.handler)?.timeout ?? this.options.defaultTimeoutSeconds;
  }

  /**
   * Runs a claim (rows locked together): schedule rows fire their jobs, run rows start their
   * queued runs. The reads and writes that start the runs are made for the whole claim together;
   * each returned promise settles when its run is recorded as ended. A rejection means the
   * store failed before the run could be recorded.
   */
  runMany(leases: Lease[]): Array<Promise<void>> {
    crashAt('claimed');
    const fires = leases.filter((l) => 'job_id' in l.data);
    const firing = this.fireInTime(fires, this.fences);
    const queued = leases.filter((l) => 'execution_id' in l.data);
    const starting = queued.length ? this.startQueued(queued) : Promise.resolve(new Map<Lease, ExecutionRecord>());
    // Each lease waits for its own part only, and a failure there is reported per lease.
    starting.catch(() => undefined);
    return leases.map(async (lease) => {
      const execution = 'job_id' in lease.data ? await firing.get(lease) : (await starting).get(lease);
      if (execution) await this.execute(execution, lease);
    });
  }

  /**
   * Fires schedule rows; each lease's promise resolves with its run to execute here, if any. A
   * row handed over before its time (Lease.due) is fired ahead only when its job has no run
   * queued or running: a job with one is fired at its time, so its concurrency policy is
   * decided on what runs then.
   */
  private fireInTime(leases: Lease[], fences: number): Map<Lease, Promise<ExecutionRecord | undefined>> {
    const now = Date.now();
    const atTime = leases.filter((l) => l.due && l.due.getTime() > now && !(l.fire && l.fire.job.state === 'running' && l.fire.active.length === 0));
    const ahead = leases.filter((l) => !atTime.includes(l));
    const firing = this.fireAtTime(atTime, fences);
    if (ahead.length) for (const [lease, p] of this.settle(this.fireMany(ahead), ahead, fences)) firing.set(lease, p);
    return firing;
  }

  /**
   * Fires rows at their times (Lease.due), those of one time together, on a fresh read. A
   * shutdown or a fence stops the wait (holdBacks): the rows are let go at their times, unfired.
   */
  private fireAtTime(leases: Lease[], fences: number): Map<Lease, Promise<ExecutionRecord | undefined>> {
    const byTime = new Map<number, Lease[]>();
    for (const l of leases) {
      const group = byTime.get(l.due!.getTime());
      if (group) group.push(l);
      else byTime.set(l.due!.getTime(), [l]);
    }
    const firing = new Map<Lease, Promise<ExecutionRecord | undefined>>();
    for (const [time, group] of byTime) {
      const controller = new AbortController();
      // A shutdown, or a fence since the claim, leaves nothing to wait for.
      if (this.draining || this.fences !== fences) controller.abort();
      this.holdBacks.add(controller);
      const fired = sleep(Math.max(0, time - Date.now()), undefined, { signal: controller.signal })
        .then(
          () => this.fireMany(group, true),
          (): Fired => {
            for (const l of group) l.nextRunAt = l.due!;
            return { toRun: new Map(), deferred: [] };
          },
        )
        .finally(() => this.holdBacks.delete(controller));
      for (const [lease, p] of this.settle(fired, group, fences)) firing.set(lease, p);
    }
    return firing;
  }

  /** Each lease's run from a fire of `leases`; those it deferred (fireMany) are fired at their times. */
  private settle(fired: Promise<Fired>, leases: Lease[], fences: number): Map<Lease, Promise<ExecutionRecord | undefined>> {
    const later = fired.then((f) => this.fireAtTime(f.deferred, fences));
    later.catch(() => undefined);
    return new Map(leases.map((l) => [l, fired.then(async (f) => (f.deferred.includes(l) ? (await later).get(l) : f.toRun.get(l)))]));
  }

  /** Stops the waits of fires held back to their times (fireAtTime): their rows are let go unfired. */
  private stopHoldBacks() {
    for (const c of this.holdBacks) c.abort();
  }

  /**
   * Fires the jobs of schedule rows; resolves with the runs to execute here, and the rows
   * deferred to their times: handed over ahead (Lease.due), their jobs found with a run under
   * way. `reread`: the jobs of rows that waited are read now, not taken from their claim (a
   * fire from that read was refused: one of the jobs changed since).
   */
  private async fireMany(leases: Lease[], reread = false): Promise<Fired> {
    const jobIds = leases.map((l) => (l.data as { job_id: string }).job_id);
    // The claim read the jobs of its rows (SQL). A read made before the row waited is used only
    // where the write can tell it still holds (RunWrite.unchanged); the others are read now.
    const fromClaim = (l: Lease) => l.fire !== undefined && !reread && (!l.waited || checkable(l.fire));
    const unread = leases.filter((l) => !fromClaim(l)).map((l) => (l.data as { job_id: string }).job_id);
    const fetched = [...leases.flatMap((l) => (l.fire && fromClaim(l) ? [l.fire] : [])), ...(unread.length ? await this.store.getJobsWithActiveRuns(unread) : [])];
    const jobs = new Map(fetched.map((f) => [f.job.job_id, f.job]));
    const active = new Map(fetched.map((f) => [f.job.job_id, f.active]));
    const counted = new Map(fetched.map((f) => [f.job.job_id, f.counted]));
    const now = new Date();

    const toRun = new Map<Lease, ExecutionRecord>();
    const deferred: Lease[] = [];
    const inserts: ExecutionRecord[] = [];
    const enqueues: ExecutionRecord[] = [];
    const jobUpdates: FireJobPatch[] = [];
    const touches: Lease[] = [];
    /** Jobs whose schedule ended (past end_at or max_runs), logged once the write landed. */
    const ended: Array<{ job_id: string; reason: string }> = [];
    /** When each queued run's row comes due: the fire, or later by the job's jitter. */
    const dueRows = new Map<string, Date>();
    // Room left in the queue of every job, read once a fire of this claim would queue a run.
    let room: number | undefined;
    const maxQueued = this.options.maxQueuedRuns;
    for (const lease of leases) {
      const job = jobs.get((lease.data as { job_id: string }).job_id);
      const runs = job ? (active.get(job.job_id) ?? []) : [];
      // A fire written ahead of its time (Lease.due) is decided and recorded as at that time;
      // one whose job has a run under way is deferred to that time.
      const at = lease.due && lease.due.getTime() > now.getTime() ? lease.due : now;
      if (at !== now && runs.length > 0) {
        deferred.push(lease);
        continue;
      }
      let plan = planFire(job, runs, at, {
        counted: job ? counted.get(job.job_id) : null,
        maxQueued: this.options.maxQueuedRunsPerJob,
        maxCatchUp: this.options.maxCatchUpFires,
      });
      if (plan.action === 'run' && !plan.inline && maxQueued !== undefined) {
        room ??= maxQueued - (await this.store.queuedCount());
        if (room <= 0) plan = { action: 'missed', dueAt: plan.dueAt, next: plan.next, reason: `missed: ${maxQueued} runs were queued in all, the limit (JOBS_MAX_QUEUED_RUNS)` };
        else {
          // Catch-up runs past the room left: the latest fires are kept.
          if (plan.fires.length > room) plan = { ...plan, fires: plan.fires.slice(plan.fires.length - room) };
          room -= plan.fires.length;
        }
      }
      // A deleted or paused job: the row is left with no next run and goes. A fire consumed
      // already (a row whose lock expired after its worker died) keeps the job's next run.
      if (plan.action === 'none' || !job) {
        if (plan.action === 'none' && plan.rowNextRunAt) lease.nextRunAt = plan.rowNextRunAt;
        continue;
      }
      if (plan.action === 'end') {
        // Past end_at or max_runs: no run, and no next fire (the row goes).
        lease.nextRunAt = null;
        jobUpdates.push({ job_id: job.job_id, next_run_at: null });
        ended.push({ job_id: job.job_id, reason: plan.reason });
        continue;
      }
      const { dueAt, next } = plan;
      // The row keeps the next fire, stored with its lock and the fire's records, so the job
      // keeps its schedule even if this process dies.
      lease.nextRunAt = next;
      if (next) touches.push(lease);
      // The next fire is of this version's schedule: a job changed meanwhile keeps its own,
      // unless it still holds the time fired now (a change that kept the schedule).
      const patch: FireJobPatch = { job_id: job.job_id, next_run_at: next, version: job.version, fired: job.next_run_at };
      jobUpdates.push(patch);

      const base = this.newExecution(job, { trigger: 'schedule', scheduled_at: dueAt, created_at: now });
      if (plan.action === 'missed') {
        inserts.push({ ...this.missed(base, plan.reason), active_execution_id: plan.activeId ?? null });
        patch.last_status = 'missed';
        continue;
      }
      if (plan.cancel.length > 0) await this.cancelMany(plan.cancel, 'replaced');
      // The older fires a catch-up leaves out: a missed record of the schedule, not a catch-up.
      if (plan.skipped) inserts.push(this.missed(this.newExecution(job, { trigger: 'schedule', scheduled_at: plan.skipped.dueAt, created_at: now }), plan.skipped.reason));
      if (plan.inline) {
        // The common one-shot case runs on the row locked for it: one row, one run.
        const execution: ExecutionRecord = { ...base, trigger: plan.trigger, scheduled_at: plan.fires[0], status: 'running', started_at: at, worker_id: this.workerId };
        inserts.push(execution);
        toRun.set(lease, execution);
        patch.last_run_at = at;
        patch.last_status = 'running';
        continue;
      }
      // Periodic fires queue their runs on rows of their own, so the schedule row is free to
      // fire again (and the policy can see these runs) while they run.
      plan.fires.forEach((fire, i) => {
        const run = i === 0 ? base : this.newExecution(job, { trigger: plan.trigger, scheduled_at: fire, created_at: now });
        Object.assign(run, { trigger: plan.trigger, scheduled_at: fire });
        const jitterMs = job.jitter ? Math.floor(Math.random() * job.jitter * 1000) : 0;
        if (job.jitter) run.jitter_ms = jitterMs;
        dueRows.set(run.id, new Date(at.getTime() + jitterMs));
        inserts.push(run);
        enqueues.push(run);
      });
    }
    // The whole claim's fires in one write: on SQL one statement, so a crash leaves each
    // fire whole or absent, never a queued run without its run row.
    const fence = this.registration();
    const patched = new Set(jobUpdates.map((u) => u.job_id));
    const unchanged = leases.flatMap((l) => (l.waited && l.fire && fromClaim(l) && patched.has(l.fire.job.job_id) ? [{ job_id: l.fire.job.job_id, seen: l.fire.seen! }] : []));
    try {
      const recorded = await this.engine.recordRuns(
        {
          executions: inserts,
          runs: enqueues.map((e) => ({ handler: e.handler, executionId: e.id, at: dueRows.get(e.id) ?? now })),
          jobs: jobUpdates,
          schedules: touches,
          held: leases,
          fence,
          unchanged,
        },
        this.store,
      );
      // Runs whose fencing tokens the fire drew start without a write of their own.
      for (const execution of toRun.values()) {
        const token = recorded?.tokens.get(execution.id);
        if (token !== undefined) {
          execution.fencing_token = token;
          this.prefenced.add(execution);
        }
      }
    } catch (err) {
      // A job changed while its row waited: nothing was written; the fires are decided again
      // on a fresh read. (Cancels of runs a fire replaces may be asked twice: a repeated ask
      // changes nothing.)
      if (err instanceof JobsChangedError) {
        this.log.debug({ jobs: jobIds }, 'fires decided again: a job changed while its row waited');
        // Each row's next fire is decided again too (a job found paused or deleted leaves none).
        for (const lease of leases) lease.nextRunAt = null;
        return this.fireMany(leases, true);
      }
      if (!(err instanceof NotHeldError)) throw err;
      // Declared gone while firing: the rows fire elsewhere. Nothing was written; this worker
      // stops and registers again, as on any refused write.
      this.log.warn({ err, jobs: jobIds }, 'fires not recorded: their rows were taken from this worker');
      this.onFenced?.();
      // Rows still this worker's (if any) are unlocked due now (or at the time they were handed
      // over ahead of), to fire again, not removed.
      for (const lease of leases) lease.nextRunAt = lease.due && lease.due > now ? lease.due : now;
      return { toRun: new Map(), deferred: [] };
    }
    if (enqueues.length) crashAt('fire-recorded');
    // Told once written: a refused write is decided again, or not at all.
    for (const e of ended) this.log.info(e, 'schedule ended');
    for (const e of inserts) if (e.status === 'missed') this.reportMissed(e);
    const notifications = this.options.notifications;
    if (notifications) for (const e of inserts) if (e.status === 'missed' && e.notifies) await notifications.runEnded(e);
    return { toRun, deferred };
  }

  /** A missed run's record (reportMissed once it is written). */
  private missed(execution: ExecutionRecord, reason: string): ExecutionRecord {
    return { ...execution, status: 'missed', finished_at: execution.created_at, error: reason, chains_pending: false };
  }

  private reportMissed(execution: ExecutionRecord) {
    this.log.info({ job_id: execution.job_id, due: execution.scheduled_at, reason: execution.error }, 'run missed');
    this.options.observer?.onRunFinished(execution, 'missed', null);
  }

  /** Starts the queued runs of run rows; resolves with those this worker moved to running. */
  private async startQueued(leases: Lease[]): Promise<Map<Lease, ExecutionRecord>> {
    const ids = leases.map((l) => (l.data as { execution_id: string }).execution_id);
    const queued = new Map((await this.store.getExecutions(ids)).filter((e) => e.status === 'queued').map((e) => [e.id, e]));
    // A replacing run waits, up to the cancel grace, for the runs it cancelled to end.
    const ofJobs = [...queued.values()].filter((e) => e.job_id && e.trigger !== 'flow');
    const stopping = async () =>
      new Set(
        (await this.store.activeExecutionsOf([...new Set(ofJobs.map((e) => e.job_id!))])).filter((e) => e.status === 'running' && e.cancel_requested_at).map((e) => e.job_id!),
      );
    if (ofJobs.length) {
      const deadline = Date.now() + this.options.cancelGraceMs;
      for (let waiting = await stopping(); waiting.size > 0 && Date.now() <= deadline; waiting = await stopping()) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const now = new Date();
    const patch = { status: 'running' as const, started_at: now, worker_id: this.workerId };
    // Only the worker that moves a run from queued to running executes it. The move is tried
    // until it lands; a try whose answer was lost may have moved runs: those are this worker's,
    // started at this very time, and run here (else they would stay running with no handler).
    const moves = [...queued.keys()].map((id) => ({ id, patch }));
    const fence = this.registration();
    // Where the engine can (SQL), each try writes the whole start at once: the moves, fencing
    // tokens, jobs' last status and started events (`whole.engine`); the tokens it drew.
    const whole = { tokens: new Map<string, number>(), engine: Boolean(fence && this.engine.startRuns), refused: false };
    const move = async (ids: string[]): Promise<string[]> => {
      if (!whole.engine)
        return this.store.transitionExecutions(
          'queued',
          moves.filter((m) => ids.includes(m.id)),
        );
      try {
        const drawn = await this.engine.startRuns!(ids, now, fence!);
        for (const [id, token] of drawn) whole.tokens.set(id, token);
        return [...drawn.keys()];
      } catch (err) {
        if (!(err instanceof NotHeldError)) throw err;
        whole.refused = true;
        return [];
      }
    };
    const moved = new Set(
      await this.recorder.land('run starts', { runs: [...queued.keys()] }, async (attempt) => {
        if (attempt === 1) return move([...queued.keys()]);
        const seen = await this.store.getExecutions([...queued.keys()]);
        const landed = seen.filter((e) => e.status === 'running' && e.worker_id === this.workerId && e.started_at?.getTime() === now.getTime()).map((e) => e.id);
        const still = seen.filter((e) => e.status === 'queued').map((e) => e.id);
        return [...landed, ...(still.length ? await move(still) : [])];
      }),
    );
    if (whole.refused) {
      // Declared gone: nothing moved. This worker stops and registers again, as on any refused
      // write; the rows are unlocked due now, to start elsewhere.
      this.log.warn({ runs: ids }, 'runs not started: this worker was declared gone');
      this.onFenced?.();
      for (const lease of leases) lease.nextRunAt = now;
      return new Map();
    }
    const drawn = whole.tokens;
    const engineWrote = whole.engine;
    const toRun = new Map<Lease, ExecutionRecord>();
    const jobUpdates: Array<{ job_id: string; patch: JobPatch }> = [];
    leases.forEach((lease, i) => {
      const e = queued.get(ids[i]);
      if (!e || !moved.has(e.id)) return;
      const run: ExecutionRecord = { ...e, ...patch };
      const token = drawn.get(e.id);
      if (token !== undefined) {
        run.fencing_token = token;
        this.prefenced.add(run);
      }
      toRun.set(lease, run);
      if (e.job_id && e.trigger !== 'flow') jobUpdates.push({ job_id: e.job_id, patch: { last_run_at: now, last_status: 'running' } });
    });
    // The runs are running now: the jobs' last status must not keep them from being executed
    // (written with the moves when the engine wrote the whole start).
    if (!engineWrote) await this.recorder.land('last status of jobs', { jobs: jobUpdates.map((u) => u.job_id) }, () => this.store.updateJobs(jobUpdates));
    return toRun;
  }

  /** The worker registration this process runs as, for the writes that check it is live (RunWrite.fence); none while unregistered. */
  private registration(): { workerId: string; token: number } | undefined {
    return this.workerId !== null && this.workerToken !== null ? { workerId: this.workerId, token: this.workerToken } : undefined;
  }

  /** Runs the handler of a stored `running` execution and records how it ended. */
  private async execute(execution: ExecutionRecord, lease: Lease): Promise<ExecutionStatus> {
    const p = this.executeAndRecord(execution, lease);
    this.inFlight.add(p);
    this.recording.add(execution.id);
    try {
      return await p;
    } finally {
      this.inFlight.delete(p);
      this.recording.delete(execution.id);
    }
  }

  private async executeAndRecord(execution: ExecutionRecord, lease: Lease): Promise<ExecutionStatus> {
    // Buffered output is written as often as the engine renews the run's lock.
    const heartbeatMs = renewEveryMs(this.engine.lockLifetimeMs);
    const ran = await executeHandler(this.deps, this.catalog, heartbeatMs, execution, lease, this.prefenced.has(execution), lease.due);
    return this.recorder.record(execution, ran);
  }

  /** A new execution record of a job, queued, with the job's kwargs and timeout. */
  newExecution(job: JobRecord, fields: Pick<ExecutionRecord, 'trigger' | 'scheduled_at' | 'created_at'> & Partial<ExecutionRecord>): ExecutionRecord {
    return {
      ...blankExecution(),
      job_id: job.job_id,
      handler: job.handler,
      kwargs: job.kwargs,
      timeout: this.timeoutFor(job),
      job_version: job.version,
      // Only a run of a job with chains costs its end anything more (see RunChains).
      chains_pending: hasChains(job),
      notifies: this.options.notifications?.watches(job) ?? false,
      ...fields,
    };
  }

  /** Stores queued runs and gives each a run row, due at its scheduled time, as one write. */
  async enqueue(executions: ExecutionRecord[]) {
    if (executions.length === 0) return;
    await this.engine.recordRuns({ executions, runs: executions.map((e) => ({ handler: e.handler, executionId: e.id, at: e.scheduled_at })), jobs: [], schedules: [] }, this.store);
  }

  /**
   * Cancels runs: queued ones at once, running ones by firing their signal (here, or through
   * the store for the worker that runs them; either way the request time is stored).
   * Returns the runs cancelled at once.
   */
  cancelMany(runs: ExecutionRecord[], reason: StopReason): Promise<string[]> {
    return this.cancels.cancelMany(runs, reason);
  }

  /** Fires the signal of a run this process is running; false when it runs no such run. */
  stopLocal(executionId: string, reason: StopReason): boolean {
    return this.cancels.stopLocal(executionId, reason);
  }

  /** Fires the signal of every run this process is running; returns how many. */
  stopAllLocal(reason: StopReason): number {
    if (reason === 'fenced') this.fences += 1;
    this.stopHoldBacks();
    const ids = [...this.active.keys()];
    for (const id of ids) this.stopLocal(id, reason);
    return ids.length;
  }

  /**
   * Settles what workers that stopped heartbeating left: the rows they had locked are let go at
   * once (their claimed runs start elsewhere, their jobs fire again), their running runs are
   * lost (failure record, retry). Then, now and then, queued runs without a run row are given
   * one. Resolves with the runs settled as lost.
   */
  async settleLost(): Promise<number> {
    await this.releaseGone();
    // A run this process executes is not lost, even under a worker id taken for gone (a long
    // outage): its end is written by the tries that go on here.
    const lost = await this.cancels.settleLost((id) => this.recording.has(id));
    await this.sweepUndispatched();
    await this.sweepUnscheduled();
    await this.sweepChains();
    return lost;
  }

  private lastChainSweep = 0;

  /**
   * Ends whose chains, failure record or retry were not written (the process died in between)
   * are given them, and
   * fan-in jobs whose after_all jobs have all succeeded since their last run are started. At
   * most every JOBS_CHAIN_SWEEP_MS.
   */
  async sweepChains(force = false): Promise<number> {
    const now = Date.now();
    if (!force && now - this.lastChainSweep < (this.options.chainSweepMs ?? 1000)) return 0;
    this.lastChainSweep = now;
    const swept = await this.chains.sweep(force ? 0 : this.options.undispatchedAgeMs, (run) => this.recorder.afterRun(run, true));
    return swept + (await this.chains.fanIn());
  }

  /** The number of gone workers when this process last looked for their rows, and when (Date.now()). */
  private goneLook = { count: -1, at: 0 };

  /**
   * Unlocks the engine's rows held by workers marked gone. Finding the holders reads the
   * engine's locked rows (on PostgreSQL and PGlite the whole dispatch table, which no index on
   * the lock columns serves), so it is done when the number of gone workers changed, and
   * otherwise at most once a lock lifetime (after which any row is taken again anyway).
   */
  async releaseGone(): Promise<number> {
    const count = (await this.store.workerCounts()).gone ?? 0;
    const now = Date.now();
    if (count === 0) {
      this.goneLook = { count, at: now };
      return 0;
    }
    if (count === this.goneLook.count && now - this.goneLook.at < this.engine.lockLifetimeMs) return 0;
    const released = await this.releaseRowsOfGone();
    this.goneLook = { count, at: now };
    return released;
  }

  private async releaseRowsOfGone(): Promise<number> {
    const holders = (await this.engine.lockHolders()).filter((h) => h !== this.workerId);
    if (holders.length === 0) return 0;
    const workers = await Promise.all(holders.map((id) => this.store.getWorker(id)));
    const gone = holders.filter((_, i) => workers[i]?.state === 'gone');
    if (gone.length === 0) return 0;
    const released = await this.engine.releaseLocks(gone);
    if (released) this.log.warn({ workers: gone, rows: released }, 'rows locked by gone workers released');
    return released;
  }

  private lastSweep = 0;

  /**
   * Queued runs that have had no run row for undispatchedAgeMs (a crash between two writes
   * where the store cannot write them as one, a row removed by hand) get one; those whose job
   * was deleted meanwhile are cancelled instead. At most every half of that age.
   */
  async sweepUndispatched(force = false): Promise<number> {
    const age = this.options.undispatchedAgeMs;
    const now = Date.now();
    if (!force && now - this.lastSweep < Math.max(1000, age / 2)) return 0;
    this.lastSweep = now;
    const ids = await this.engine.undispatched(new Date(now - age), 500);
    if (ids.length === 0) return 0;
    const runs = (await this.store.getExecutions(ids)).filter((e) => e.status === 'queued');
    const ofJobs = (e: ExecutionRecord) => e.job_id !== null && e.trigger !== 'flow';
    const jobs = new Set((await this.store.getJobs([...new Set(runs.filter(ofJobs).map((e) => e.job_id!))])).map((j) => j.job_id));
    const orphans = runs.filter((e) => ofJobs(e) && !jobs.has(e.job_id!));
    const dispatch = runs.filter((e) => !orphans.includes(e));
    if (orphans.length) {
      const error = 'cancelled: its job was deleted before the run could be dispatched';
      const finished = new Date();
      const moved = new Set(
        await this.store.transitionExecutions(
          'queued',
          orphans.map((e) => ({ id: e.id, patch: { status: 'cancelled' as const, finished_at: finished, error } })),
        ),
      );
      for (const e of orphans.filter((o) => moved.has(o.id))) {
        this.log.warn({ execution_id: e.id, job_id: e.job_id, handler: e.handler, status: 'cancelled', error }, 'run finished');
        this.options.observer?.onRunFinished(e, 'cancelled', null);
      }
    }
    if (dispatch.length) {
      await this.engine.enqueueRuns(dispatch.map((e) => ({ handler: e.handler, executionId: e.id, at: e.scheduled_at })));
      this.log.warn({ runs: dispatch.map((e) => e.id) }, 'queued runs without a run row were given one');
    }
    return runs.length;
  }

  private lastScheduleSweep = 0;
  /** Where the walk of the jobs goes on (the last job_id looked at); null: from the first. */
  private scheduleCursor: string | null = null;

  /**
   * Running jobs with a next fire and, for undispatchedAgeMs, no enabled schedule row or an
   * unlocked one at another time or handler (a crash between a job's write and its row's: a
   * resume, a change that moved the next fire, a create on MongoDB; a row removed or changed by
   * hand) would never fire again, or fire late: they get their row, as their job says. Each sweep looks at the next
   * UNSCHEDULED_SLICE jobs in job_id order, at most every half of that age, so a large table
   * costs a bounded look each time and is walked whole in turn.
   */
  async sweepUnscheduled(): Promise<number> {
    const age = this.options.undispatchedAgeMs;
    const now = Date.now();
    if (now - this.lastScheduleSweep < Math.max(1000, age / 2)) return 0;
    this.lastScheduleSweep = now;
    const before = new Date(now - age);
    const { ids, last } = await this.engine.unscheduled(this.scheduleCursor, UNSCHEDULED_SLICE, before);
    this.scheduleCursor = last;
    if (ids.length === 0) return 0;
    // Written where they still differ: a job paused, changed, fired or deleted since the look
    // (each writes its updated_at) keeps what that wrote.
    const repaired = await this.engine.repairSchedules(ids, before);
    if (repaired.length) this.log.warn({ jobs: repaired }, 'running jobs whose schedule row was missing, disabled or out of date were given the row their job says');
    return repaired.length;
  }

  /**
   * Shutdown: lets running runs finish for up to `graceMs`, then fires their signals and
   * waits the cancel grace for them to be recorded as cancelled.
   */
  /** Resolves with the runs whose ends could not be written within the grace (none: all were). */
  async drain(graceMs: number): Promise<string[]> {
    // Fires held back to their times are not written: their rows go back unlocked, due then.
    this.draining = true;
    this.stopHoldBacks();
    // Waits for runs to be recorded, not only for their handlers to return: the store is
    // closed right after.
    const settled = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() =>
        clearTimeout(timer),
      );
    };
    if (await settled(graceMs)) return [];
    for (const id of [...this.active.keys()]) this.stopLocal(id, 'shutdown');
    if (await settled(this.options.cancelGraceMs + 5000)) return [];
    // What could not be written (the database away the whole grace) is given up: these runs
    // stay running until their worker is taken for gone.
    this.stopped = true;
    this.log.error({ runs: [...this.recording] }, 'shutdown: the ends of these runs could not be written within the grace');
    return [...this.recording];
  }
}
