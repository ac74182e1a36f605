import pg from 'pg';
import { ConfigError } from '../config/config.js';
import { PgClient, type PgClientOptions } from './sql-client.js';
import { pgTypes } from './timestamps.js';

/**
 * Splits an optional `schema` parameter off a PostgreSQL URL: every table of the service then
 * lives in that schema (created when missing), so one database can hold
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
 * A pool on the PostgreSQL server a URL names, its connections' search_path set to the URL's
 * schema (created first when missing), timestamptz values parsed by the fast parser.
 */
export async function openPostgres(url: string, options: PgClientOptions = { retryMaxMs: 5000 }): Promise<PgClient> {
  const { connectionString, schema } = postgresTarget(url);
  if (schema) {
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  return new PgClient(
    new pg.Pool({
      connectionString,
      max: 10,
      connectionTimeoutMillis: 5000,
      types: pgTypes,
      ...(schema ? { options: `-c search_path="${schema}"` } : {}),
    }),
    options,
  );
}
