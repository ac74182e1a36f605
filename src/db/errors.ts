import { isMongoUnavailable } from './mongo.js';

/**
 * An error the SQL server answered a statement with (a SQLSTATE and a severity), not a lost
 * connection, a server going down nor an internal error (class XX, a FATAL or a PANIC, such as
 * a failure after the commit): the statement's own transaction wrote nothing. After those
 * others the statement may have committed before its answer was lost.
 */
export function refusedByServer(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown } | null | undefined;
  return (
    typeof e?.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(e.code) &&
    !/^(08|57|XX)/.test(e.code) &&
    typeof e.severity === 'string' &&
    e.severity !== 'FATAL' &&
    e.severity !== 'PANIC' &&
    !unreachable(err)
  );
}

/**
 * Whether an error says the database cannot be reached at the moment (refused, reset or
 * timed-out connections, a server shutting down or starting up, MongoDB's server selection):
 * what waiting and trying again can cure, unlike a wrong password or a bad statement.
 */
export function unreachable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'].includes(
      code,
    ) ||
    /Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode)/i.test(message) ||
    isMongoUnavailable(err)
  );
}
