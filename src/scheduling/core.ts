import { isDeepStrictEqual } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { Catalog } from './catalog.js';
import type { Role } from '../config/tokens.js';
import type { Engine } from '../engine/types.js';
import { ConflictError, GoneError, InvalidError, NotFoundError, QuotaError, type FieldError } from './errors.js';
import type { Limits } from '../config/config.js';
import { defaultLimits, flowShape, kwargsQuotaErrors } from './quotas.js';
import type { ChainLink, ConcurrencyPolicy, ExecutionFilter, FailureRecord, JobRecord, JobSource, JobStats, JobState, Kwargs, Page, ServiceState, Store } from '../store/types.js';
import { activeStatuses, hasChains } from '../store/types.js';
import { cycleThrough, mappingErrors } from './run/chains.js';
import { CursorError } from '../store/cursor.js';
import { finalStatuses, type ExecutionRecord, type WorkerRecord, type WorkerState } from '../store/types.js';
import { WriteCoalescer } from './coalescer.js';
import { policyOf, type Runner } from './runner.js';
import { checkCron, checkTimezone, nextCronFire, nextFireAfter, parseDuration, parseGraceTime, parseWhen, shortestCronGapSeconds, TimeSpecError } from './timespec.js';

/** Everything a job can be created with, whichever route or file it came from. */
export interface ScheduleRequest {
  handler: string;
  kwargs?: Kwargs;
  job_id?: string;
  periodically?: string;
  cron?: string;
  timezone?: string;
  when?: string;
  misfire_grace_time?: string | number;
  state?: JobState;
  timeout?: number;
  concurrency_policy?: ConcurrencyPolicy;
  retries?: number;
  retry_backoff?: number;
  on_success?: ChainLink[];
  on_failure?: ChainLink[];
  on_finish?: ChainLink[];
  after_all?: string[];
}

/** The chain fields of a job, in the order errors name them. */
const linkFields = ['on_success', 'on_failure', 'on_finish'] as const;
/** Most entries of one chain field (on_success, on_failure, on_finish, after_all). */
export const maxChainLinks = 100;

/**
 * Where a job comes from. Errors name fields as a job file does (`job_id`, `periodically`,
 * `kwargs.url`); the caller says where its request carried them.
 */
export interface ScheduleContext {
  source: JobSource;
  sourceFile?: string | null;
  /**
   * A `when` already past is accepted (default-job files are read again at every boot):
   * the job starts at its next fire after now instead of being refused.
   */
  allowPastWhen?: boolean;
  /**
   * The caller's role, checked against the handler's (and a flow's children's) required role;
   * absent or null: trusted (default jobs, imports, no token checks).
   */
  role?: Role | null;
}

export type JobType = 'all' | 'failed' | 'user';

export type ListedJob = { kind: 'job'; job: JobRecord } | { kind: 'failure'; failure: FailureRecord };

/** Job ids a route of their own takes (`DELETE /jobs/clean-failed`): such a job could never be deleted. */
export const reservedJobIds: readonly string[] = ['clean-failed'];

const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

/**
 * The scheduling core: every way of creating or changing a job ends in one of these verbs.
 * Operation modules map requests onto them; the default-jobs loader does the same.
 */
