import { isDeepStrictEqual } from 'node:util';
import { randomUUID } from 'node:crypto';
import { timeOrderedId } from '../store/ids.js';
import type { Catalog } from './catalog.js';
import type { Role } from '../config/tokens.js';
import type { Engine } from '../engine/types.js';
import { ConflictError, GoneError, InvalidError, NotFoundError, QuotaError, StaleVersionError, type FieldError } from './errors.js';
import type { Limits } from '../config/config.js';
import { defaultLimits, flowShape, kwargsQuotaErrors } from './quotas.js';
import { applyChange, changedFields, definitionOf } from './definition.js';
import { expectedFires, ledger, type LedgerFire } from './ledger.js';
import { catchUpPolicies, type CatchUp } from '../store/records.js';
import type {
  AuditRecord,
  ChainLink,
  ConcurrencyPolicy,
  ExecutionFilter,
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
import { activeStatuses, hasChains } from '../store/types.js';
import { cycleThrough, mappingErrors } from './run/chains.js';
import { CursorError } from '../store/cursor.js';
import { finalStatuses, type ExecutionRecord, type WorkerRecord, type WorkerState } from '../store/types.js';
import { Coalescer } from '../db/coalescer.js';
import { policyOf, recurrenceOf, type Runner } from './runner.js';
import { crashAt } from './crash-point.js';
import {
  checkCron,
  checkTimezone,
  firesBetween,
  maxGraceSeconds,
  nextCronFire,
  nextFireAfter,
  parseDuration,
  parseGraceTime,
  parseWhen,
  shortestCronGapSeconds,
  TimeSpecError,
  withinWindow,
  type Recurrence,
} from './timespec.js';
import { checkDeadline, checkNotify, checkPauseAfterFailures, normalDeadline, normalNotify, type RuleLimits } from '../notifications/rules.js';

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
  catch_up?: CatchUp;
  start_at?: string | null;
  end_at?: string | null;
  max_runs?: number | null;
  jitter?: number | null;
  on_success?: ChainLink[];
  on_failure?: ChainLink[];
  on_finish?: ChainLink[];
  after_all?: string[];
  notify?: unknown[] | null;
  pause_after_failures?: number | null;
  deadline?: { start_within?: number | null; run_within?: number | null } | null;
}

/** The fields of a create that decide when a job fires: what a schedule preview takes. */
export type ScheduleFields = Pick<ScheduleRequest, 'periodically' | 'cron' | 'timezone' | 'when' | 'start_at' | 'end_at'>;

/** A checked schedule: how it repeats, its window and its first fire (null: none in the window). */
interface Schedule {
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  when: Date | null;
  startAt: Date | null;
  endAt: Date | null;
  first: Date | null;
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
  /** The audit record of the call (an API create), stored with the jobs where the engine can. */
  audit?: CreateAudit;
}

