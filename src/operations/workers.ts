import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import { Problem } from './problem.js';
import { CursorError } from '../store/cursor.js';
import type { WorkerRecord } from '../store/types.js';
import type { Schemas, Services } from './context.js';
import { isoTime } from './iso-time.js';
import { pauseOf } from './service.js';

type ListQuery = NonNullable<operations['listWorkers']['parameters']['query']>;
type WorkerPath = operations['getWorker']['parameters']['path'];
type StateQuery = operations['setWorkerState']['parameters']['query'];

export function workerBody(w: WorkerRecord): Schemas['Worker'] {
  return {
    ...w,
    started_at: isoTime(w.started_at),
    heartbeat_at: isoTime(w.heartbeat_at),
  };
}

export function workerOperations(s: Services): Record<string, Operation> {
  return {
    listWorkers: async ({ query }) => {
      const q = query as ListQuery;
      try {
        const page = await s.store.listWorkers(q.cursor ?? null, q.limit ?? 100);
        return { status: 200, body: { workers: page.items.map(workerBody), next_cursor: page.next } satisfies Schemas['WorkerList'] };
      } catch (err) {
        if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
        throw err;
      }
    },
    getWorker: async ({ params }) => {
      const id = (params as WorkerPath).worker_id;
      const w = await s.store.getWorker(id);
      if (!w) throw new Problem(404, 'Worker not found', `no worker with id '${id}'`);
      return { status: 200, body: workerBody(w) };
    },
    setWorkerState: async ({ params, query }) => {
      const w = await s.scheduler.setWorkerState((params as WorkerPath).worker_id, (query as StateQuery).state);
      return { status: 200, body: workerBody(w) };
    },
    getStats: async () => ({
      status: 200,
      body: { ...(await s.store.stats()), ...(await pauseOf(s.store, await s.store.getServiceState())) } satisfies Schemas['Stats'],
    }),
  };
}
