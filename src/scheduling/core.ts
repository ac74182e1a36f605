import { isDeepStrictEqual } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { Catalog } from './catalog.js';
import type { Role } from '../config/tokens.js';
import type { Engine } from '../engine/types.js';
import { ConflictError, GoneError, InvalidError, NotFoundError, QuotaError, StaleVersionError, type FieldError } from './errors.js';
import type { Limits } from '../config/config.js';
import { defaultLimits, flowShape, kwargsQuotaErrors } from './quotas.js';
import type {
  ConcurrencyPolicy,
  FailureRecord,
  JobFilter,
  JobPatch,
  JobRecord,
  JobSource,
  JobStats,
  JobState,
  JobVersionRecord,
  Kwargs,
  Page,
  ServiceState,
  Store,
} from '../store/types.js';
import { applyChange, changedFields, definitionOf } from './definition.js';
import { expectedFires, ledger, type LedgerFire } from './ledger.js';
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
}

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

/** Who changes a job, and on what terms. */
export interface ChangeContext {
  /** The calling token's name, kept as the version's changed_by; null when no token is checked. */
  by: string | null;
  role: Role | null;
  /** The version the caller read (If-Match): another answers a StaleVersionError. */
  ifVersion?: number;
  /** A job from a default-jobs file becomes an API job, which the next boot leaves alone. */
  detach?: boolean;
}