export class Scheduler {
  /**
   * Jobs created at the same time are stored together: one statement for their rows and one
   * for their schedule rows, however many requests are waiting. True for each job stored.
   */
  private readonly creates = new WriteCoalescer<JobRecord, boolean>(async (jobs) => {
    const inserted = new Set(await this.store.insertJobs(jobs));
    // Of two jobs with one id written together, only the first was inserted.
    const stored = jobs.map((j) => inserted.delete(j.job_id));
    const fresh = jobs.filter((_, i) => stored[i]);
    try {
      await this.engine.scheduleJobs(fresh.map((j) => ({ jobId: j.job_id, handler: j.handler, nextRunAt: j.next_run_at, disabled: j.state === 'paused' })));
    } catch (err) {
      // Without their schedule rows the jobs would never run: take them back out.
      for (const j of fresh) await this.store.deleteJob(j.job_id);
      throw err;
    }
    return stored;
  });

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly runner: Runner,
    /** The quotas of JOBS_MAX_* and JOBS_MIN_INTERVAL_SECONDS. */
    readonly limits: Limits = defaultLimits,
  ) {}

  /**
   * Turns a request into a complete job record, or throws an InvalidError listing every bad
   * field. Nothing is stored here.
   */
  buildJob(req: ScheduleRequest, ctx: ScheduleContext, now = new Date()): JobRecord {
    const errors: FieldError[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (err instanceof TimeSpecError) errors.push({ field: err.field, reason: err.reason });
        else throw err;
        return undefined;
      }
    };

    const kwargs = req.kwargs ?? {};
    if (!this.catalog.has(req.handler)) {
      errors.push({ field: 'handler', reason: `no handler named '${req.handler}'; known: ${this.catalog.names().join(', ')}` });
    } else {
      errors.push(...this.checkKwargs(req.handler, kwargs, 1));
    }
    const jobId = req.job_id ?? randomUUID();
    if (!jobIdPattern.test(jobId)) {
      errors.push({ field: 'job_id', reason: 'must be 1 to 200 letters, digits or . _ : @ - and start with a letter or digit' });
    } else if (reservedJobIds.includes(jobId)) {
      errors.push({ field: 'job_id', reason: `'${jobId}' is reserved: DELETE /jobs/${jobId} removes the failure records` });
    }
    const state = req.state ?? 'running';
    if (state !== 'running' && state !== 'paused') errors.push({ field: 'state', reason: "must be 'running' or 'paused'" });
    if (req.periodically !== undefined && req.cron !== undefined) {
      errors.push({ field: 'cron', reason: 'cannot be combined with periodically: give one of them' });
    }
    if (req.timezone !== undefined && req.cron === undefined) {
      errors.push({ field: 'timezone', reason: 'applies to cron only' });
    }
    const intervalSeconds = req.periodically === undefined ? null : attempt(() => parseDuration('periodically', req.periodically!));
    if (intervalSeconds && intervalSeconds < this.limits.minIntervalSeconds) {
      errors.push({ field: 'periodically', reason: `must be at least ${this.limits.minIntervalSeconds} seconds (JOBS_MIN_INTERVAL_SECONDS), got '${req.periodically}'` });
    }
    const timezone = req.cron === undefined ? null : attempt(() => checkTimezone(req.timezone ?? 'UTC'));
    const cron = req.cron === undefined || timezone === undefined ? null : attempt(() => checkCron(req.cron!, timezone ?? 'UTC'));
    if (cron && this.limits.minIntervalSeconds > 1) {
      const gap = shortestCronGapSeconds(cron, timezone ?? 'UTC', now);
      if (gap < this.limits.minIntervalSeconds) {
        errors.push({ field: 'cron', reason: `fires ${gap} seconds apart; fires must be at least ${this.limits.minIntervalSeconds} seconds apart (JOBS_MIN_INTERVAL_SECONDS)` });
      }
    }
    const when = req.when === undefined ? null : attempt(() => parseWhen(req.when!, now));
    if (when && when.getTime() <= now.getTime() && !ctx.allowPastWhen) {
      errors.push({ field: 'when', reason: `${when.toISOString()} is in the past` });
    }
    const grace = req.misfire_grace_time === undefined ? null : attempt(() => parseGraceTime(req.misfire_grace_time!));
    const wholeNumber = (name: 'timeout' | 'retries' | 'retry_backoff', min: number, max: number, setting?: string) => {
      const v = req[name];
      if (v === undefined) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        errors.push({ field: name, reason: `must be a whole number from ${min} to ${max}${setting ? ` (${setting})` : ''}` });
      }
    };
    wholeNumber('timeout', 1, 604800);
    // The settings are named only when they are lower than what the contract allows.
    wholeNumber('retries', 0, this.limits.maxRetries, this.limits.maxRetries < 100 ? 'JOBS_MAX_RETRIES' : undefined);
    wholeNumber('retry_backoff', 0, this.limits.maxRetryBackoffSeconds, this.limits.maxRetryBackoffSeconds < 86400 ? 'JOBS_MAX_RETRY_BACKOFF_SECONDS' : undefined);
    if (req.concurrency_policy !== undefined && !['allow', 'forbid', 'replace'].includes(req.concurrency_policy)) {
      errors.push({ field: 'concurrency_policy', reason: "must be 'allow', 'forbid' or 'replace'" });
    }
    errors.push(...chainErrors(req));
    if (errors.length > 0) throw new InvalidError(errors);

    // First run: at `when` (for cron, the first cron time from `when` on); else one period
    // later for interval jobs, the next cron time for cron jobs, now for one-shot jobs.
    let first: Date;
    if (cron) first = nextCronFire(cron, timezone ?? 'UTC', when && when > now ? new Date(when.getTime() - 1) : now);
    else if (when && intervalSeconds && when <= now) first = nextFireAfter({ kind: 'interval', seconds: intervalSeconds }, when, now)!;
    else if (when) first = when;
    else if (intervalSeconds) first = new Date(now.getTime() + intervalSeconds * 1000);
    else first = now;

    return {
      job_id: jobId,
      handler: req.handler,
      kwargs,
      state,
      periodically: req.periodically ?? null,
      interval_seconds: intervalSeconds ?? null,
      cron: cron ?? null,
      timezone: cron ? (timezone ?? 'UTC') : null,
      when: when ?? null,
      misfire_grace_time: grace ?? null,
      timeout: req.timeout ?? null,
      concurrency_policy: req.concurrency_policy ?? null,
      retries: req.retries ?? 0,
      retry_backoff: req.retry_backoff ?? 0,
      next_run_at: first,
      last_run_at: null,
      last_status: null,
      source: ctx.source,
      source_file: ctx.sourceFile ?? null,
      on_success: req.on_success ?? [],
      on_failure: req.on_failure ?? [],
      on_finish: req.on_finish ?? [],
      after_all: req.after_all ?? [],
      created_at: now,
      updated_at: now,
    };
  }

  /**
   * The kwargs of a handler against its quotas (size and depth first, so a huge value costs no
   * schema check), its schema, and the child runs `times` runs of it would start.
   */
  private checkKwargs(handler: string, kwargs: Kwargs, times: number): FieldError[] {
    const quota = kwargsQuotaErrors(kwargs, this.limits);
    if (quota.length) return quota;
    const invalid = this.catalog.validateKwargs(handler, kwargs, 'kwargs');
    if (invalid.length) return invalid;
    const flow = flowShape(this.catalog, handler, kwargs, this.limits, times);
    return flow.error ? [flow.error] : [];
  }

  /** post_schedule_job: stores a new job and schedules it; a ConflictError when the id is taken. */
  async postScheduleJob(req: ScheduleRequest, ctx: ScheduleContext): Promise<JobRecord> {
    this.catalog.checkRole(req.handler, req.kwargs ?? {}, ctx.role ?? null);
    const job = this.buildJob(req, ctx);
    await this.checkChains([job], ctx.role ?? null);
    if (!(await this.creates.add(job))) {
      throw new ConflictError('job-exists', `a job with job_id '${job.job_id}' exists already; delete it first or choose another job_id`, [
        { field: 'job_id', reason: 'is taken' },
      ]);
    }
    return job;
  }

  /** Creates or redefines a job by id (default jobs): edits take effect, the history stays. */
  async upsertJob(req: ScheduleRequest, ctx: ScheduleContext): Promise<JobRecord> {
    const built = this.buildJob(req, ctx);
    await this.checkChains([built], ctx.role ?? null);
    const existing = await this.store.getJob(built.job_id);
    if (existing && sameSchedule(existing, built)) {
      // Same timing as before: keep the next run already planned instead of starting over.
      built.next_run_at = existing.next_run_at;
    }
    const job = await this.store.upsertJob(built);
    if (existing && existing.handler !== job.handler) await this.engine.removeJob(job.job_id);
    await this.engine.scheduleJob(job.job_id, job.handler, job.next_run_at, job.state === 'paused');
    return job;
  }

  /**
   * upsertJob for many jobs (the default jobs at boot): one read, and writes only for jobs
   * whose definition changed, so a boot with nothing new writes nothing.
   */
  async upsertJobs(items: Array<{ req: ScheduleRequest; ctx: ScheduleContext }>): Promise<{ jobs: JobRecord[]; changed: JobRecord[] }> {
    const built = items.map(({ req, ctx }) => this.buildJob(req, ctx));
    await this.checkChains(built, null);
    const existing = new Map((await this.store.getJobs(built.map((j) => j.job_id))).map((j) => [j.job_id, j]));
    const changed: JobRecord[] = [];
    const result: JobRecord[] = [];
    for (const job of built) {
      const old = existing.get(job.job_id);
      if (old && sameSchedule(old, job)) job.next_run_at = old.next_run_at;
      if (old && sameDefinition(old, job)) {
        result.push(old);
        continue;
      }
      if (old) {
        job.created_at = old.created_at;
        job.last_run_at = old.last_run_at;
        job.last_status = old.last_status;
        if (old.handler !== job.handler) await this.engine.removeJob(job.job_id);
      }
      changed.push(job);
      result.push(job);
    }
    await this.store.upsertJobs(changed);
    await this.engine.scheduleJobs(changed.map((j) => ({ jobId: j.job_id, handler: j.handler, nextRunAt: j.next_run_at, disabled: j.state === 'paused' })));
    return { jobs: result, changed };
  }

  /**
   * The chains of jobs about to be stored: no cycle through the stored jobs' chains and fan-ins
   * (a job's ends would start each other for ever), and each target job that exists may be
   * started by the caller with the kwargs its link maps. An InvalidError naming the field.
   */
  async checkChains(jobs: JobRecord[], role: Role | null): Promise<void> {
    const chained = jobs.filter((j) => hasChains(j) || j.after_all.length > 0);
    if (chained.length === 0) return;
    const errors: FieldError[] = [];
    let graph = await this.store.chainedJobs();
    for (const job of chained) {
      const cycle = cycleThrough(job, graph);
      if (cycle) {
        const field = linkFields.find((f) => job[f].some((l) => l.job_id === cycle[1])) ?? (job.after_all.includes(cycle[cycle.length - 2]) ? 'after_all' : 'on_success');
        errors.push({ field, reason: `makes a cycle: ${cycle.join(' -> ')}; a chain may not lead back to the job it starts from` });
      }
      graph = [...graph.filter((g) => g.job_id !== job.job_id), job];
    }
    const targets = new Map((await this.store.getJobs([...new Set(chained.flatMap((j) => linkFields.flatMap((f) => j[f].map((l) => l.job_id))))])).map((t) => [t.job_id, t]));
    for (const job of chained) {
      for (const f of linkFields) {
        job[f].forEach((link, i) => {
          const target = targets.get(link.job_id);
          if (!target || !this.catalog.has(target.handler)) return;
          this.catalog.checkRole(target.handler, target.kwargs, role);
          if (link.kwargs) errors.push(...this.catalog.checkOverrides(target.handler, link.kwargs, `${f}.${i}.kwargs`));
        });
      }
    }
    if (errors.length) throw new InvalidError(errors);
  }

  async getJob(jobId: string): Promise<JobRecord> {
    const job = await this.store.getJob(jobId);
    if (!job) throw new NotFoundError('job', jobId, `no job with job_id '${jobId}'`);
    return job;
  }

  async getJobWithStats(jobId: string): Promise<{ job: JobRecord; stats: JobStats }> {
    const found = await this.store.getJobWithStats(jobId);
    if (!found) throw new NotFoundError('job', jobId, `no job with job_id '${jobId}'`);
    return found;
  }

  async setJobState(jobId: string, state: JobState, role: Role | null = null): Promise<JobRecord> {
    const job = await this.getJob(jobId);
    this.catalog.checkRole(job.handler, job.kwargs, role);
    if (job.state === state) return job;
    const updated = (await this.store.updateJob(jobId, { state }))!;
    await this.engine.scheduleJob(jobId, job.handler, updated.next_run_at, state === 'paused');
    return updated;
  }

  /** Removes a job and its schedule; a GoneError when there is no such job (410 in the Bayesian code). */
  async deleteJob(jobId: string, role: Role | null = null): Promise<string[]> {
    if (role !== null) {
      const job = await this.store.getJob(jobId);
      if (job) this.catalog.checkRole(job.handler, job.kwargs, role);
    }
    if (!(await this.store.deleteJob(jobId))) {
      throw new GoneError('job', jobId, `no job with job_id '${jobId}': it was never created or is deleted already`);
    }
    await this.engine.removeJob(jobId);
    return [jobId];
  }

  /**
   * One page of jobs. `user` pages jobs by job_id, `failed` pages failure records newest
   * first, `all` is the user jobs followed by the failure records.
   */
  async listJobs(type: JobType, cursor: string | null, limit: number): Promise<{ items: ListedJob[]; next: string | null }> {
    const page = await this.listJobsPage(type, cursor, limit);
    // At most JOBS_PAGE_MAX_BYTES of records (at least one): large kwargs make shorter pages, not larger answers.
    let bytes = 0;
    for (const [i, item] of page.items.entries()) {
      bytes += Buffer.byteLength(JSON.stringify(item.kind === 'job' ? item.job : item.failure)) + 1;
      if (bytes > this.limits.pageMaxBytes && i > 0) return { items: page.items.slice(0, i), next: page.cursorAfter(i - 1) };
    }
    return { items: page.items, next: page.next };
  }

  private async listJobsPage(type: JobType, cursor: string | null, limit: number): Promise<{ items: ListedJob[]; next: string | null; cursorAfter: (i: number) => string }> {
    const cursors: Array<() => string> = [];
    const after = (i: number) => cursors[i]();
    try {
      let phase: 'user' | 'failed' = type === 'failed' ? 'failed' : 'user';
      let from: string | null = null;
      if (cursor) {
        const sep = cursor.indexOf('.');
        const p = cursor.slice(0, sep);
        if (sep < 0 || (p !== 'user' && p !== 'failed') || (type !== 'all' && p !== type)) throw new CursorError();
        phase = p;
        from = cursor.slice(sep + 1) || null;
      }
      const items: ListedJob[] = [];
      if (phase === 'user') {
        const page: Page<JobRecord> = await this.store.listJobs(from, limit);
        items.push(...page.items.map((job) => ({ kind: 'job' as const, job })));
        page.items.forEach((_, i) => cursors.push(() => `user.${page.cursorAfter!(i)}`));
        if (page.next) return { items, next: `user.${page.next}`, cursorAfter: after };
        if (type === 'user') return { items, next: null, cursorAfter: after };
        if (items.length === limit) return { items, next: 'failed.', cursorAfter: after };
        phase = 'failed';
        from = null;
      }
      const page = await this.store.listFailures(from, limit - items.length);
      items.push(...page.items.map((failure) => ({ kind: 'failure' as const, failure })));
      page.items.forEach((_, i) => cursors.push(() => `failed.${page.cursorAfter!(i)}`));
      return { items, next: page.next ? `failed.${page.next}` : null, cursorAfter: after };
    } catch (err) {
      if (err instanceof CursorError) {
        throw new InvalidError([{ field: 'cursor', reason: 'is not a cursor this service issued for this job_type' }]);
      }
      throw err;
    }
  }

  /**
   * Runs a job now, `times` times (Estivador's run N times), with `kwargs` merged over the
   * job's: only the kwargs its handler declares overridable (x-run-overridable), so a run
   * cannot send the job's stored credentials elsewhere. The runs of one request with
   * times > 1 share a batch id. `role`: the caller's, checked against the handler's.
   */
  async runNow(jobId: string, overrides: Kwargs | undefined, times: number, role: Role | null = null): Promise<{ executions: ExecutionRecord[]; batchId: string | null }> {
    const job = await this.getJob(jobId);
    const loaded = this.catalog.has(job.handler);
    // The role first, so a caller without it learns nothing more of the job's handler.
    if (loaded) this.catalog.checkRole(job.handler, job.kwargs, role);
    const refused = loaded && overrides ? this.catalog.checkOverrides(job.handler, overrides, 'kwargs') : [];
    if (refused.length) throw new InvalidError(refused);
    const kwargs = { ...job.kwargs, ...(overrides ?? {}) };
    // Again with the overrides: new flow_arguments may start flows of other handlers.
    if (loaded && overrides) this.catalog.checkRole(job.handler, kwargs, role);
    const errors = loaded ? this.checkKwargs(job.handler, kwargs, times) : [{ field: 'job_id', reason: `the job's handler '${job.handler}' is not loaded` }];
    if (errors.length) throw new InvalidError(errors);
    const active = await this.store.activeExecutions(jobId);
    const queued = active.filter((e) => e.status === 'queued').length;
    const { maxQueuedRunsPerJob, maxQueuedRuns } = this.limits;
    if (queued + times > maxQueuedRunsPerJob) {
      throw new QuotaError(
        'JOBS_MAX_QUEUED_RUNS_PER_JOB',
        `job '${jobId}' has ${queued} queued runs; ${times} more would pass the limit of ${maxQueuedRunsPerJob} (JOBS_MAX_QUEUED_RUNS_PER_JOB)`,
      );
    }
    const queuedInAll = await this.store.queuedCount();
    if (queuedInAll + times > maxQueuedRuns) {
      throw new QuotaError('JOBS_MAX_QUEUED_RUNS', `${queuedInAll} runs are queued; ${times} more would pass the limit of ${maxQueuedRuns} (JOBS_MAX_QUEUED_RUNS)`);
    }
    const policy = policyOf(job);
    if (active.length > 0 && policy === 'forbid') {
      throw new ConflictError('run-in-progress', `run ${active[0].id} of job '${jobId}' is ${active[0].status} and the job's concurrency_policy is forbid`);
    }
    if (active.length > 0 && policy === 'replace') await this.runner.cancelMany(active, 'replaced');
    const now = new Date();
    const batchId = times > 1 ? randomUUID() : null;
    const executions = Array.from({ length: times }, () => this.runner.newExecution(job, { trigger: 'manual', scheduled_at: now, created_at: now, kwargs, batch_id: batchId }));
    await this.runner.enqueue(executions);
    return { executions, batchId };
  }

  /**
   * Cancels a run: a queued one at once (it never starts), a running one through its signal.
   * A ConflictError for a run that has ended.
   */
  async cancelExecution(id: string, role: Role | null = null): Promise<{ execution: ExecutionRecord; immediate: boolean }> {
    const run = await this.store.getExecution(id);
    if (!run) throw new NotFoundError('execution', id, `no execution with id '${id}'`);
    this.catalog.checkRole(run.handler, run.kwargs, role);
    if (finalStatuses.includes(run.status)) {
      throw new ConflictError('run-ended', `run ${id} ended ${run.status}; only queued and running runs can be cancelled`);
    }
    const immediate = (await this.runner.cancelMany([run], 'cancel')).includes(id);
    const after = await this.store.getExecution(id);
    if (!immediate && after && finalStatuses.includes(after.status) && after.status !== 'cancelled') {
      throw new ConflictError('run-ended', `run ${id} ended ${after.status} before it could be cancelled`);
    }
    return { execution: after!, immediate };
  }

  /** The queue quotas for `count` more runs, `perJob` of them per job; resolves with those jobs' active runs. */
  private async checkQueueRoom(perJob: Map<string, number>, count: number) {
    const { maxQueuedRunsPerJob, maxQueuedRuns } = this.limits;
    const active = await this.store.activeExecutionsOf([...perJob.keys()]);
    for (const [jobId, more] of perJob) {
      const queued = active.filter((e) => e.job_id === jobId && e.status === 'queued').length;
      if (queued + more > maxQueuedRunsPerJob) {
        throw new QuotaError(
          'JOBS_MAX_QUEUED_RUNS_PER_JOB',
          `job '${jobId}' has ${queued} queued runs; ${more} more would pass the limit of ${maxQueuedRunsPerJob} (JOBS_MAX_QUEUED_RUNS_PER_JOB)`,
        );
      }
    }
    const queuedInAll = await this.store.queuedCount();
    if (queuedInAll + count > maxQueuedRuns) {
      throw new QuotaError('JOBS_MAX_QUEUED_RUNS', `${queuedInAll} runs are queued; ${count} more would pass the limit of ${maxQueuedRuns} (JOBS_MAX_QUEUED_RUNS)`);
    }
    return active;
  }

  /** A new queued run of an ended run: same job, handler, kwargs and step selection, linked to it. */
  private againOf(run: ExecutionRecord, job: JobRecord, now: Date, batchId: string | null): ExecutionRecord {
    return {
      ...this.runner.newExecution(job, { trigger: 'restart', scheduled_at: now, created_at: now }),
      handler: run.handler,
      kwargs: run.kwargs,
      selection: run.selection,
      restarted_from: run.id,
      batch_id: batchId,
    };
  }

  /**
   * Runs an ended run again (same kwargs and step selection), as a new run linked to it by
   * restarted_from. A ConflictError for a run not ended, a flow's child run, or a run whose job
   * is gone or forbids a run while one is active; the queue quotas hold.
   */
  async restartExecution(id: string, role: Role | null = null): Promise<ExecutionRecord> {
    const run = await this.store.getExecution(id);
    if (!run) throw new NotFoundError('execution', id, `no execution with id '${id}'`);
    this.catalog.checkRole(run.handler, run.kwargs, role);
    if (!finalStatuses.includes(run.status)) throw new ConflictError('run-not-ended', `run ${id} is ${run.status}; only an ended run can be restarted`);
    const job = await this.restartableJob(run);
    const active = await this.checkQueueRoom(new Map([[job.job_id, 1]]), 1);
    const policy = policyOf(job);
    if (active.length > 0 && policy === 'forbid') {
      throw new ConflictError('run-in-progress', `run ${active[0].id} of job '${job.job_id}' is ${active[0].status} and the job's concurrency_policy is forbid`);
    }
    if (active.length > 0 && policy === 'replace') await this.runner.cancelMany(active, 'replaced');
    const again = this.againOf(run, job, new Date(), null);
    await this.runner.enqueue([again]);
    return again;
  }

  /** The job a run is restarted as: it must still be the job that made the run. */
  private async restartableJob(run: ExecutionRecord): Promise<JobRecord> {
    if (run.trigger === 'flow' || !run.job_id) {
      throw new ConflictError('run-not-restartable', `run ${run.id} is a child run of a flow; restart the flow's run instead`);
    }
    const job = await this.store.getJob(run.job_id);
    if (!job || job.handler !== run.handler || job.created_at.getTime() > run.created_at.getTime()) {
      throw new ConflictError('run-not-restartable', `the job '${run.job_id}' of run ${run.id} was deleted since; its runs cannot be restarted`);
    }
    return job;
  }

  /**
   * Every run matching a filter of GET /executions, at most JOBS_MAX_BULK_RUNS of them (a
   * QuotaError when more match). `statuses`: the statuses a bulk action applies to.
   */
  private async bulkMatch(filter: ExecutionFilter, statuses: readonly string[], action: string): Promise<ExecutionRecord[]> {
    if (filter.status !== undefined && !statuses.includes(filter.status)) {
      throw new InvalidError([{ field: 'status', reason: `${action} applies to runs that are ${statuses.join(', ')}; got '${filter.status}'` }]);
    }
    const max = this.limits.maxBulkRuns;
    const matched: ExecutionRecord[] = [];
    let after: string | null = null;
    do {
      const page: Page<ExecutionRecord> = await this.store.listExecutions(filter, after, 500);
      matched.push(...page.items.filter((e) => statuses.includes(e.status) && e.trigger !== 'flow'));
      if (matched.length > max) {
        throw new QuotaError('JOBS_MAX_BULK_RUNS', `more than ${max} runs match; narrow the filter (the limit is JOBS_MAX_BULK_RUNS)`);
      }
      after = page.next;
    } while (after);
    return matched;
  }

  /**
   * Bulk retry: runs again every ended run the filter matches (by default those that did not
   * succeed: failed, timed_out, lost, cancelled, missed), as one batch; all or none, within
   * the queue quotas. Runs whose job is gone are left out.
   */
  async retryExecutions(filter: ExecutionFilter, role: Role | null = null): Promise<{ count: number; batchId: string | null }> {
    const statuses = filter.status === 'succeeded' ? finalStatuses : finalStatuses.filter((s) => s !== 'succeeded');
    const runs = await this.bulkMatch(filter, statuses, 'retry');
    for (const run of runs) this.catalog.checkRole(run.handler, run.kwargs, role);
    const jobs = new Map((await this.store.getJobs([...new Set(runs.map((r) => r.job_id!))])).map((j) => [j.job_id, j]));
    const again = runs.filter((r) => {
      const job = jobs.get(r.job_id!);
      return job && job.handler === r.handler && job.created_at.getTime() <= r.created_at.getTime();
    });
    if (again.length === 0) return { count: 0, batchId: null };
    const perJob = new Map<string, number>();
    for (const r of again) perJob.set(r.job_id!, (perJob.get(r.job_id!) ?? 0) + 1);
    await this.checkQueueRoom(perJob, again.length);
    const now = new Date();
    const batchId = randomUUID();
    await this.runner.enqueue(again.map((r) => this.againOf(r, jobs.get(r.job_id!)!, now, batchId)));
    return { count: again.length, batchId };
  }

  /** Bulk cancel: cancels every queued or running run the filter matches; the count of runs cancelled or asked to stop. */
  async cancelExecutions(filter: ExecutionFilter, role: Role | null = null): Promise<{ count: number; batchId: string | null }> {
    const runs = await this.bulkMatch(filter, activeStatuses, 'cancel');
    for (const run of runs) this.catalog.checkRole(run.handler, run.kwargs, role);
    await this.runner.cancelMany(runs, 'cancel');
    return { count: runs.length, batchId: filter.batch_id ?? null };
  }

  async setWorkerState(id: string, state: Exclude<WorkerState, 'gone'>): Promise<WorkerRecord> {
    const worker = await this.store.getWorker(id);
    if (!worker) throw new NotFoundError('worker', id, `no worker with id '${id}'`);
    if (worker.state === 'gone') throw new ConflictError('worker-gone', `worker ${id} is gone; it cannot be blocked or unblocked`);
    return (await this.store.setWorkerState(id, state)) ?? worker;
  }

  async cleanFailed(): Promise<string[]> {
    return this.store.deleteFailures();
  }

  async getServiceState(): Promise<ServiceState> {
    return this.store.getServiceState();
  }

  /** Set by the service: makes this process's worker follow a state change at once. */
  onStateChange: () => Promise<void> = async () => undefined;

  /**
   * Pauses or resumes the whole scheduler; `by` is who asked, kept with a pause. The state is
   * stored; this process follows it at once and every other worker at its next heartbeat.
   */
  async setServiceState(state: ServiceState, by: string | null = null): Promise<ServiceState> {
    await this.store.setServiceState(state, by);
    await this.onStateChange();
    return state;
  }
}

