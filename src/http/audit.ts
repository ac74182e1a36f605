import { randomUUID } from 'node:crypto';
import type { RequestOutcome } from './app.js';
import type { AuditOutcome, AuditRecord } from '../store/types.js';

/** Operations that read only are not audited; every other call is, whatever its outcome. */
export const audited = (o: Pick<RequestOutcome, 'operationId' | 'method'>) => o.operationId !== null && o.method !== 'GET' && o.method !== 'HEAD';

export function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return 'denied';
  if (status >= 500) return 'error';
  if (status >= 400) return 'rejected';
  return 'success';
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' && v.length <= 200 && !v.includes('\0') ? v : null);

/**
 * The audit record of a call: the ids it touched come from its path (job_id, execution_id,
 * worker_id, batch_id), from its answer (the job it created, the run or batch it queued) and,
 * for a job that was not created, from the job_id it asked for.
 */
export function auditRecordOf(o: RequestOutcome, time = new Date()): AuditRecord {
  const body = (o.body && typeof o.body === 'object' && !Buffer.isBuffer(o.body) ? o.body : {}) as {
    job?: { job_id?: unknown };
    execution_ids?: unknown;
    batch_id?: unknown;
  };
  const runs = Array.isArray(body.execution_ids) ? body.execution_ids : [];
  // Only createJob carries the options in its body; the handler routes' bodies are kwargs.
  const asked = (o.operationId === 'createJob' && o.requestBody && typeof o.requestBody === 'object' ? o.requestBody : {}) as { job_id?: unknown };
  return {
    id: randomUUID(),
    time,
    request_id: o.requestId,
    token_name: o.principal?.name ?? null,
    operation: o.operationId!,
    method: o.method,
    path: o.path,
    job_id: text(o.params.job_id) ?? text(body.job?.job_id) ?? text(o.query.job_id) ?? text(asked.job_id),
    // cancelExecution answers with the run itself; runJob with the ids it queued.
    execution_id: text(o.params.execution_id) ?? (runs.length === 1 ? text(runs[0]) : null),
    worker_id: text(o.params.worker_id),
    batch_id: text(o.params.batch_id) ?? text(body.batch_id),
    status: o.status,
    outcome: outcomeOf(o.status),
    ...overridesOf(o),
  };
}

/** Longest JSON of one override value kept in the audit, and most overrides named; the rest are counted. */
const overrideValueChars = 1000;
const overridesKept = 50;

/** The kwargs a run request gave to merge over the job's, accepted or refused (large values as their size). */
function overridesOf(o: RequestOutcome): { overrides?: Record<string, unknown> } {
  if (o.operationId !== 'runJob' || !o.requestBody || typeof o.requestBody !== 'object') return {};
  const kwargs = (o.requestBody as { kwargs?: unknown }).kwargs;
  if (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs)) return {};
  const kept: Record<string, unknown> = {};
  const entries = Object.entries(kwargs);
  for (const [k, v] of entries.slice(0, overridesKept)) {
    const chars = JSON.stringify(v ?? null).length;
    kept[[...k].slice(0, 200).join('')] = chars <= overrideValueChars ? v : `(${chars} characters of JSON, not kept)`;
  }
  if (entries.length > overridesKept) kept['(more)'] = `${entries.length - overridesKept} more overrides, not kept`;
  return { overrides: kept };
}