/** The audit record of a call that creates jobs, for an engine that stores it with them (Engine.writesAudits). */
export interface CreateAudit {
  /** The call's record, should it create `jobs`. */
  recordOf(jobs: JobRecord[]): AuditRecord;
  /** Told of the record once it is stored with the jobs. */
  stored(record: AuditRecord): void;
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
/** A page of listJobs; cursorAfter(i) continues after item i (the answer cuts a page to JOBS_PAGE_MAX_BYTES). */
export type ListedPage = { items: ListedJob[]; next: string | null; cursorAfter: (i: number) => string };

/** Job ids a route of their own takes (`DELETE /jobs/clean-failed`): such a job could never be deleted. */
export const reservedJobIds: readonly string[] = ['clean-failed'];

const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

/**
 * The scheduling core: every way of creating or changing a job ends in one of these verbs.
 * Operation modules map requests onto them; the default-jobs loader does the same.
 */
export class Scheduler {
  /**
   * Jobs created at the same time are stored together, with their schedule rows (one
   * statement on SQL), however many requests are waiting. True for each job stored.
   */
  private readonly creates = new Coalescer<{ job: JobRecord; audit?: AuditRecord }, { stored: boolean; audited: boolean }>(async (items) => {
    const jobs = items.map((i) => i.job);
    const audits = items.some((i) => i.audit) ? items.map((i) => i.audit) : undefined;
    let audited = false;
    const stored = new Set(await this.engine.createJobs({ jobs, audits, onAudited: () => (audited = true) }, this.store));
    // Of two jobs with one id written together, only the first was stored.
    return jobs.map((j) => ({ stored: stored.delete(j.job_id), audited }));
  });

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly runner: Runner,
    /** The quotas of JOBS_MAX_* and JOBS_MIN_INTERVAL_SECONDS. */
    readonly limits: Limits = defaultLimits,
    /** The limits of notification rules (JOBS_NOTIFY_*) and whether e-mail can be sent. */
    readonly ruleLimits: RuleLimits = { maxRules: 10, maxRecipients: 10, maxPauseAfterFailures: 1000, email: false },
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
    const jobId = req.job_id ?? timeOrderedId();
    if (!jobIdPattern.test(jobId)) {
      errors.push({ field: 'job_id', reason: 'must be 1 to 200 letters, digits or . _ : @ - and start with a letter or digit' });
    } else if (reservedJobIds.includes(jobId)) {
      errors.push({ field: 'job_id', reason: `'${jobId}' is reserved: DELETE /jobs/${jobId} removes the failure records` });
    }
    const state = req.state ?? 'running';
    if (state !== 'running' && state !== 'paused') errors.push({ field: 'state', reason: "must be 'running' or 'paused'" });
    const schedule = this.buildSchedule(req, errors, now, ctx.allowPastWhen ?? false);
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
    if (req.catch_up !== undefined && !catchUpPolicies.includes(req.catch_up)) {
      errors.push({ field: 'catch_up', reason: "must be 'none', 'last' or 'all'" });
    }
    if (req.max_runs !== undefined && req.max_runs !== null && (!Number.isInteger(req.max_runs) || req.max_runs < 1 || req.max_runs > maxGraceSeconds)) {
      errors.push({ field: 'max_runs', reason: `must be a whole number from 1 to ${maxGraceSeconds}, or null for no limit` });
    }
    const maxJitter = this.limits.maxJitterSeconds;
    if (req.jitter !== undefined && req.jitter !== null && (!Number.isInteger(req.jitter) || req.jitter < 0 || req.jitter > maxJitter)) {
      errors.push({ field: 'jitter', reason: `must be a whole number of seconds from 0 to ${maxJitter} (JOBS_MAX_JITTER_SECONDS), or null for none` });
    }
    errors.push(...chainErrors(req));
    if (req.notify !== undefined && req.notify !== null) errors.push(...checkNotify(req.notify, 'notify', this.ruleLimits));
    errors.push(...checkPauseAfterFailures(req.pause_after_failures, this.ruleLimits), ...checkDeadline(req.deadline));
    if (errors.length > 0) throw new InvalidError(errors);

    const { intervalSeconds, cron, timezone, when } = schedule!;
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
      catch_up: req.catch_up ?? 'none',
      start_at: schedule!.startAt,
      end_at: schedule!.endAt,
      max_runs: req.max_runs ?? null,
      jitter: req.jitter ? req.jitter : null,
      next_run_at: schedule!.first,
      last_run_at: null,
      last_status: null,
      source: ctx.source,
      source_file: ctx.sourceFile ?? null,
      on_success: req.on_success ?? [],
      on_failure: req.on_failure ?? [],
      on_finish: req.on_finish ?? [],
      after_all: req.after_all ?? [],
      notify: req.notify ? normalNotify(req.notify) : [],
      pause_after_failures: req.pause_after_failures ?? null,
      deadline: normalDeadline(req.deadline),
      failure_streak: 0,
      image_status: this.catalog.get(req.handler)?.prepare ? 'importing' : null,
      image_error: null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
  }

