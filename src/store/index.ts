import fs from 'node:fs/promises';
import pg from 'pg';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { PGliteClient, PgClient, type SqlClient } from './sql/client.js';
import { SqlStore } from './sql/sql-store.js';
import type { Store } from './types.js';

export interface OpenedStore {
  store: Store;
  /** The SQL connection, for Agenda's PostgreSQL backend on the same database. */
  sql: SqlClient;
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

export async function openStore(config: Config): Promise<OpenedStore> {
  if (config.storeKind === 'mongodb') {
    throw new ConfigError('DATABASE_URL', 'mongodb:// is not supported by this build; use postgres:// or leave it unset');
  }
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
        ...(schema ? { options: `-c search_path="${schema}"` } : {}),
      }),
    );
  }
  return { store: new SqlStore(config.storeKind, sql), sql };
}
