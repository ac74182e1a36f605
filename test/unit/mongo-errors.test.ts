/**
 * Which MongoDB driver errors answer 503 (the database is unavailable for now) rather than 500:
 * the driver's own error classes, constructed as the driver constructs them (no server needed).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import {
  MongoClientClosedError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';
import { isMongoUnavailable } from '../../src/db/mongo.js';

// The pool's errors are the driver's but not exported from its entry point.
type PoolError = new (...args: unknown[]) => Error;
const driver = createRequire(import.meta.url);
const cmap = driver('mongodb/lib/cmap/errors.js') as Record<string, PoolError>;
// What a server selection timeout carries: the topology the driver saw, with no server in it.
const { TopologyDescription } = driver('mongodb/lib/sdam/topology_description.js') as {
  TopologyDescription: new (type: string) => ConstructorParameters<typeof MongoServerSelectionError>[1];
};
const pool = { address: '127.0.0.1:27017', serverError: new Error('connection reset') };

const serverError = (fields: Record<string, unknown>) => new MongoServerError({ errmsg: 'server said no', ...fields });

describe('MongoDB driver errors: unavailable (503) or not (500)', () => {
  const unavailable: Array<[string, unknown]> = [
    ['MongoNetworkError', new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')],
    ['MongoNetworkTimeoutError', new MongoNetworkTimeoutError('connection timed out')],
    ['MongoServerSelectionError', new MongoServerSelectionError('Server selection timed out after 5000 ms', new TopologyDescription('Unknown'))],
    ['MongoPoolClearedError', new cmap.PoolClearedError(pool)],
    ['PoolClearedOnNetworkError', new cmap.PoolClearedOnNetworkError(pool)],
    ['MongoWaitQueueTimeoutError', new cmap.WaitQueueTimeoutError('Timed out while checking out a connection from connection pool', '127.0.0.1:27017')],
    ['MongoPoolClosedError', new cmap.PoolClosedError({ address: '127.0.0.1:27017' })],
    ['MongoServerClosedError', new MongoServerClosedError()],
    ['MongoTopologyClosedError', new MongoTopologyClosedError()],
    ['MongoNotConnectedError', new MongoNotConnectedError('not connected')],
    ['MongoClientClosedError', new MongoClientClosedError()],
    ['MongoOperationTimeoutError', new MongoOperationTimeoutError('timed out')],
    ['NotWritablePrimary (10107)', serverError({ code: 10107, codeName: 'NotWritablePrimary' })],
    ['NotPrimaryNoSecondaryOk (13435)', serverError({ code: 13435 })],
    ['NotPrimaryOrSecondary (13436)', serverError({ code: 13436 })],
    ['LegacyNotPrimary (10058)', serverError({ code: 10058 })],
    ['InterruptedAtShutdown (11600)', serverError({ code: 11600, codeName: 'InterruptedAtShutdown' })],
    ['InterruptedDueToReplStateChange (11602)', serverError({ code: 11602 })],
    ['ShutdownInProgress (91)', serverError({ code: 91 })],
    ['PrimarySteppedDown (189)', serverError({ code: 189 })],
    ['HostUnreachable (6)', serverError({ code: 6 })],
    ['HostNotFound (7)', serverError({ code: 7 })],
    ['NetworkTimeout (89)', serverError({ code: 89 })],
    ['SocketException (9001)', serverError({ code: 9001 })],
    ['ExceededTimeLimit (262)', serverError({ code: 262 })],
    ['a RetryableWriteError label on an unknown code', serverError({ code: 424242, errorLabels: ['RetryableWriteError'] })],
    ['a SystemOverloadedError label', serverError({ code: 424243, errorLabels: ['SystemOverloadedError'] })],
    ['a write concern error of a stepping-down primary', new MongoWriteConcernError({ ok: 1, writeConcernError: { code: 189, errmsg: 'primary stepped down' } })],
  ];
  for (const [name, err] of unavailable) {
    it(`${name}: unavailable`, () => assert.equal(isMongoUnavailable(err), true));
  }

  const notUnavailable: Array<[string, unknown]> = [
    ['a duplicate key (11000)', serverError({ code: 11000, codeName: 'DuplicateKey' })],
    ['a document validation failure (121)', serverError({ code: 121 })],
    ['a document too large (10334)', serverError({ code: 10334, codeName: 'BSONObjectTooLarge' })],
    ['a write concern error that is not about availability', new MongoWriteConcernError({ ok: 1, writeConcernError: { code: 100, errmsg: 'unsatisfiable' } })],
    ['MongoInvalidArgumentError', new MongoInvalidArgumentError('bad option')],
    ['a plain Error', new Error('ECONNREFUSED')],
    ['a TypeError', new TypeError('x is undefined')],
    ['not an error', { name: 'MongoNetworkError', code: 6 }],
    ['undefined', undefined],
  ];
  for (const [name, err] of notUnavailable) {
    it(`${name}: not unavailable`, () => assert.equal(isMongoUnavailable(err), false));
  }
});