  /**
   * Checks the schedule fields of a create (or a preview) into `errors`, every bad field named;
   * undefined when any is bad. First fire: at `when` (for cron, the first cron time from `when`
   * on); else one period later for interval jobs (at `start_at` when that is later), the next
   * cron time for cron jobs, now for one-shot jobs; then moved into the window: not before
   * `start_at`, none at all (null) after `end_at`.
   */
  buildSchedule(req: ScheduleFields, errors: FieldError[], now = new Date(), allowPast = false): Schedule | undefined {
    const before = errors.length;
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (err instanceof TimeSpecError) errors.push({ field: err.field, reason: err.reason });
        else throw err;
        return undefined;
      }
    };
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
    if (when && when.getTime() <= now.getTime() && !allowPast) {
      errors.push({ field: 'when', reason: `${when.toISOString()} is in the past` });
    }
    const instant = (field: 'start_at' | 'end_at') => {
      const text = req[field];
      if (text === undefined || text === null) return null;
      try {
        return parseWhen(text, now);
      } catch (err) {
        if (err instanceof TimeSpecError) errors.push({ field, reason: err.reason });
        else throw err;
        return undefined;
      }
    };
    const startAt = instant('start_at');
    const endAt = instant('end_at');
    if (startAt && endAt && endAt.getTime() <= startAt.getTime()) {
      errors.push({ field: 'end_at', reason: `${endAt.toISOString()} is not after start_at ${startAt.toISOString()}` });
    } else if (endAt && endAt.getTime() <= now.getTime() && !allowPast) {
      errors.push({ field: 'end_at', reason: `${endAt.toISOString()} is in the past: the job would never fire` });
    }
    if (errors.length > before) return undefined;

    let first: Date;
    if (cron) first = nextCronFire(cron, timezone ?? 'UTC', when && when > now ? new Date(when.getTime() - 1) : now);
    else if (when && intervalSeconds && when <= now) first = nextFireAfter({ kind: 'interval', seconds: intervalSeconds }, when, now)!;
    else if (when) first = when;
    else if (intervalSeconds) first = new Date(now.getTime() + intervalSeconds * 1000);
    else first = now;

    const recurrence: Recurrence = cron
      ? { kind: 'cron', expr: cron, timezone: timezone ?? 'UTC' }
      : intervalSeconds
        ? { kind: 'interval', seconds: intervalSeconds }
        : { kind: 'once' };
    // An interval job with a start and no `when` is anchored at its start.
    if (intervalSeconds && startAt && !when && startAt.getTime() > first.getTime()) first = startAt;
    return {
      intervalSeconds: intervalSeconds ?? null,
      cron: cron ?? null,
      timezone: cron ? (timezone ?? 'UTC') : null,
      when: when ?? null,
      startAt: startAt ?? null,
      endAt: endAt ?? null,
      first: withinWindow(recurrence, first, { start_at: startAt ?? null, end_at: endAt ?? null }),
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
    const audit = this.engine.writesAudits ? ctx.audit?.recordOf([job]) : undefined;
    const { stored, audited } = await this.creates.add({ job, audit });
    if (!stored) {
      throw new ConflictError('job-exists', `a job with job_id '${job.job_id}' exists already; delete it first or choose another job_id`, [
        { field: 'job_id', reason: 'is taken' },
      ]);
    }
    if (audit && audited) ctx.audit!.stored(audit);
    if (job.state === 'paused') await this.store.startPause(job.job_id, job.created_at);
    this.prepare(job);
    return job;
  }

  /**
   * post_schedule_job for many jobs, all or nothing: every request is checked first (every bad
   * field of every job, named `jobs[i].field`), then one statement stores the jobs and one their
   * schedule rows. A job_id taken already, or twice in the list, stores none of them.
   */
  async postScheduleJobs(reqs: ScheduleRequest[], ctx: ScheduleContext): Promise<JobRecord[]> {
    const max = this.limits.maxBulkJobs;
    if (reqs.length > max) throw new InvalidError([{ field: 'jobs', reason: `holds ${reqs.length} jobs; at most ${max} at once (JOBS_MAX_BULK_JOBS)` }]);
    for (const req of reqs) this.catalog.checkRole(req.handler, req.kwargs ?? {}, ctx.role ?? null);
    const now = new Date();
    const errors: FieldError[] = [];
    const jobs: JobRecord[] = [];
    const first = new Map<string, number>();
    reqs.forEach((req, i) => {
      try {
        const job = this.buildJob(req, ctx, now);
        const seen = first.get(job.job_id);
        if (seen !== undefined) errors.push({ field: `jobs[${i}].job_id`, reason: `'${job.job_id}' is also the job_id of jobs[${seen}]` });
        else first.set(job.job_id, i);
        jobs.push(job);
      } catch (err) {
        if (!(err instanceof InvalidError)) throw err;
        errors.push(...err.errors.map((e) => ({ field: `jobs[${i}].${e.field}`, reason: e.reason })));
      }
    });
    if (errors.length) throw new InvalidError(errors);
    await this.checkChains(jobs, ctx.role ?? null, (job, field) => `jobs[${first.get(job.job_id)}].${field}`);
    const taken = (ids: Iterable<string>) => {
      const list = [...ids];
      return new ConflictError(
        'job-exists',
        `${list.length} of these job_ids exist already (${list.slice(0, 5).join(', ')}${list.length > 5 ? ', ...' : ''}); no job was created`,
        list.map((id) => ({ field: `jobs[${first.get(id)}].job_id`, reason: 'is taken' })),
      );
    };
    // Ids the request named may be taken: refused before anything is written. A generated id
    // (a random UUID) is not read for; the insert below still finds one taken and undoes.
    const named = jobs.filter((j, i) => reqs[i].job_id === j.job_id).map((j) => j.job_id);
    const existing = await this.store.getJobs(named);
    if (existing.length) throw taken(existing.map((j) => j.job_id));
    const audit = this.engine.writesAudits ? ctx.audit?.recordOf(jobs) : undefined;
    let audited = false;
    const inserted = await this.engine.createJobs({ jobs, all: true, audits: audit && [audit], onAudited: () => (audited = true) }, this.store);
    // Created meanwhile by another request: none of these was stored.
    if (inserted.length < jobs.length) throw taken((await this.store.getJobs(jobs.map((j) => j.job_id))).map((j) => j.job_id));
    if (audit && audited) ctx.audit!.stored(audit);
    for (const job of jobs) {
      if (job.state === 'paused') await this.store.startPause(job.job_id, job.created_at);
      this.prepare(job);
    }
    return jobs;
  }

  /**
   * Begins making a job's image ready where its handler has one (container): the job's
   * image_status goes from importing to ready, or to error with the engine's reason.
   */
  private prepare(job: JobRecord) {
    const handler = this.catalog.get(job.handler);
    if (!handler?.prepare) return;
    const write = (patch: JobPatch) =>
      this.store.updateJob(job.job_id, patch).then(
        () => undefined,
        () => undefined,
      );
    // Not awaited: a pull may take minutes; its outcome is written when it comes.
    void handler.prepare(job.kwargs).then(
      () => write({ image_status: 'ready', image_error: null, updated_at: new Date() }),
      (err: unknown) => write({ image_status: 'error', image_error: (err instanceof Error ? err.message : String(err)).slice(0, 4000), updated_at: new Date() }),
    );
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
    const redefined = existing !== null && !sameDefinition(existing, built);
    if (existing) built.version = existing.version + (redefined ? 1 : 0);
    const job = await this.store.upsertJob(built);
    if (existing && redefined) await this.store.insertJobVersions(this.versionsOfChange(existing, job, null));
    // scheduleJob upserts by job, handler included: the row is not removed first, which would
    // leave the job without one should the process die in between. A job whose schedule,
    // handler and state stay keeps its row as it is (its next fire may have moved since the read).
    if (!existing || rowChanges(existing, job)) await this.engine.scheduleJob(job.job_id, job.handler, job.next_run_at, job.state === 'paused');
    this.prepare(job);
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
      }
      changed.push(job);
      result.push(job);
    }
    await this.store.upsertJobs(changed);
    await this.store.insertJobVersions(changed.flatMap((j) => (existing.has(j.job_id) ? this.versionsOfChange(existing.get(j.job_id)!, j, null) : [])));
    // Rows as the jobs say, for the jobs whose row changes: a job that kept its schedule kept the
    // next fire the store holds (read again here), and one that kept its handler and state too
    // keeps its row as it is.
    const rowsOf = changed.filter((j) => !existing.has(j.job_id) || rowChanges(existing.get(j.job_id)!, j));
    const kept = new Set(rowsOf.filter((j) => existing.has(j.job_id) && sameSchedule(existing.get(j.job_id)!, j)).map((j) => j.job_id));
    const stored = new Map((await this.store.getJobs([...kept])).map((j) => [j.job_id, j.next_run_at]));
    await this.engine.scheduleJobs(
      rowsOf.map((j) => ({ jobId: j.job_id, handler: j.handler, nextRunAt: kept.has(j.job_id) ? (stored.get(j.job_id) ?? null) : j.next_run_at, disabled: j.state === 'paused' })),
    );
    for (const job of changed) this.prepare(job);
    return { jobs: result, changed };
  }

  /**
   * The chains of jobs about to be stored: no cycle through the stored jobs' chains and fan-ins
   * (a job's ends would start each other for ever), and each target job that exists may be
   * started by the caller with the kwargs its link maps. An InvalidError naming the field.
   */
  async checkChains(jobs: JobRecord[], role: Role | null, fieldOf: (job: JobRecord, field: string) => string = (_, field) => field): Promise<void> {
    const chained = jobs.filter((j) => hasChains(j) || j.after_all.length > 0);
    if (chained.length === 0) return;
    const errors: FieldError[] = [];
    let graph = await this.store.chainedJobs();
    for (const job of chained) {
      const cycle = cycleThrough(job, graph);
      if (cycle) {
        const field = linkFields.find((f) => job[f].some((l) => l.job_id === cycle[1])) ?? (job.after_all.includes(cycle[cycle.length - 2]) ? 'after_all' : 'on_success');
        errors.push({ field: fieldOf(job, field), reason: `makes a cycle: ${cycle.join(' -> ')}; a chain may not lead back to the job it starts from` });
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
          if (link.kwargs) errors.push(...this.catalog.checkOverrides(target.handler, link.kwargs, fieldOf(job, `${f}.${i}.kwargs`)));
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

  /**
   * Pauses or resumes a job: its row, then its schedule row. A crash (or a database gone)
   * between the two leaves the job in its new state with the row in the old one: a paused job
   * whose row is enabled fires nothing (the fire that finds it paused removes the row), a
   * resumed job whose row is disabled is not fired until the row is written. The row cannot go
   * first on a resume: a worker claims an enabled row that is due at once, finds the job still
   * paused and removes the row. So the same request again, answered as a no-op, writes the
   * schedule row as the job's state says: a client's retry of a request that failed mends it.
   */
  async setJobState(jobId: string, state: JobState, role: Role | null = null): Promise<JobRecord> {
    const job = await this.getJob(jobId);
    this.catalog.checkRole(job.handler, job.kwargs, role);
    if (job.state === state) {
      await this.engine.scheduleJob(jobId, job.handler, job.next_run_at, state === 'paused');
      return job;
    }
    // A resumed job counts its failures in a row afresh: pause_after_failures means as many new ones.
    const updated = await this.store.updateJob(jobId, state === 'running' && job.failure_streak > 0 ? { state, failure_streak: 0 } : { state });
    if (!updated) throw new NotFoundError('job', jobId, `no job with job_id '${jobId}'`);
    crashAt('state-half-written');
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
      if (changed.length === 0 && !detaching) {
        // The same change again (a retry of one whose answer was lost, its schedule row maybe
        // not written): the schedule row is written as the job says.
        await this.engine.scheduleJob(jobId, job.handler, job.next_run_at, job.state === 'paused');
        return job;
      }
      await this.checkChains([built], ctx.role);
      // A container job's image is pulled again only when its handler or kwargs changed.
      const repull = built.image_status !== null && (changed.includes('kwargs') || changed.includes('handler'));
      const { job_id: _id, created_at: _created, last_run_at: _last, last_status: _status, next_run_at: planned, ...fields } = built;
      // A change that keeps the schedule leaves the next fire as it is in the store: the one
      // read may have fired since, and writing it back would fire it again.
      const keepsSchedule = sameSchedule(job, built);
      const patch: JobPatch = {
        ...fields,
        ...(keepsSchedule ? {} : { next_run_at: planned }),
        source: detaching ? 'api' : job.source,
        // The file is kept: the next boot knows the job was detached from it and leaves it alone.
        source_file: job.source_file,
        version: job.version + 1,
        updated_at: now,
        // Resumed by this change: its failures in a row count from zero, as a resume does.
        failure_streak: job.state === 'paused' && built.state === 'running' ? 0 : job.failure_streak,
        ...(repull ? {} : { image_status: built.image_status === null ? null : job.image_status, image_error: built.image_status === null ? null : job.image_error }),
      };
      const updated = await this.store.updateJobAtVersion(jobId, job.version, patch);
      if (!updated) {
        // Changed (or deleted) since it was read: read again, unless the caller named its version.
        if (ctx.ifVersion === undefined && attempt < 3) continue;
        const current = await this.getJob(jobId);
        throw new StaleVersionError(jobId, ctx.ifVersion ?? job.version, current.version);
      }
      if (job.state !== updated.state) crashAt('state-half-written');
      // scheduleJob upserts by job, handler included: the row is not removed first, which would
      // leave the job without one should the process die in between. A change of nothing the
      // row holds leaves it alone, for the same reason as the next fire above.
      if (rowChanges(job, updated)) {
        crashAt('row-half-written');
        await this.engine.scheduleJob(jobId, updated.handler, updated.next_run_at, updated.state === 'paused');
      }
      if (job.state !== updated.state) await this.recordPause(jobId, updated.state, now);
      await this.store.insertJobVersions(this.versionsOfChange(job, updated, ctx.by, detaching ? ['source'] : []));
      if (repull) this.prepare(updated);
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
   * that match it, and no failure records. The page is not cut to JOBS_PAGE_MAX_BYTES here:
   * the answer is, as it measures the JSON it sends.
   */
  async listJobs(type: JobType, cursor: string | null, limit: number, filter: JobFilter = {}): Promise<ListedPage> {
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
    const active = await this.checkQueueRoom(new Map([[jobId, times]]), times);
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
   * The next `count` fires of a job, in its time zone, exact across clock changes: from its
   * next run on (for a paused job: from now, as if resumed now), none after `end_at`, no more
   * than its `max_runs` has left. `ended` says why there are none when the schedule is over.
   */
  async nextFires(jobId: string, count: number, now = new Date()): Promise<{ job: JobRecord; fires: Date[]; ended: ScheduleEnd | null }> {
    this.checkCount(count);
    const found = (await this.store.getJobsWithActiveRuns([jobId]))[0];
    if (!found) throw new NotFoundError('job', jobId, `no job with job_id '${jobId}'`);
    const { job, counted } = found;
    const ended = scheduleEnded(job, now);
    const left = job.max_runs === null ? count : Math.max(0, Math.min(count, job.max_runs - (counted ?? 0)));
    let from = job.next_run_at;
    if (from && job.state === 'paused' && from.getTime() < now.getTime()) {
      from = withinWindow(recurrenceOf(job), nextFireAfter(recurrenceOf(job), from, now), job);
    }
    return { job, fires: from ? upcomingFires(recurrenceOf(job), from, job.end_at, left) : [], ended };
  }

  /**
   * The first `count` fires a job created now with these schedule fields would have: the
   * fields are checked as a create checks them (every bad one named), nothing is stored.
   */
  previewSchedule(fields: ScheduleFields, count: number, now = new Date()): Date[] {
    this.checkCount(count);
    const errors: FieldError[] = [];
    const schedule = this.buildSchedule(fields, errors, now);
    if (!schedule) throw new InvalidError(errors);
    const rec: Recurrence = schedule.cron
      ? { kind: 'cron', expr: schedule.cron, timezone: schedule.timezone ?? 'UTC' }
      : schedule.intervalSeconds
        ? { kind: 'interval', seconds: schedule.intervalSeconds }
        : { kind: 'once' };
    return schedule.first ? upcomingFires(rec, schedule.first, schedule.endAt, count) : [];
  }

  private checkCount(count: number) {
    const max = this.limits.maxNextFires;
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new InvalidError([{ field: 'count', reason: `must be a whole number from 1 to ${max} (JOBS_MAX_NEXT_FIRES), got ${count}` }]);
    }
  }

  /**
   * Runs the fires of a job's schedule from `since` (inclusive) to `until` (exclusive), in its
   * window, each as a queued run with the trigger `backfill`, the fire's time as its due time
   * and one batch id; at most JOBS_CATCH_UP_MAX_FIRES of them (a longer range is refused) and
   * within the queue's limits. They do not count against max_runs, and the concurrency policy,
   * which decides at fire time, does not apply to them.
   */
  async backfill(jobId: string, since: Date, until: Date, role: Role | null = null, now = new Date()): Promise<{ executions: ExecutionRecord[]; batchId: string | null }> {
    const job = await this.getJob(jobId);
    if (this.catalog.has(job.handler)) this.catalog.checkRole(job.handler, job.kwargs, role);
    const rec = recurrenceOf(job);
    const errors: FieldError[] = [];
    if (!this.catalog.has(job.handler)) errors.push({ field: 'job_id', reason: `the job's handler '${job.handler}' is not loaded` });
    if (rec.kind === 'once') errors.push({ field: 'job_id', reason: 'is a one-shot job: it has no schedule whose fires could be backfilled' });
    if (until.getTime() <= since.getTime()) errors.push({ field: 'until', reason: `${until.toISOString()} is not after since ${since.toISOString()}` });
    else if (until.getTime() > now.getTime() + 1000) errors.push({ field: 'until', reason: `${until.toISOString()} is in the future: fires to come run on schedule` });
    if (errors.length) throw new InvalidError(errors);
    const max = this.limits.maxCatchUpFires;
    const from = new Date(Math.max(since.getTime(), job.start_at?.getTime() ?? -8.64e15));
    const to = new Date(Math.min(until.getTime(), job.end_at ? job.end_at.getTime() + 1 : 8.64e15));
    // Interval fires lie on the job's grid: through its next run, else its first.
    const anchor = job.next_run_at ?? job.when ?? job.start_at ?? job.created_at;
    const fires = firesBetween(rec, anchor, from, to, max + 1);
    if (fires.length > max) {
      throw new InvalidError([{ field: 'until', reason: `the range holds more than ${max} fires, the limit (JOBS_CATCH_UP_MAX_FIRES): ask for a shorter one` }]);
    }
    if (fires.length === 0) return { executions: [], batchId: null };
    const active = await this.store.activeExecutions(jobId);
    const queued = active.filter((e) => e.status === 'queued').length;
    const { maxQueuedRunsPerJob, maxQueuedRuns } = this.limits;
    if (queued + fires.length > maxQueuedRunsPerJob) {
      throw new QuotaError(
        'JOBS_MAX_QUEUED_RUNS_PER_JOB',
        `job '${jobId}' has ${queued} queued runs; ${fires.length} more would pass the limit of ${maxQueuedRunsPerJob} (JOBS_MAX_QUEUED_RUNS_PER_JOB)`,
      );
    }
    const queuedInAll = await this.store.queuedCount();
    if (queuedInAll + fires.length > maxQueuedRuns) {
      throw new QuotaError('JOBS_MAX_QUEUED_RUNS', `${queuedInAll} runs are queued; ${fires.length} more would pass the limit of ${maxQueuedRuns} (JOBS_MAX_QUEUED_RUNS)`);
    }
    const batchId = randomUUID();
    const executions = fires.map((fire) => this.runner.newExecution(job, { trigger: 'backfill', scheduled_at: fire, created_at: now, batch_id: batchId }));
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
    'catch_up',
    'max_runs',
    'jitter',
    'source',
    'source_file',
  ];
  return (
    keys.every((k) => a[k] === b[k]) &&
    sameSchedule(a, b) &&
    isDeepStrictEqual([a.on_success, a.on_failure, a.on_finish, a.after_all], [b.on_success, b.on_failure, b.on_finish, b.after_all]) &&
    (a.next_run_at?.getTime() ?? null) === (b.next_run_at?.getTime() ?? null) &&
    isDeepStrictEqual(a.kwargs, b.kwargs) &&
    a.pause_after_failures === b.pause_after_failures &&
    isDeepStrictEqual(a.notify, b.notify) &&
    isDeepStrictEqual(a.deadline, b.deadline)
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

/** Whether a job's schedule row changes between two of its definitions: its schedule, handler or state. */
function rowChanges(before: JobRecord, after: JobRecord) {
  return !sameSchedule(before, after) || before.handler !== after.handler || before.state !== after.state;
}

function sameSchedule(a: JobRecord, b: JobRecord) {
  const same = (x: Date | null, y: Date | null) => (x?.getTime() ?? null) === (y?.getTime() ?? null);
  return (
    a.interval_seconds === b.interval_seconds && a.cron === b.cron && a.timezone === b.timezone && same(a.when, b.when) && same(a.start_at, b.start_at) && same(a.end_at, b.end_at)
  );
}

/** Why a job has no next fire: its end_at passed, or its fires started max_runs runs. */
export type ScheduleEnd = 'end_at' | 'max_runs';

/**
 * Why a job's schedule is over, for reads: null while it has a next fire, and for a one-shot
 * job that simply ran. A periodic job loses its next fire only at its end_at or its max_runs.
 */
export function scheduleEnded(job: JobRecord, now = new Date()): ScheduleEnd | null {
  if (job.next_run_at !== null) return null;
  const endPassed = job.end_at !== null && job.end_at.getTime() <= now.getTime();
  if (recurrenceOf(job).kind === 'once') return endPassed && job.last_run_at === null ? 'end_at' : null;
  if (endPassed) return 'end_at';
  if (job.max_runs !== null) return 'max_runs';
  return job.end_at !== null ? 'end_at' : null;
}

/** Up to `count` fires from `first` (a fire) on, none after `endAt`. */
function upcomingFires(rec: Recurrence, first: Date, endAt: Date | null, count: number): Date[] {
  return firesBetween(rec, first, first, new Date(endAt ? endAt.getTime() + 1 : 8.64e15), count);
}