/** Versions a job keeps at most: the listing and the ledger read no more. */
const maxVersionsRead = 10_000;

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
      created_at: now,
      updated_at: now,
      version: 1,
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
    if (!(await this.creates.add(job))) {
      throw new ConflictError('job-exists', `a job with job_id '${job.job_id}' exists already; delete it first or choose another job_id`, [
        { field: 'job_id', reason: 'is taken' },
      ]);
    }
    if (job.state === 'paused') await this.store.startPause(job.job_id, job.created_at);
    return job;
  }

  /** Creates or redefines a job by id (default jobs): edits take effect, the history stays. */
  async upsertJob(req: ScheduleRequest, ctx: ScheduleContext): Promise<JobRecord> {
    const built = this.buildJob(req, ctx);
    const existing = await this.store.getJob(built.job_id);
    if (existing && sameSchedule(existing, built)) {
      // Same timing as before: keep the next run already planned instead of starting over.
      built.next_run_at = existing.next_run_at;
    }
    const redefined = existing !== null && !sameDefinition(existing, built);
    if (existing) built.version = existing.version + (redefined ? 1 : 0);
    const job = await this.store.upsertJob(built);
    if (existing && redefined) await this.store.insertJobVersions(this.versionsOfChange(existing, job, null));
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
    const existing = new Map((await this.store.getJobs(built.map((j) => j.job_id))).map((j) => [j.job_id, j]));
    const changed: JobRecord[] = [];
    const result: JobRecord[] = [];
    for (const job of built) {
      const old = existing.get(job.job_id);
      // Detached from its file by a change (source api, its file kept): the file no longer applies.
      if (old && old.source === 'api' && old.source_file !== null) {
        result.push(old);
        continue;
      }
      if (old && sameSchedule(old, job)) job.next_run_at = old.next_run_at;
      if (old && sameDefinition(old, job)) {
        result.push(old);
        continue;
      }
      if (old) {
        job.created_at = old.created_at;
        job.last_run_at = old.last_run_at;
        job.last_status = old.last_status;
        job.version = old.version + 1;
        if (old.handler !== job.handler) await this.engine.removeJob(job.job_id);
      }
      changed.push(job);
      result.push(job);
    }
    await this.store.upsertJobs(changed);
    await this.store.insertJobVersions(changed.flatMap((j) => (existing.has(j.job_id) ? this.versionsOfChange(existing.get(j.job_id)!, j, null) : [])));
    await this.engine.scheduleJobs(changed.map((j) => ({ jobId: j.job_id, handler: j.handler, nextRunAt: j.next_run_at, disabled: j.state === 'paused' })));
    return { jobs: result, changed };
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
    await this.recordPause(jobId, state, updated.updated_at);
    return updated;
  }

  /** Keeps when a job (or, with null, the service) was paused and resumed, for the fire ledger. */
  private async recordPause(jobId: string | null, state: JobState | ServiceState, at: Date) {
    if (state === 'paused') await this.store.startPause(jobId, at);
    else await this.store.endPause(jobId, at);
  }

  /**
   * Changes a job's definition: `change` holds the fields to set (null unsets one), checked
   * as a create checks them, every bad field in one InvalidError and nothing changed. The next
   * fire is planned again when the schedule changed; a run in progress goes on as it was. The
   * previous definition stays as a version.
   */
  async patchJob(jobId: string, change: Record<string, unknown>, ctx: ChangeContext, keepPastWhen = false): Promise<JobRecord> {
    for (let attempt = 1; ; attempt++) {
      const job = await this.getJob(jobId);
      this.catalog.checkRole(job.handler, job.kwargs, ctx.role);
      if (ctx.ifVersion !== undefined && ctx.ifVersion !== job.version) throw new StaleVersionError(jobId, ctx.ifVersion, job.version);
      const detaching = job.source === 'file' && ctx.detach === true;
      if (job.source === 'file' && !detaching) {
        throw new ConflictError(
          'job-from-file',
          `job '${jobId}' comes from the default-jobs file ${job.source_file ?? ''}, which the next boot applies again; send detach: true to make it a job of the API and change it`,
          [{ field: 'detach', reason: 'must be true to change a job that comes from a file' }],
        );
      }
      const errors: FieldError[] = [];
      if ('job_id' in change && change.job_id !== jobId) errors.push({ field: 'job_id', reason: 'cannot be changed; create a job with the new job_id instead' });
      const before = definitionOf(job);
      const now = new Date();
      let built: JobRecord;
      try {
        built = this.buildJob(
          { ...(applyChange(before, change) as unknown as ScheduleRequest), job_id: jobId },
          { source: 'api', allowPastWhen: keepPastWhen || !('when' in change) },
          now,
        );
      } catch (err) {
        if (err instanceof InvalidError) throw new InvalidError([...errors, ...err.errors]);
        throw err;
      }
      if (errors.length) throw new InvalidError(errors);
      this.catalog.checkRole(built.handler, built.kwargs, ctx.role);
      const changed = changedFields(before, definitionOf(built));
      if (changed.length === 0 && !detaching) return job;
      const { job_id: _id, created_at: _created, last_run_at: _last, last_status: _status, ...fields } = built;
      const patch: JobPatch = {
        ...fields,
        next_run_at: sameSchedule(job, built) ? job.next_run_at : built.next_run_at,
        source: detaching ? 'api' : job.source,
        // The file is kept: the next boot knows the job was detached from it and leaves it alone.
        source_file: job.source_file,
        version: job.version + 1,
        updated_at: now,
      };
      const updated = await this.store.updateJobAtVersion(jobId, job.version, patch);
      if (!updated) {
        // Changed (or deleted) since it was read: read again, unless the caller named its version.
        if (ctx.ifVersion === undefined && attempt < 3) continue;
        const current = await this.getJob(jobId);
        throw new StaleVersionError(jobId, ctx.ifVersion ?? job.version, current.version);
      }
      if (job.handler !== updated.handler) await this.engine.removeJob(jobId);
      await this.engine.scheduleJob(jobId, updated.handler, updated.next_run_at, updated.state === 'paused');
      if (job.state !== updated.state) await this.recordPause(jobId, updated.state, now);
      await this.store.insertJobVersions(this.versionsOfChange(job, updated, ctx.by, detaching ? ['source'] : []));
      return updated;
    }
  }

  /**
   * The versions a change writes: the new one, and the previous one when that is the job's
   * first (a create writes none, to keep creating jobs one write).
   */
  private versionsOfChange(before: JobRecord, after: JobRecord, by: string | null, extra: string[] = []): JobVersionRecord[] {
    const def = definitionOf(after);
    const next: JobVersionRecord = {
      job_id: after.job_id,
      version: after.version,
      changed_at: after.updated_at,
      changed_by: by,
      changed: [...changedFields(definitionOf(before), def), ...extra].sort(),
      definition: def,
      first_fire: after.next_run_at,
    };
    return before.version === 1 ? [this.firstVersion(before), next] : [next];
  }

  /** Version 1 of a job as its create made it, its first fire planned again from its create time. */
  private firstVersion(job: JobRecord): JobVersionRecord {
    const def = definitionOf(job);
    let firstFire: Date | null = null;
    try {
      firstFire = this.buildJob(
        { ...(applyChange(def, {}) as unknown as ScheduleRequest), job_id: job.job_id },
        { source: 'api', allowPastWhen: true },
        job.created_at,
      ).next_run_at;
    } catch {
      // A handler no longer loaded, a limit tightened since: no fires are expected of it.
    }
    return { job_id: job.job_id, version: 1, changed_at: job.created_at, changed_by: null, changed: Object.keys(def).sort(), definition: def, first_fire: firstFire };
  }

  /** A job's versions, oldest first, from `from` on: `limit` of them and the next to ask for. */
  async listJobVersions(jobId: string, from = 1, limit = 100): Promise<{ job: JobRecord; versions: JobVersionRecord[]; next: number | null }> {
    const job = await this.getJob(jobId);
    const stored = await this.store.listJobVersions(jobId, from, limit + 1);
    // A job never changed (or whose last change was not recorded) has its current version only in its row.
    if (job.version >= from && !stored.some((v) => v.version === job.version)) {
      stored.push(
        job.version === 1
          ? this.firstVersion(job)
          : { job_id: jobId, version: job.version, changed_at: job.updated_at, changed_by: null, changed: [], definition: definitionOf(job), first_fire: job.next_run_at },
      );
    }
    const versions = stored.filter((v) => v.version <= job.version).sort((a, b) => a.version - b.version);
    const more = versions.length > limit;
    return { job, versions: versions.slice(0, limit), next: more ? versions[limit].version : null };
  }

  /** Makes the definition of an earlier version the job's again, as a new version (its state stays). */
  async rollbackJob(jobId: string, version: number, ctx: ChangeContext): Promise<JobRecord> {
    const job = await this.getJob(jobId);
    const found = version === 1 ? ((await this.store.getJobVersion(jobId, 1)) ?? this.firstVersion(job)) : await this.store.getJobVersion(jobId, version);
    if (!found || version > job.version) throw new NotFoundError('job', jobId, `job '${jobId}' has no version ${version}; it is at version ${job.version}`);
    const { state: _state, ...def } = found.definition;
    // Every field of that definition, the ones unset then as null, so none of today's stays.
    const change = Object.fromEntries(Object.keys(definitionOf(job)).map((k) => [k, k in def ? def[k] : null]));
    delete change.state;
    for (const [k, v] of Object.entries(def)) change[k] = v;
    // A `when` of that version is past by now: the job takes its next fire after now.
    return this.patchJob(jobId, change, ctx, true);
  }

  /**
   * The fire ledger of a job over [since, until): every fire the schedule in force at the time
   * expected, with what became of it. At most `limit` fires; `next_since` continues after them.
   */
  async fires(jobId: string, since: Date, until: Date, limit = this.limits.ledgerMaxFires): Promise<{ job: JobRecord; fires: LedgerFire[]; nextSince: Date | null }> {
    const errors: FieldError[] = [];
    if (until.getTime() <= since.getTime()) errors.push({ field: 'until', reason: 'must be later than since' });
    else if (until.getTime() - since.getTime() > this.limits.ledgerMaxRangeSeconds * 1000) {
      errors.push({ field: 'until', reason: `must be at most ${this.limits.ledgerMaxRangeSeconds} seconds after since (JOBS_LEDGER_MAX_RANGE_SECONDS)` });
    }
    if (errors.length) throw new InvalidError(errors);
    const { job, versions } = await this.listJobVersions(jobId, 1, maxVersionsRead);
    const expected = expectedFires(versions, since, until, limit + 1, (p) => {
      try {
        return parseDuration('periodically', p);
      } catch {
        return null;
      }
    });
    const shown = expected.slice(0, limit);
    const last = shown.at(-1);
    const to = expected.length > limit && last ? new Date(last.time.getTime() + 1) : until;
    const [runs, pauses] = await Promise.all([this.store.listFires(jobId, since, to, limit * 2 + 10), this.store.listPauses(jobId, since, to)]);
    return {
      job,
      fires: ledger(shown, runs, pauses, new Date(), job.state === 'running' ? job.next_run_at : null),
      nextSince: expected.length > limit && last ? new Date(last.time.getTime() + 1) : null,
    };
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
   * first, `all` is the user jobs followed by the failure records. A filter keeps the jobs
   * that match it, and no failure records.
   */
  async listJobs(type: JobType, cursor: string | null, limit: number, filter: JobFilter = {}): Promise<{ items: ListedJob[]; next: string | null }> {
    const page = await this.listJobsPage(type, cursor, limit, filter);
    // At most JOBS_PAGE_MAX_BYTES of records (at least one): large kwargs make shorter pages, not larger answers.
    let bytes = 0;
    for (const [i, item] of page.items.entries()) {
      bytes += Buffer.byteLength(JSON.stringify(item.kind === 'job' ? item.job : item.failure)) + 1;
      if (bytes > this.limits.pageMaxBytes && i > 0) return { items: page.items.slice(0, i), next: page.cursorAfter(i - 1) };
    }
    return { items: page.items, next: page.next };
  }

  private async listJobsPage(
    type: JobType,
    cursor: string | null,
    limit: number,
    filter: JobFilter,
  ): Promise<{ items: ListedJob[]; next: string | null; cursorAfter: (i: number) => string }> {
    const filtered = Object.values(filter).some((v) => v !== undefined);
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
        const page: Page<JobRecord> = await this.store.listJobs(from, limit, filter);
        items.push(...page.items.map((job) => ({ kind: 'job' as const, job })));
        page.items.forEach((_, i) => cursors.push(() => `user.${page.cursorAfter!(i)}`));
        if (page.next) return { items, next: `user.${page.next}`, cursorAfter: after };
        if (type === 'user' || filtered) return { items, next: null, cursorAfter: after };
        if (items.length === limit) return { items, next: 'failed.', cursorAfter: after };
        phase = 'failed';
        from = null;
      }
      if (filtered) return { items, next: null, cursorAfter: after };
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
    await this.recordPause(null, state, new Date());
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
    (a.when?.getTime() ?? null) === (b.when?.getTime() ?? null) &&
    (a.next_run_at?.getTime() ?? null) === (b.next_run_at?.getTime() ?? null) &&
    isDeepStrictEqual(a.kwargs, b.kwargs)
  );
}

function sameSchedule(a: JobRecord, b: JobRecord) {
  return a.interval_seconds === b.interval_seconds && a.cron === b.cron && a.timezone === b.timezone && (a.when?.getTime() ?? null) === (b.when?.getTime() ?? null);
}
