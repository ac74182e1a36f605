import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import type { Store } from '../store/types.js';
import type { Schemas, Services } from './context.js';
import { isoTime } from './iso-time.js';

type SetQuery = operations['setServiceState']['parameters']['query'];

/** The audit records' method for a state set at boot by JOB_SERVICE_PAUSED. */
export const bootMethod = 'BOOT';

/**
 * Since when and by whom the service is paused: the newest successful setServiceState in the
 * audit log (while paused, the newest change of the state is the pause). The token's name,
 * `anonymous` without one, `JOB_SERVICE_PAUSED` for a boot that paused it; nulls when no
 * record says (older than the audit log, or its write failed). Nothing while running.
 */
export async function pauseOf(store: Store, state: Schemas['ServiceState']): Promise<{ paused_at?: string | null; paused_by?: string | null }> {
  if (state !== 'paused') return {};
  // Newest first: the first page holds it unless calls were refused in between.
  let cursor: string | null = null;
  for (;;) {
    const page = await store.listAudit({ operation: 'setServiceState' }, cursor, 50);
    const found = page.items.find((a) => a.outcome === 'success');
    if (found) {
      const by = found.method === bootMethod ? 'JOB_SERVICE_PAUSED' : (found.token_name ?? 'anonymous');
      return { paused_at: isoTime(found.time), paused_by: by };
    }
    if (!page.next || page.items.length === 0) break;
    cursor = page.next;
  }
  return { paused_at: null, paused_by: null };
}

/** The service state, with since when and by whom while paused. */
export async function serviceStateBody(store: Store, state: Schemas['ServiceState']): Promise<Schemas['ServiceStateBody']> {
  return { state, ...(await pauseOf(store, state)) };
}

export function serviceOperations(s: Services): Record<string, Operation> {
  return {
    getServiceState: async () => ({ status: 200, body: await serviceStateBody(s.store, await s.scheduler.getServiceState()) }),
    // The audit record of this very call is written after it answers, so a pause names its
    // own time and caller only from the next read on; the answer carries the state alone.
    setServiceState: async ({ query }) => {
      const { state } = query as SetQuery;
      return { status: 200, body: { state: await s.scheduler.setServiceState(state) } satisfies Schemas['ServiceStateBody'] };
    },
  };
}
