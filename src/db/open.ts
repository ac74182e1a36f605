import { openEmbedded } from './embedded.js';
import { openMongo, type MongoConnection } from './mongo.js';
import { openPostgres } from './postgres.js';
import type { SqlClient } from './sql-client.js';
import type { StorageWatch } from './storage.js';

/** Where the data lives: the one choice of a deployment (no URL, `postgres://`, `mongodb://`). */
export type DatabaseTarget =
  { kind: 'embedded'; dataDir: string; sharedBuffers: string } | { kind: 'postgres'; url: string; retryMaxMs?: number; announceGapMs?: number } | { kind: 'mongodb'; url: string };

/** An open database: a SQL client (PostgreSQL, or PGlite for the embedded one) or a MongoDB connection. */
export type Database = { kind: 'embedded' | 'postgres'; sql: SqlClient; storage: StorageWatch } | ({ kind: 'mongodb' } & MongoConnection);

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  switch (target.kind) {
    case 'embedded': {
      const sql = await openEmbedded(target.dataDir, target.sharedBuffers);
      return { kind: 'embedded', sql, storage: sql.storage };
    }
    case 'postgres': {
      const sql = await openPostgres(target.url, { retryMaxMs: target.retryMaxMs ?? 5000, announceGapMs: target.announceGapMs });
      return { kind: 'postgres', sql, storage: sql.storage };
    }
    case 'mongodb':
      return { kind: 'mongodb', ...(await openMongo(target.url)) };
  }
}
