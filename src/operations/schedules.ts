import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import { inBody, inQuery, locating, type Locate } from './domain-problems.js';
import { queryDate, type Schemas, type Services } from './context.js';
import { isoTime } from './iso-time.js';

type JobPath = operations['getNextFires']['parameters']['path'];
type NextFiresQuery = NonNullable<operations['getNextFires']['parameters']['query']>;
type PreviewBody = operations['previewSchedule']['requestBody']['content']['application/json'];
type BackfillBody = operations['backfillJob']['requestBody']['content']['application/json'];

/** A backfill's fields: the job from the path, the range from the body. */
const backfillFields: Locate = (f) => (f === 'job_id' ? 'path.job_id' : inBody(f));

/** When a job fires: its next fires, a preview of a schedule not yet saved, a backfill of a past range. */
export function scheduleOperations(s: Services): Record<string, Operation> {
  return {
    getNextFires: async ({ params, query }) => {
      const jobId = (params as JobPath).job_id;
      const count = (query as NextFiresQuery).count ?? 10;
      const { job, fires, ended } = await locating(inQuery, () => s.scheduler.nextFires(jobId, count));
      return {
        status: 200,
        body: { job_id: job.job_id, timezone: job.timezone, schedule_ended: ended, fires: fires.map(isoTime) } satisfies Schemas['NextFires'],
      };
    },

    previewSchedule: async ({ body }) => {
      const { count, ...fields } = body as PreviewBody;
      const fires = await locating(inBody, async () => s.scheduler.previewSchedule(fields, count ?? 10));
      return { status: 200, body: { fires: fires.map(isoTime) } satisfies Schemas['Fires'] };
    },

    backfillJob: async ({ params, body, role }) => {
      const jobId = (params as JobPath).job_id;
      const b = body as BackfillBody;
      const since = queryDate('body.since', b.since)!;
      const until = queryDate('body.until', b.until)!;
      const { executions, batchId } = await locating(backfillFields, () => s.scheduler.backfill(jobId, since, until, role));
      return {
        status: 202,
        ...(batchId ? { headers: { Location: `/api/v1/batches/${batchId}` } } : {}),
        body: { count: executions.length, batch_id: batchId, execution_ids: executions.map((e) => e.id) } satisfies Schemas['BackfillAccepted'],
      };
    },
  };
}
