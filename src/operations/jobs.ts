import type { Operation } from './types.js';
import { ContractError } from './types.js';
import type { operations } from '../generated/openapi.js';
import { operationsOf } from '../contract/openapi.js';
import { Problem } from './problem.js';
import { inBody, inQuery, locating, onHandlerRoute } from './domain-problems.js';
import type { Kwargs } from '../store/types.js';
import { executionBody, failureBody, jobBody, type Schemas, type Services } from './context.js';
import { isoTime } from './iso-time.js';
import { checkSecretRefs } from './secrets.js';

type ListQuery = NonNullable<operations['listJobs']['parameters']['query']>;
type StateQuery = operations['setJobState']['parameters']['query'];
type JobPath = operations['getJob']['parameters']['path'];
type CreateBody = operations['createJob']['requestBody']['content']['application/json'];
/** The scheduling options every handler route takes in its query (the Bayesian form). */
type HandlerRouteQuery = NonNullable<operations['scheduleFlowScheduling']['parameters']['query']>;

function created(job: Parameters<typeof jobBody>[0]) {
  return {
    status: 201,
    headers: { Location: `/api/v1/jobs/${encodeURIComponent(job.job_id)}` },
    body: { job: jobBody(job) } satisfies Schemas['JobCreated'],
  };
}

export function jobOperations(s: Services): Record<string, Operation> {
  const ops: Record<string, Operation> = {
    listJobs: async ({ query }) => {
      const q = query as ListQuery;
      const page = await locating(inQuery, () => s.scheduler.listJobs(q.job_type ?? 'all', q.cursor ?? null, q.limit ?? 100));
      const jobs = page.items.map((i) => (i.kind === 'job' ? jobBody(i.job) : failureBody(i.failure)));
      return { status: 200, body: { jobs, jobs_count: jobs.length, next_cursor: page.next } satisfies Schemas['JobList'] };
    },

    createJob: async ({ body, caller, role }) => {
      const b = body as CreateBody;
      await checkSecretRefs(s, b.kwargs, 'body.kwargs', caller);
      await checkSecretRefs(s, b.notify, 'body.notify', caller);
      const job = await locating(inBody, () => s.scheduler.postScheduleJob({ ...b, kwargs: b.kwargs ?? {} }, { source: 'api', role }));
      return created(job);
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
        body: {
          ...jobBody(job),
          stats: {
            total: stats.total,
            succeeded: stats.succeeded,
            failed: stats.failed,
            average_duration_ms: stats.average_duration_ms,
            ...(stats.latest ? { latest_execution: executionBody(stats.latest) } : {}),
            next_execution: next ? { scheduled_at: isoTime(next) } : null,
          },
        } satisfies Schemas['JobDetail'],
      };
    },

    setJobState: async ({ params, query, role }) => {
      const job = await s.scheduler.setJobState((params as JobPath).job_id, (query as StateQuery).state, role);
      return { status: 200, body: { job_id: job.job_id, state: job.state } satisfies Schemas['JobStateResult'] };
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
    ops[op.operationId] = async ({ query, body, caller, role }) => {
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
          { source: 'api', role },
        ),
      );
      return created(job);
    };
  }
  return ops;
}
