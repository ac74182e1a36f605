import type { Db, MongoClient } from 'mongodb';
import { ConfigError } from '../config/config.js';

/**
 * The database a MongoDB URL names: its path (`mongodb://host/NAME?...`), `jobs` when it has
 * none. Read from the text because the driver's own default is `test` and cannot be told
 * from a `test` that was written.
 */
export function mongoDatabase(url: string): string {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?#]*(?:\/([^?#]*))?/.exec(url);
  const name = m?.[1] ? decodeURIComponent(m[1]) : '';
  if (name === '') return 'jobs';
  if (/[/\\. "$\0]/.test(name) || name.length > 63) {
    throw new ConfigError('DATABASE_URL', `'${name}' is not a MongoDB database name`);
  }
  return name;
}

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  /** Whether the server has change streams (a replica set or a sharded cluster). */
  changeStreams: boolean;
}

/** Connects to the MongoDB server a URL names and checks that it is recent enough. */
export async function openMongo(url: string): Promise<MongoConnection> {
  // Loaded only here: the MongoDB driver costs tens of MB that the other stores do not need.
  const { MongoClient } = await import('mongodb');
  const database = mongoDatabase(url);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    const db = client.db(database);
    const hello = await db.admin().command({ hello: 1 });
    // 6.0 (wire version 17) is the first with $in in partial index filters (execution_active_idx, worker_alive_idx).
    if (typeof hello.maxWireVersion === 'number' && hello.maxWireVersion < 17) {
      throw new ConfigError('DATABASE_URL', 'the MongoDB server is older than 6.0, the oldest this store supports');
    }
    // A replica set member answers with its set's name, a mongos with 'isdbgrid': both have
    // change streams. A standalone server has neither, and its workers poll.
    const changeStreams = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
    return { client, db, changeStreams };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The driver's errors that say the server cannot be reached or cannot take writes now, by
 * class: each subclass counts too (MongoNetworkTimeoutError is a MongoNetworkError,
 * PoolClearedOnNetworkError a MongoPoolClearedError).
 */
const unavailableClasses = new Set([
  'MongoNetworkError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoServerClosedError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoClientClosedError',
  'MongoOperationTimeoutError',
]);

/** Labels the driver or the server puts on an error worth retrying once the deployment is back. */
const unavailableLabels = ['RetryableWriteError', 'ResetPool', 'PoolRequestedRetry', 'SystemOverloadedError', 'TransientTransactionError'];

/**
 * Server codes of a node going away, stepping down or not (yet) primary, and of the network
 * between (the driver's retryable codes and its not-primary and recovering codes).
 */
const unavailableCodes = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** The names of an error's classes, its own first (the driver's classes each answer `name` with their own). */
function classNames(err: object): string[] {
  const names: string[] = [];
  for (let p: object | null = Object.getPrototypeOf(err); p && p !== Error.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/**
 * Whether a MongoDB driver error means the database is unavailable for now (503), not that
 * the request or the code is wrong. Told by class names, labels and codes, without loading
 * the driver: it is loaded only for a MongoDB URL.
 */
export function isMongoUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (unavailableClasses.has(err.name) || classNames(err).some((n) => unavailableClasses.has(n))) return true;
  const labelled = err as Error & { hasErrorLabel?: (label: string) => boolean };
  if (typeof labelled.hasErrorLabel === 'function' && unavailableLabels.some((l) => labelled.hasErrorLabel!(l))) return true;
  // The server's code, or that of the write concern error a MongoWriteConcernError carries.
  const codes = [(err as { code?: unknown }).code, (err as { writeConcernError?: { code?: unknown } }).writeConcernError?.code];
  return codes.some((c) => c !== undefined && c !== null && unavailableCodes.has(Number(c)));
}
