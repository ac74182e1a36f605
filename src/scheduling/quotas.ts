import type { Limits } from '../config/config.js';
import { limitDefaults } from '../config/config.js';
import type { Kwargs } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { FieldError } from './errors.js';

/** The quotas when the service is built without a configuration (tests of the core). */
export const defaultLimits: Limits = {
  maxKwargsBytes: limitDefaults.JOBS_MAX_KWARGS_BYTES,
  maxKwargsDepth: limitDefaults.JOBS_MAX_KWARGS_DEPTH,
  maxFlowDepth: limitDefaults.JOBS_MAX_FLOW_DEPTH,
  maxFlowRuns: limitDefaults.JOBS_MAX_FLOW_RUNS,
  maxQueuedRunsPerJob: limitDefaults.JOBS_MAX_QUEUED_RUNS_PER_JOB,
  maxQueuedRuns: limitDefaults.JOBS_MAX_QUEUED_RUNS,
  minIntervalSeconds: limitDefaults.JOBS_MIN_INTERVAL_SECONDS,
  maxRetries: limitDefaults.JOBS_MAX_RETRIES,
  maxRetryBackoffSeconds: limitDefaults.JOBS_MAX_RETRY_BACKOFF_SECONDS,
  pageMaxBytes: limitDefaults.JOBS_PAGE_MAX_BYTES,
  ledgerMaxFires: limitDefaults.JOBS_LEDGER_MAX_FIRES,
  ledgerMaxRangeSeconds: limitDefaults.JOBS_LEDGER_MAX_RANGE_SECONDS,
};

/** The nesting of objects and arrays in a JSON value, walked with a stack of its own, stopping past `max`. */
function depthOver(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= max) return true;
    for (const v of Array.isArray(value) ? value : Object.values(value)) stack.push([v, depth + 1]);
  }
  return false;
}

/** Field errors for kwargs larger than JOBS_MAX_KWARGS_BYTES as JSON or nested deeper than JOBS_MAX_KWARGS_DEPTH. */
export function kwargsQuotaErrors(kwargs: Kwargs, limits: Limits, at = 'kwargs'): FieldError[] {
  const bytes = Buffer.byteLength(JSON.stringify(kwargs) ?? '');
  if (bytes > limits.maxKwargsBytes) {
    return [{ field: at, reason: `is ${bytes} bytes as JSON; the limit is ${limits.maxKwargsBytes} (JOBS_MAX_KWARGS_BYTES)` }];
  }
  if (depthOver(kwargs, limits.maxKwargsDepth)) {
    return [{ field: at, reason: `nests objects and arrays deeper than ${limits.maxKwargsDepth} levels (JOBS_MAX_KWARGS_DEPTH)` }];
  }
  return [];
}

/** What a run of a handler with these kwargs leads to: its child runs over every level, and how deep they go. */
export interface FlowShape {
  runs: number;
  depth: number;
  /** Set when counting stopped at a limit: the field error naming it. */
  error?: FieldError;
}

/**
 * Counts the child runs a run would start (handlers that declare `children`), level by level,
 * and stops as soon as the depth passes JOBS_MAX_FLOW_DEPTH or the runs, `times` over,
 * pass JOBS_MAX_FLOW_RUNS: the work is bounded by the limits, not by the kwargs.
 */
export function flowShape(catalog: Catalog, handler: string, kwargs: Kwargs, limits: Limits, times = 1, at = 'kwargs'): FlowShape {
  let level: Array<{ handler: string; kwargs: Kwargs }> = [{ handler, kwargs }];
  let runs = 0;
  let depth = 0;
  for (;;) {
    const next: Array<{ handler: string; kwargs: Kwargs }> = [];
    for (const node of level) {
      const children = catalog.get(node.handler)?.children?.(node.kwargs) ?? [];
      runs += children.length;
      if (runs * times > limits.maxFlowRuns) {
        const reason =
          times > 1
            ? `would start more than ${limits.maxFlowRuns} child runs over ${times} runs; the limit is ${limits.maxFlowRuns} (JOBS_MAX_FLOW_RUNS)`
            : `would start more than ${limits.maxFlowRuns} child runs; the limit is ${limits.maxFlowRuns} (JOBS_MAX_FLOW_RUNS)`;
        return { runs, depth, error: { field: times > 1 ? 'times' : at, reason } };
      }
      next.push(...children);
    }
    if (next.length === 0) return { runs, depth };
    depth += 1;
    if (depth > limits.maxFlowDepth) {
      return { runs, depth, error: { field: at, reason: `nests flows more than ${limits.maxFlowDepth} levels deep (JOBS_MAX_FLOW_DEPTH)` } };
    }
    level = next;
  }
}
