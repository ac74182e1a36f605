import fs from 'node:fs/promises';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import type { EngineBackend } from '../engine/agenda.js';
import { PGliteClient, PgClient, type SqlClient } from '../db/sql-client.js';
import { pgTypes } from './sql/timestamps.js';
import { SqlStore } from './sql/sql-store.js';
import type { Store } from './types.js';

export interface OpenedStore {
  store: Store;
  /** The same database for the engine: Agenda's backend keeps its rows beside the store's. */
  engine: EngineBackend;
}

/**
 * Splits an optional `schema` parameter off a PostgreSQL URL: every table of the service and
 * of Agenda then lives in that schema (created when missing), so one database can hold
 * several deployments or test runs side by side.
 */
export function postgresTarget(url: string): { connectionString: string; schema: string | null } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('DATABASE_URL', `schema must be a lower-case SQL identifier, got '${schema}'`);
  }
  return { connectionString: u.toString(), schema };
}

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

async function openMongo(url: string): Promise<OpenedStore> {
  // Loaded only here: the MongoDB driver costs tens of MB that the other stores do not need.
  const [{ MongoClient }, { MongoStore }] = await Promise.all([import('mongodb'), import('./mongo/mongo-store.js')]);
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
    return { store: new MongoStore(client, db), engine: { kind: 'mongo', db, changeStreams } };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

export async function openStore(config: Config): Promise<OpenedStore> {
  if (config.storeKind === 'mongodb') return openMongo(config.databaseUrl!);
  let sql: SqlClient;
  if (config.storeKind === 'embedded') {
    await fs.mkdir(config.dataDir, { recursive: true });
    sql = await PGliteClient.open(config.dataDir, config.embeddedSharedBuffers);
  } else {
    const { connectionString, schema } = postgresTarget(config.databaseUrl!);
    if (schema) {
      const admin = new pg.Client({ connectionString });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      } finally {
        await admin.end();
      }
    }
    sql = new PgClient(
      new pg.Pool({
        connectionString,
        max: 10,
        connectionTimeoutMillis: 5000,
        types: pgTypes,
        ...(schema ? { options: `-c search_path="${schema}"` } : {}),
      }),
    );
  }
  return { store: new SqlStore(config.storeKind, sql), engine: { kind: 'sql', sql, embedded: config.storeKind === 'embedded' } };
}
