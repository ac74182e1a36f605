import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import type { Schemas, Services } from './context.js';

type SetQuery = operations['setServiceState']['parameters']['query'];

export function serviceOperations(s: Services): Record<string, Operation> {
  return {
    getServiceState: async () => ({ status: 200, body: { state: await s.scheduler.getServiceState() } satisfies Schemas['ServiceStateBody'] }),
    setServiceState: async ({ query }) => {
      const { state } = query as SetQuery;
      return { status: 200, body: { state: await s.scheduler.setServiceState(state) } satisfies Schemas['ServiceStateBody'] };
    },
  };
}
