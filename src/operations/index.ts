import type { Operation } from './types.js';
import type { Services } from './context.js';
import { documentOperations } from './document.js';
import { executionOperations } from './executions.js';
import { handlerOperations } from './handlers.js';
import { healthOperations } from './health.js';
import { jobOperations } from './jobs.js';
import { monitoringOperations } from './monitoring.js';
import { serviceOperations } from './service.js';
import { workerOperations } from './workers.js';

export type { Services } from './context.js';

/** Every operation, keyed by operationId; the HTTP layer checks them against openapi.yaml. */
export function buildOperations(s: Services): Record<string, Operation> {
  return {
    ...healthOperations(s),
    ...serviceOperations(s),
    ...jobOperations(s),
    ...executionOperations(s),
    ...handlerOperations(s),
    ...workerOperations(s),
    ...documentOperations(s),
    ...monitoringOperations(s),
  };
}
