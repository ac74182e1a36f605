import { timeOrderedId } from '../store/ids.js';
import net from 'node:net';
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

/** At most `max` characters of `value`, the cut marked with an ellipsis and never inside a surrogate pair. */
export function capped(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = max - 1;
  if (/[\ud800-\udbff]/.test(value[cut - 1] ?? '')) cut -= 1;
  return `${value.slice(0, cut)}…`;
}

const plainAddress = (a: string | undefined): string | null => {
  if (!a) return null;
  const v = a.trim().replace(/^\[|\]$/g, '');
  const bare = v.toLowerCase().startsWith('::ffff:') && net.isIPv4(v.slice(7)) ? v.slice(7) : v;
  return net.isIP(bare) ? bare : null;
};

/**
 * The caller's address: the peer's, or when the peer is a trusted proxy (JOBS_TRUSTED_PROXIES),
 * the right-most address of X-Forwarded-For that is not one of them (a client can write the
 * left part of that header itself, so only what trusted proxies appended counts).
 */
export function clientAddressOf(peer: string | undefined, forwardedFor: string | undefined, trustedProxies: readonly string[]): string | null {
  const address = plainAddress(peer);
  if (!address || !trustedProxies.includes(address) || !forwardedFor) return address;
  const hops = forwardedFor.split(',').slice(-32);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]);
    if (!hop) return address;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return address;
}

/**
 * The audit record of a call: the ids it touched come from its path (job_id, execution_id,
 * worker_id, batch_id), from its answer (the job it created, the run or batch it queued) and,
 * for a job that was not created, from the job_id it asked for. The path is kept up to
 * `pathMaxLength` characters (JOBS_AUDIT_PATH_MAX_LENGTH).
 */
export function auditRecordOf(o: RequestOutcome, time = new Date(), pathMaxLength = 1000): AuditRecord {
  const body = (o.body && typeof o.body === 'object' && !Buffer.isBuffer(o.body) ? o.body : {}) as {
    job?: { job_id?: unknown };
    execution_ids?: unknown;
    batch_id?: unknown;
  };
  const runs = Array.isArray(body.execution_ids) ? body.execution_ids : [];
  // Only createJob carries the options in its body; the handler routes' bodies are kwargs.
  const asked = (o.operationId === 'createJob' && o.requestBody && typeof o.requestBody === 'object' ? o.requestBody : {}) as { job_id?: unknown };
  return {
    id: timeOrderedId(),
    time,
    request_id: o.requestId,
    token_name: o.principal?.name ?? null,
    operation: o.operationId!,
    method: o.method,
    path: capped(o.path, pathMaxLength),
    job_id: text(o.params.job_id) ?? text(body.job?.job_id) ?? text(o.query.job_id) ?? text(asked.job_id),
    // cancelExecution answers with the run itself; runJob with the ids it queued.
    execution_id: text(o.params.execution_id) ?? (runs.length === 1 ? text(runs[0]) : null),
    worker_id: text(o.params.worker_id),
    batch_id: text(o.params.batch_id) ?? text(body.batch_id),
    status: o.status,
    outcome: outcomeOf(o.status),
    client_address: o.clientAddress,
    count: 1,
    ...overridesOf(o),
  };
}

/**
 * Calls without a valid token (401) cost the caller nothing, so they are not stored one by one:
 * the first of a window for an operation and a client is written, and the others of that window
 * are counted into it when the window ends. Past `maxClients` clients in one window, further
 * ones share a record per operation with no address, so memory stays bounded too.
 */
export class DeniedCalls {
  private counted = new Map<string, { id: string; more: number; written: Promise<boolean> }>();
  private byId = new Map<string, { written: Promise<boolean> }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    windowMs: number,
    private readonly flush: (counts: Array<{ id: string; count: number }>) => Promise<void>,
    private readonly maxClients = 1000,
  ) {
    this.timer = setInterval(() => void this.endWindow(), windowMs);
    this.timer.unref();
  }

  /** The record to write for this call, or null when it is counted in a record of this window. */
  admit(record: AuditRecord): AuditRecord | null {
    let key = `${record.operation} ${record.client_address ?? ''}`;
    let admitted = record;
    if (!this.counted.has(key) && this.counted.size >= this.maxClients) {
      key = `${record.operation} `;
      admitted = { ...record, client_address: null };
    }
    const seen = this.counted.get(key);
    if (seen) {
      seen.more += 1;
      return null;
    }
    const entry = { id: admitted.id, more: 0, written: Promise.resolve(true) };
    this.counted.set(key, entry);
    this.byId.set(entry.id, entry);
    return admitted;
  }

  /** The write of a record admit() returned: its count is added only once it is stored. */
  track(id: string, write: Promise<unknown>) {
    const entry = this.byId.get(id);
    if (entry) {
      entry.written = write.then(
        () => true,
        () => false,
      );
    }
  }

  /** Ends the window: the calls counted in it are added to their records. */
  async endWindow(): Promise<void> {
    const ended = [...this.counted.values()].filter((c) => c.more > 0);
    this.counted = new Map();
    this.byId = new Map();
    // A record still being written (a slow store) gets its count once it is there; a lost one loses it.
    const stored = await Promise.all(ended.map((c) => c.written));
    const counts = ended.filter((_, i) => stored[i]).map((c) => ({ id: c.id, count: c.more }));
    if (counts.length) await this.flush(counts);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.endWindow();
  }
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
