/**
 * Client-side statement statistics for the bench's --profile: every query sent through
 * node-postgres (pg.Client.prototype.query: the service's pool, Agenda's backend, the
 * notification listener) or to an embedded PGlite (PGliteClient.prototype.query) counted and
 * timed by its text. Round trips per run, without pg_stat_statements on the server.
 */
import pg from 'pg';
import { PGliteClient } from '../../src/db/sql-client.js';

interface Stat {
  calls: number;
  ms: number;
}

const stats = new Map<string, Stat>();

export function installSqlStats() {
  wrap(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown });
  wrap(PGliteClient.prototype as unknown as { query: (...args: unknown[]) => unknown });
}

function wrap(proto: { query: (...args: unknown[]) => unknown }) {
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const text = typeof q === 'string' ? q : (q as { text?: string } | null)?.text;
    if (!text) return original.apply(this, args);
    // String literals (NOTIFY payloads) differ per call: count the statement, not the payload.
    const key = text
      .replace(/'(?:[^']|'')*'/g, "'…'")
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 300);
    const t0 = performance.now();
    const done = () => {
      const s = stats.get(key) ?? { calls: 0, ms: 0 };
      s.calls += 1;
      s.ms += performance.now() - t0;
      stats.set(key, s);
    };
    const cb = args.findIndex((a) => typeof a === 'function');
    if (cb >= 0) {
      const fn = args[cb] as (...a: unknown[]) => unknown;
      args[cb] = (...a: unknown[]) => {
        done();
        return fn(...a);
      };
      return original.apply(this, args);
    }
    const r = original.apply(this, args) as Promise<unknown> | undefined;
    if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(done, done);
    return r;
  };
}

/** The statements by total client-side time; `reset` starts counting afresh. */
export function takeSqlStats(reset: boolean) {
  const list = [...stats].map(([text, s]) => ({ text, calls: s.calls, ms: Math.round(s.ms), avg_ms: Math.round((s.ms / s.calls) * 100) / 100 }));
  list.sort((a, b) => b.ms - a.ms);
  if (reset) stats.clear();
  return list;
}
