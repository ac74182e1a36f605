import type { Operation } from './types.js';
import type { Services } from './context.js';
import { problemOf } from './domain-problems.js';
import { documentOperations } from './document.js';
import { executionOperations } from './executions.js';
import { handlerOperations } from './handlers.js';
import { healthOperations } from './health.js';
import { jobOperations } from './jobs.js';
import { monitoringOperations } from './monitoring.js';
import { scheduleOperations } from './schedules.js';
import { notificationOperations } from './notifications.js';
import { secretOperations } from './secrets.js';
import { serviceOperations } from './service.js';
import { workerOperations } from './workers.js';

export type { Services } from './context.js';

/**
 * Every operation, keyed by operationId; the HTTP layer checks them against openapi.yaml.
 * An error of the scheduling core that an operation did not turn into a Problem itself (a
 * job, run or worker not found, gone or in conflict: errors that name no field) becomes one
 * here, so only Problems leave this layer.
 */
export function buildOperations(s: Services): Record<string, Operation> {
  const ops: Record<string, Operation> = {
    ...healthOperations(s),
    ...serviceOperations(s),
    ...jobOperations(s),
    ...scheduleOperations(s),
    ...executionOperations(s),
    ...handlerOperations(s),
    ...workerOperations(s),
    ...documentOperations(s),
    ...monitoringOperations(s),
    ...secretOperations(s),
    ...notificationOperations(s),
  };
  for (const [id, op] of Object.entries(ops)) {
    ops[id] = async (input) => {
      try {
        return await op(input);
      } catch (err) {
        throw problemOf(err);
      }
    };
  }
  return ops;
}