/** Every field a job file defines, and the next run, are equal: nothing to write. */
function sameDefinition(a: JobRecord, b: JobRecord) {
  const keys: Array<keyof JobRecord> = [
    'handler',
    'state',
    'periodically',
    'interval_seconds',
    'cron',
    'timezone',
    'misfire_grace_time',
    'timeout',
    'concurrency_policy',
    'retries',
    'retry_backoff',
    'source',
    'source_file',
  ];
  return (
    keys.every((k) => a[k] === b[k]) &&
    isDeepStrictEqual([a.on_success, a.on_failure, a.on_finish, a.after_all], [b.on_success, b.on_failure, b.on_finish, b.after_all]) &&
    (a.when?.getTime() ?? null) === (b.when?.getTime() ?? null) &&
    (a.next_run_at?.getTime() ?? null) === (b.next_run_at?.getTime() ?? null) &&
    isDeepStrictEqual(a.kwargs, b.kwargs)
  );
}

/** Shape errors of the chain fields: lists of links ({job_id, kwargs?}) and of job ids. */
function chainErrors(req: ScheduleRequest): FieldError[] {
  const errors: FieldError[] = [];
  const idError = (id: unknown, field: string) => {
    if (typeof id !== 'string' || !jobIdPattern.test(id)) errors.push({ field, reason: 'must be a job_id (1 to 200 letters, digits or . _ : @ -)' });
  };
  const list = (field: string, v: unknown): v is unknown[] => {
    if (v === undefined) return false;
    if (!Array.isArray(v)) errors.push({ field, reason: 'must be a list' });
    else if (v.length > maxChainLinks) errors.push({ field, reason: `has ${v.length} entries; at most ${maxChainLinks}` });
    else return true;
    return false;
  };
  for (const f of linkFields) {
    const links = req[f] as unknown;
    if (!list(f, links)) continue;
    links.forEach((l, i) => {
      if (l === null || typeof l !== 'object' || Array.isArray(l)) return errors.push({ field: `${f}.${i}`, reason: 'must be an object {job_id, kwargs?}' });
      const link = l as Record<string, unknown>;
      for (const k of Object.keys(link)) if (k !== 'job_id' && k !== 'kwargs') errors.push({ field: `${f}.${i}.${k}`, reason: 'is not a field of a chain link (job_id, kwargs)' });
      idError(link.job_id, `${f}.${i}.job_id`);
      errors.push(...mappingErrors(link.kwargs, `${f}.${i}.kwargs`));
    });
  }
  const ups = req.after_all as unknown;
  if (list('after_all', ups)) {
    ups.forEach((id, i) => idError(id, `after_all.${i}`));
    if (new Set(ups).size !== ups.length) errors.push({ field: 'after_all', reason: 'lists a job more than once' });
  }
  return errors;
}

function sameSchedule(a: JobRecord, b: JobRecord) {
  return a.interval_seconds === b.interval_seconds && a.cron === b.cron && a.timezone === b.timezone && (a.when?.getTime() ?? null) === (b.when?.getTime() ?? null);
}
