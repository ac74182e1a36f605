import type { CallAudit, Operation, OperationResult } from './types.js';
import { ContractError } from './types.js';
import type { operations } from '../generated/openapi.js';
import { operationsOf } from '../contract/openapi.js';
import { Problem } from './problem.js';
import { inBody, inQuery, locating, onHandlerRoute } from './domain-problems.js';
import type { JobRecord, Kwargs } from '../store/types.js';
import { executionBody, failureBody, jobBody, type Schemas, type Services } from './context.js';
import { isoTime } from './iso-time.js';
import { checkRunOverrides, checkSecretRefs } from './secrets.js';
import { pageJsonWithin } from './quotas.js';
import type { CreateAudit, ListedJob } from '../scheduling/core.js';

type ListQuery = NonNullable<operations['listJobs']['parameters']['query']>;
type StateQuery = operations['setJobState']['parameters']['query'];
type JobPath = operations['getJob']['parameters']['path'];
type UpdateBody = operations['updateJob']['requestBody']['content']['application/json'];
type VersionsQuery = NonNullable<operations['listJobVersions']['parameters']['query']>;
type RollbackPath = operations['rollbackJob']['parameters']['path'];
type RollbackQuery = NonNullable<operations['rollbackJob']['parameters']['query']>;
type FiresQuery = NonNullable<operations['listJobFires']['parameters']['query']>;
type CreateBody = operations['createJob']['requestBody']['content']['application/json'];
type CreateManyBody = operations['createJobs']['requestBody']['content']['application/json'];
/** The scheduling options every handler route takes in its query (the Bayesian form). */
type HandlerRouteQuery = NonNullable<operations['scheduleFlowScheduling']['parameters']['query']>;

/** A listed item as the list answers it, in JSON. */
const jobJson = (i: ListedJob) => JSON.stringify(i.kind === 'job' ? jobBody(i.job) : failureBody(i.failure));

/** A job's version as its reads' ETag gives it. */
const etagOf = (job: { version: number }) => `"${job.version}"`;

/** The version an If-Match header names; undefined when there is none or it is `*`. */
function ifMatchOf(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = headers['if-match'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (value === undefined || value === '' || value === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,10})"?$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 2147483647) {
    throw Problem.invalid([{ field: 'header.If-Match', reason: `must be a version the job's ETag gave, such as "3"; got '${value}'` }]);
  }
  return Number(m[1]);
}

/** A date-time of the query, or the default. */
function queryTime(value: string | undefined, field: string, fallback: Date): Date {
  if (value === undefined) return fallback;
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw Problem.invalid([{ field: `query.${field}`, reason: `must be a date-time such as 2026-11-29T00:00:00Z, got '${value}'` }]);
  return t;
}

/**
 * A stored definition as job reads show it: through jobBody, so whatever a read redacts (kwargs,
 * and any field added to jobs that holds credentials) is redacted here too.
 */
function definitionBody(job: JobRecord, def: Record<string, unknown>): Record<string, unknown> {
  // Stored as ISO text; a job read takes dates.
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  const shown = jobBody({ ...job, ...def, when: date(def.when), start_at: date(def.start_at), end_at: date(def.end_at) } as JobRecord) as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(def).map((k) => [k, k in shown ? shown[k] : null]));
}

/** The fields of a create or change body that may refer to secrets. */
const secretFields = ['kwargs', 'notify', 'on_success', 'on_failure', 'on_finish'] as const;

/**
 * The secret references of a create or change body: in its kwargs, its notification rules and
 * the kwargs its chain links map. Each sends a secret's value where the job says, so each needs
 * the admin role and a secret that exists.
 */
async function checkBodySecrets(s: Services, b: Record<string, unknown>, at: string, caller: string | null): Promise<void> {
  for (const field of secretFields) {
    if (b[field] !== undefined && b[field] !== null) await checkSecretRefs(s, b[field], `${at}.${field}`, caller);
  }
  // A link that maps kwargs runs its target with kwargs of its own: as a run request would.
  for (const field of ['on_success', 'on_failure', 'on_finish']) {
    const links = b[field];
    if (!Array.isArray(links)) continue;
    for (const link of links as Array<{ job_id?: unknown; kwargs?: unknown }>) {
      if (link && typeof link.job_id === 'string') await checkRunOverrides(s, link.job_id, link.kwargs, caller);
    }
  }
}

/**
 * Whether checkBodySecrets has anything to look at: a field that can hold a secret reference
 * and is not empty. Spares a bulk create of plain jobs a check per entry.
 */
function mayReferToSecrets(b: Record<string, unknown>): boolean {
  for (const field of secretFields) {
    const v = b[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) return true;
  }
  return false;
}

function changed(job: Parameters<typeof jobBody>[0]) {
  return { status: 200, headers: { ETag: etagOf(job) }, body: { job: jobBody(job) } satisfies Schemas['JobCreated'] };
}

