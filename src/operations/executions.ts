import type { Operation } from '../http/app.js';
import type { operations } from '../generated/openapi.js';
import { Problem } from '../problem.js';
import { CursorError } from '../store/cursor.js';
import type { ExecutionFilter, Page, ExecutionRecord } from '../store/types.js';
import { executionBody, type Schemas, type Services } from './context.js';

type ListQuery = NonNullable<operations['listExecutions']['parameters']['query']>;
type JobListQuery = NonNullable<operations['listJobExecutions']['parameters']['query']>;
type ExecutionPath = operations['getExecution']['parameters']['path'];

export function executionOperations(s: Services): Record<string, Operation> {
  const list = async (filter: ExecutionFilter, cursor: string | undefined, limit: number | undefined) => {
    let page: Page<ExecutionRecord>;
    try {
      page = await s.store.listExecutions(filter, cursor ?? null, limit ?? 100);
    } catch (err) {
      if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
      throw err;
    }
    return { status: 200, body: { executions: page.items.map(executionBody), next_cursor: page.next } satisfies Schemas['ExecutionList'] };
  };
  const find = async (id: string) => {
    const e = await s.store.getExecution(id);
    if (!e) throw new Problem(404, 'Execution not found', `no execution with id '${id}'`);
    return e;
  };
  return {
    listExecutions: ({ query }) => {
      const q = query as ListQuery;
      return list({ job_id: q.job_id, status: q.status, parent_id: q.parent_id }, q.cursor, q.limit);
    },
    listJobExecutions: async ({ params, query }) => {
      const q = query as JobListQuery;
      const jobId = (params as { job_id: string }).job_id;
      await s.scheduler.getJob(jobId);
      return list({ job_id: jobId, status: q.status }, q.cursor, q.limit);
    },
    getExecution: async ({ params }) => ({ status: 200, body: executionBody(await find((params as ExecutionPath).execution_id)) }),
    getExecutionOutput: async ({ params }) => {
      const e = await find((params as ExecutionPath).execution_id);
      return { status: 200, body: { execution_id: e.id, lines: e.output, truncated: e.output_truncated } satisfies Schemas['ExecutionOutput'] };
    },
  };
}
