import type { Logger } from '../../observability/log.js';
import { unreachable } from '../../db/errors.js';
import { RunEndsError } from '../../store/types.js';

/**
 * Beside a database that cannot be reached (`unreachable`, which also knows MongoDB's errors):
 * a full disk, a write chosen as a deadlock's or a serialisation's victim, a lock not granted,
 * and SQLSTATE classes 08 (connection), 53 (insufficient resources) and 58 (system error).
 */
const transientCodes = new Set(['ENOTFOUND', 'ENOSPC', '40P01', '40001', '55P03']);
const transientClasses = ['08', '53', '58'];

/** Whether trying the same write again later may succeed: the database was away, restarting, full, or the write was chosen as a deadlock's victim. */
export function isTransient(err: unknown): boolean {
  // Some runs of a batch written, others not: worth another try when one of theirs is.
  if (err instanceof RunEndsError) return [...err.failed.values()].some(isTransient);
  if (unreachable(err)) return true;
  const e = err as { code?: unknown; name?: string; message?: string } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (transientCodes.has(code) || transientClasses.some((c) => code.length === 5 && code.startsWith(c))) return true;
  if (e?.name === 'MongoWriteConcernError') return true;
  return /connection timeout|Client has encountered a connection error|Connection ended unexpectedly/i.test(e?.message ?? '');
}

export interface LandOptions {
  log: Logger;
  /** What is written, for the log: a message and its fields. */
  what: string;
  fields?: Record<string, unknown>;
  /** Longest wait between two tries, in ms. */
  maxDelayMs: number;
  /** True once the tries should end (the worker is shutting down past its grace). */
  stopped: () => boolean;
  /** Tries of an error that is not transient before it is thrown. */
  otherErrorTries?: number;
}

/**
 * Runs `fn` until it succeeds: after a transient error (the database away or restarting, a
 * deadlock) it waits, from 50 ms doubling up to `maxDelayMs` with jitter, and tries again for
 * as long as it takes, unless `stopped`; other errors are tried a few times, then thrown. `fn`
 * gets the number of the try, so a write whose first try may have landed unseen can check.
 */
export async function untilLanded<T>(fn: (attempt: number) => Promise<T>, options: LandOptions): Promise<T> {
  const { log, what, fields, maxDelayMs, stopped } = options;
  const otherTries = options.otherErrorTries ?? 3;
  let others = 0;
  let delay = 50;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await fn(attempt);
      if (attempt > 1) log.info({ ...fields, attempts: attempt }, `${what}: written after ${attempt} tries`);
      return result;
    } catch (err) {
      const transient = isTransient(err);
      if (!transient) others += 1;
      if (stopped() || (!transient && others >= otherTries)) {
        log.error({ ...fields, err, attempts: attempt }, `${what}: not written`);
        throw err;
      }
      // The first failure and then one in ten, so a long outage does not flood the log.
      if (attempt === 1 || attempt % 10 === 0) log.warn({ ...fields, err, attempts: attempt, retry_in_ms: delay }, `${what}: not written yet; trying again`);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
      delay = Math.min(maxDelayMs, delay * 2);
    }
  }
}

/** A unique key taken already (PostgreSQL 23505, MongoDB 11000). */
export function isDuplicateKey(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '23505' || code === 11000;
}
