import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import type { Store } from '../store/types.js';
import type { Schemas, Services } from './context.js';
import { isoTime } from './iso-time.js';

type SetQuery = operations['setServiceState']['parameters']['query'];

/** Who paused the service when it was paused at boot by JOB_SERVICE_PAUSED. */
export const pausedAtBoot = 'JOB_SERVICE_PAUSED';

/**
 * Since when and by whom the service is paused, as stored with the pause: the token's name,
 * `anonymous` without one, `JOB_SERVICE_PAUSED` for a boot that paused it; nulls for a pause
 * older than that record. Nothing while running.
 */
export async function pauseOf(store: Store, state: Schemas['ServiceState']): Promise<{ paused_at?: string | null; paused_by?: string | null }> {
  if (state !== 'paused') return {};
  const pause = await store.getServicePause();
  return { paused_at: pause?.paused_at ? isoTime(pause.paused_at) : null, paused_by: pause?.paused_by ?? null };
}

/** The service state, with since when and by whom while paused. */
export async function serviceStateBody(store: Store, state: Schemas['ServiceState']): Promise<Schemas['ServiceStateBody']> {
  return { state, ...(await pauseOf(store, state)) };
}

export function serviceOperations(s: Services): Record<string, Operation> {
  return {
    getServiceState: async () => ({ status: 200, body: await serviceStateBody(s.store, await s.scheduler.getServiceState()) }),
    getCaller: ({ caller, role }) => ({
      status: 200,
      body: { name: caller, role: role ?? 'admin', tokens_checked: role !== null } satisfies Schemas['Caller'],
    }),
    setServiceState: async ({ query, caller }) => {
      const { state } = query as SetQuery;
      return { status: 200, body: { state: await s.scheduler.setServiceState(state, caller ?? 'anonymous') } satisfies Schemas['ServiceStateBody'] };
    },
  };
}
