import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/log.js';
import { pauseOf, pausedAtBoot } from '../operations/service.js';
import type { ServiceState, Store } from '../store/types.js';

/**
 * Sets the state JOB_SERVICE_PAUSED asks for at boot, paused by `JOB_SERVICE_PAUSED`. A change
 * is audited like the call it stands for (method BOOT).
 */
export async function applyBootState(store: Store, state: ServiceState): Promise<void> {
  if ((await store.getServiceState()) === state) return;
  await store.setServiceState(state, pausedAtBoot);
  if (state === 'paused') await store.startPause(null, new Date());
  else await store.endPause(null, new Date());
  await store.insertAudits([
    {
      id: randomUUID(),
      time: new Date(),
      request_id: null,
      token_name: null,
      operation: 'setServiceState',
      method: 'BOOT',
      path: '/api/v1/service/state',
      job_id: null,
      execution_id: null,
      worker_id: null,
      batch_id: null,
      status: 200,
      outcome: 'success',
      client_address: null,
      count: 1,
    },
  ]);
}

/** A paused service runs nothing and looks healthy: every boot while paused says so, and how to resume. */
export async function warnWhenPaused(store: Store, log: Logger, state: ServiceState, apiUrl: string): Promise<void> {
  if (state !== 'paused') return;
  const resume = `curl -X PUT '${apiUrl}/service/state?state=running'`;
  log.warn({ ...(await pauseOf(store, state)), resume }, `the service is paused: no run will start on any worker until it is resumed (${resume}, or jobsctl service resume)`);
}
