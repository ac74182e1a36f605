import type { Operation } from './types.js';
import { followOutput } from './streams.js';
import type { operations } from '../generated/openapi.js';
import { Problem } from './problem.js';
import { inBody, locating, type Locate } from './domain-problems.js';
import { CursorError } from '../store/cursor.js';
import type { ExecutionFilter, ExecutionRecord, Page } from '../store/types.js';
import { executionBody, queryDate, type Schemas, type Services } from './context.js';
import { isoTime, isoOrNull } from './iso-time.js';
import { redactText } from '../observability/redact.js';
import { checkRunOverrides, checkSecretRefs } from './secrets.js';
import { pageWithin } from './quotas.js';

type ListQuery = NonNullable<operations['listExecutions']['parameters']['query']>;
type JobListQuery = NonNullable<operations['listJobExecutions']['parameters']['query']>;
type ExecutionPath = operations['getExecution']['parameters']['path'];
type RunBody = NonNullable<operations['runJob']['requestBody']>['content']['application/json'];
type BatchPath = operations['getBatch']['parameters']['path'];

/** A manual run's fields: the job from the path, the kwargs from the body. */
const runFields: Locate = (f) => (f === 'job_id' ? 'path.job_id' : inBody(f));

export function executionOperations(s: Services): Record<string, Operation> {
  const list = async (filter: ExecutionFilter, cursor: string | undefined, limit: number | undefined) => {
    let page: Page<ExecutionRecord>;
    try {
      page = await s.store.listExecutions(filter, cursor ?? null, limit ?? 100);
    } catch (err) {
      if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
      throw err;
    }
    const shown = pageWithin(page, executionBody, s.config.limits.pageMaxBytes);
    return { status: 200, body: { executions: shown.items, next_cursor: shown.next } satisfies Schemas['ExecutionList'] };
  };
  const find = async (id: string) => {
    const e = await s.store.getExecution(id);
    if (!e) throw new Problem(404, 'Execution not found', `no execution with id '${id}'`);
    return e;
  };
  return {
    listExecutions: ({ query }) => {
      const q = query as ListQuery;
      return list(
        {
          job_id: q.job_id,
          status: q.status,
          parent_id: q.parent_id,
          handler: q.handler,
          batch_id: q.batch_id,
          since: queryDate('query.since', q.since),
          until: queryDate('query.until', q.until),
        },
        q.cursor,
        q.limit,
      );
    },
    listJobExecutions: async ({ params, query }) => {
      const q = query as JobListQuery;
      const jobId = (params as { job_id: string }).job_id;
      await s.scheduler.getJob(jobId);
      return list({ job_id: jobId, status: q.status }, q.cursor, q.limit);
    },
    runJob: async ({ params, body, caller, role }) => {
      const b = (body ?? {}) as RunBody;
      const jobId = (params as { job_id: string }).job_id;
      await checkSecretRefs(s, b.kwargs, 'body.kwargs', caller);
      await checkRunOverrides(s, jobId, b.kwargs, caller);
      const { executions, batchId } = await locating(runFields, () => s.scheduler.runNow(jobId, b.kwargs, b.times ?? 1, role));
      const location = batchId ? `/api/v1/batches/${batchId}` : `/api/v1/executions/${executions[0].id}`;
      return {
        status: 202,
        headers: { Location: location },
        body: { execution_ids: executions.map((e) => e.id), batch_id: batchId } satisfies Schemas['RunAccepted'],
      };
    },
    getExecution: async ({ params }) => ({ status: 200, body: executionBody(await find((params as ExecutionPath).execution_id)) }),
    getExecutionOutput: async (input) => {
      const id = (input.params as ExecutionPath).execution_id;
      if ((input.query as { follow?: boolean }).follow === true) return followOutput(s, input, id);
      const e = await find(id);
      return { status: 200, body: { execution_id: e.id, lines: e.output.map(redactText), truncated: e.output_truncated } satisfies Schemas['ExecutionOutput'] };
    },
    cancelExecution: async ({ params, role }) => {
      const { execution, immediate } = await s.scheduler.cancelExecution((params as ExecutionPath).execution_id, role);
      return { status: immediate ? 200 : 202, body: executionBody(execution) };
    },
    getBatch: async ({ params }) => {
      const id = (params as BatchPath).batch_id;
      const b = await s.store.batchSummary(id);
      if (!b) throw new Problem(404, 'Batch not found', `no batch with id '${id}'`);
      return {
        status: 200,
        body: {
          batch_id: b.batch_id,
          job_id: b.job_id,
          total: b.total,
          counts: b.counts as Record<string, number>,
          submitted_at: isoTime(b.submitted_at),
          started_at: isoOrNull(b.started_at),
          finished_at: isoOrNull(b.finished_at),
          duration_ms: b.started_at && b.finished_at ? b.finished_at.getTime() - b.started_at.getTime() : null,
        } satisfies Schemas['Batch'],
      };
    },
  };
}
