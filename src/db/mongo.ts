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