function created(job: Parameters<typeof jobBody>[0]) {
  return {
    status: 201,
    headers: { Location: `/api/v1/jobs/${encodeURIComponent(job.job_id)}` },
    body: { job: jobBody(job) } satisfies Schemas['JobCreated'],
  };
}

function createdMany(jobs: JobRecord[]) {
  return { status: 201, body: { jobs: jobs.map((j) => jobBody(j)), jobs_count: jobs.length } satisfies Schemas['JobsCreated'] };
}

/** `Prefer: return=minimal` of a request (RFC 7240: comma-separated preferences, names in any case, the first `return` counts). */
function prefersMinimal(headers: Record<string, string | string[] | undefined>): boolean {
  const raw = headers.prefer;
  for (const preference of (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',')) {
    const [name, value] = preference
      .split(';')[0]
      .split('=')
      .map((t) => t.trim().replace(/^"(.*)"$/, '$1'));
    if (name.toLowerCase() === 'return') return value === 'minimal';
  }
  return false;
}

/** A bulk create's answer under `Prefer: return=minimal`: the ids, in the order given. */
function createdIds(jobs: JobRecord[]) {
  return {
    status: 201,
    headers: { 'Preference-Applied': 'return=minimal' },
    body: { job_ids: jobs.map((j) => j.job_id), jobs_count: jobs.length } satisfies Schemas['JobIdsCreated'],
  };
}

/**
 * `answer`, made once for the list of jobs it was last given: a bulk create's audit record
 * takes its outcome from the answer the call then sends (the scheduler gives both the same
 * list), and each job's JSON costs as much as its write.
 */
function answerOnce<R>(answer: (jobs: JobRecord[]) => R): (jobs: JobRecord[]) => R {
  let last: { jobs: JobRecord[]; result: R } | undefined;
  return (jobs) => (last?.jobs === jobs ? last.result : (last = { jobs, result: answer(jobs) }).result);
}

/** A create's audit record, to be stored with its jobs (ScheduleContext.audit): `answer` is the call's answer should it create them. */
function auditWith(audit: CallAudit | undefined, answer: (jobs: JobRecord[]) => OperationResult): CreateAudit | undefined {
  return audit && { recordOf: (jobs) => audit.of(answer(jobs)), stored: (record) => audit.stored(record) };
}

export function jobOperations(s: Services): Record<string, Operation> {
  const ops: Record<string, Operation> = {
    listJobs: async ({ query }) => {
      const q = query as ListQuery;
      const filter = { search: q.search, handler: q.handler, state: q.state, source: q.source, last_status: q.last_status };
      const page = await locating(inQuery, () => s.scheduler.listJobs(q.job_type ?? 'all', q.cursor ?? null, q.limit ?? 100, filter));
      // At most JOBS_PAGE_MAX_BYTES of jobs (at least one): large kwargs make shorter pages, not
      // larger answers. The JSON measured is the JSON sent, so each job is serialised once.
      const shown = pageJsonWithin(page, jobJson, s.config.limits.pageMaxBytes);
      const next: Schemas['JobList']['next_cursor'] = shown.next;
      return {
        status: 200,
        type: 'application/json',
        // Schemas['JobList'], written out around the jobs' JSON.
        body: `{"jobs":[${shown.items.join(',')}],"jobs_count":${shown.items.length},"next_cursor":${JSON.stringify(next)}}`,
      };
    },

    createJob: async ({ body, caller, role, audit }) => {
      const b = body as CreateBody;
      await checkBodySecrets(s, b as Record<string, unknown>, 'body', caller);
      const job = await locating(inBody, () =>
        s.scheduler.postScheduleJob({ ...b, kwargs: b.kwargs ?? {} }, { source: 'api', role, audit: auditWith(audit, ([j]) => created(j)) }),
      );
      return created(job);
    },

    createJobs: async ({ body, headers, caller, role, audit }) => {
      const b = body as CreateManyBody;
      const answer = answerOnce<OperationResult>(prefersMinimal(headers) ? createdIds : createdMany);
      for (const [i, job] of b.jobs.entries())
        if (mayReferToSecrets(job as Record<string, unknown>)) await checkBodySecrets(s, job as Record<string, unknown>, `body.jobs[${i}]`, caller);
      const jobs = await locating(inBody, () =>
        s.scheduler.postScheduleJobs(
          b.jobs.map((job) => ({ ...job, kwargs: job.kwargs ?? {} })),
          { source: 'api', role, audit: auditWith(audit, answer) },
        ),
      );
      return answer(jobs);
    },

    deleteAllJobs: () => {
      throw new Problem(405, 'Method not allowed', 'deleting every job at once is not allowed; delete jobs one by one with DELETE /jobs/{job_id}', undefined, {
        Allow: 'GET, POST',
      });
    },

    cleanFailed: async () => ({ status: 200, body: { removed: await s.scheduler.cleanFailed() } satisfies Schemas['Removed'] }),

    getJob: async ({ params }) => {
      // The job and its run statistics in one read (one statement on SQL).
      const { job, stats } = await s.scheduler.getJobWithStats((params as JobPath).job_id);
      const next = job.state === 'running' ? job.next_run_at : null;
      return {
        status: 200,
        headers: { ETag: etagOf(job) },
        // The job's body with its stats added, not copied into a new object.
        body: Object.assign(jobBody(job), {
          stats: {
            total: stats.total,
            succeeded: stats.succeeded,
            failed: stats.failed,
            average_duration_ms: stats.average_duration_ms,
            ...(stats.latest ? { latest_execution: executionBody(stats.latest) } : {}),
            next_execution: next ? { scheduled_at: isoTime(next) } : null,
          },
        }) satisfies Schemas['JobDetail'],
      };
    },

    setJobState: async ({ params, query, role }) => {
      const job = await s.scheduler.setJobState((params as JobPath).job_id, (query as StateQuery).state, role);
      return { status: 200, body: { job_id: job.job_id, state: job.state } satisfies Schemas['JobStateResult'] };
    },

    updateJob: async ({ params, body, headers, caller, role }) => {
      const { detach, ...change } = body as UpdateBody;
      await checkBodySecrets(s, change as Record<string, unknown>, 'body', caller);
      const ifVersion = ifMatchOf(headers);
      const job = await locating(inBody, () => s.scheduler.patchJob((params as JobPath).job_id, change, { by: caller, role, ifVersion, detach }));
      return changed(job);
    },

    listJobVersions: async ({ params, query }) => {
      const q = query as VersionsQuery;
      const { job, versions, next } = await s.scheduler.listJobVersions((params as JobPath).job_id, q.from ?? 1, q.limit ?? 100);
      return {
        status: 200,
        body: {
          job_id: job.job_id,
          version: job.version,
          versions: versions.map((v) => ({
            version: v.version,
            changed_at: isoTime(v.changed_at),
            changed_by: v.changed_by,
            changed: v.changed,
            definition: definitionBody(job, v.definition),
          })),
          next_from: next,
        } satisfies Schemas['JobVersionList'],
      };
    },

    rollbackJob: async ({ params, query, headers, caller, role }) => {
      const p = params as unknown as RollbackPath;
      const ifVersion = ifMatchOf(headers);
      const job = await locating(inQuery, () =>
        s.scheduler.rollbackJob(p.job_id, Number(p.version), { by: caller, role, ifVersion, detach: (query as RollbackQuery).detach === true }),
      );
      return changed(job);
    },

    listJobFires: async ({ params, query }) => {
      const q = query as FiresQuery;
      const until = queryTime(q.until, 'until', new Date());
      const since = queryTime(q.since, 'since', new Date(until.getTime() - 86400_000));
      const r = await locating(inQuery, () => s.scheduler.fires((params as JobPath).job_id, since, until));
      return {
        status: 200,
        body: {
          job_id: r.job.job_id,
          since: isoTime(since),
          until: isoTime(until),
          fires: r.fires.map((f) => ({
            time: isoTime(f.time),
            outcome: f.outcome,
            version: f.version,
            ...(f.execution_id ? { execution_id: f.execution_id } : {}),
            ...(f.active_execution_id ? { active_execution_id: f.active_execution_id } : {}),
          })),
          next_since: r.nextSince ? isoTime(r.nextSince) : null,
        } satisfies Schemas['FireLedger'],
      };
    },

    deleteJob: async ({ params, role }) => ({
      status: 200,
      body: { removed: await s.scheduler.deleteJob((params as JobPath).job_id, role) } satisfies Schemas['Removed'],
    }),
  };

  // One route per handler, marked x-handler in openapi.yaml: the body is the kwargs, the
  // query the scheduling options; each maps onto postScheduleJob.
  for (const { method, path, op } of operationsOf(s.doc)) {
    const handler = op['x-handler'];
    if (!handler || !op.operationId) continue;
    if (!s.catalog.has(handler)) {
      throw new ContractError(`${method.toUpperCase()} ${path} (${op.operationId}) names handler '${handler}', which the handlers folder lacks`);
    }
    ops[op.operationId] = async ({ query, body, caller, role, audit }) => {
      const q = query as HandlerRouteQuery;
      await checkSecretRefs(s, body, 'body', caller);
      const job = await locating(onHandlerRoute, () =>
        s.scheduler.postScheduleJob(
          {
            handler,
            kwargs: body as Kwargs,
            job_id: q.job_id,
            periodically: q.periodically,
            cron: q.cron,
            timezone: q.timezone,
            when: q.when,
            misfire_grace_time: q.misfire_grace_time,
            state: q.state,
            timeout: q.timeout,
            concurrency_policy: q.concurrency_policy,
            retries: q.retries,
            retry_backoff: q.retry_backoff,
          },
          { source: 'api', role, audit: auditWith(audit, ([j]) => created(j)) },
        ),
      );
      return created(job);
    };
  }
  return ops;
}
