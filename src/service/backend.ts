import type { Config } from '../config/config.js';
import { openDatabase, type DatabaseTarget } from '../db/open.js';
import type { StorageCheck } from '../db/storage.js';
import type { EngineBackend } from '../engine/agenda.js';
import { SqlStore } from '../store/sql/sql-store.js';
import type { Store } from '../store/types.js';

export interface OpenedStore {
  store: Store;
  /** The same database for the engine: Agenda's backend keeps its rows beside the store's. */
  engine: EngineBackend;
  /** Whether the database's storage takes writes, for readiness; absent where the store cannot tell (MongoDB). */
  storage?: StorageCheck;
}

function targetOf(config: Config): DatabaseTarget {
  if (config.storeKind === 'embedded') return { kind: 'embedded', dataDir: config.dataDir, sharedBuffers: config.embeddedSharedBuffers };
  if (config.storeKind === 'postgres') return { kind: 'postgres', url: config.databaseUrl!, retryMaxMs: config.dbRetryMaxMs };
  return { kind: config.storeKind, url: config.databaseUrl! };
}

/** Opens the database the configuration names, with the store and the engine's handle on it. */
export async function openStore(config: Config): Promise<OpenedStore> {
  const database = await openDatabase(targetOf(config));
  if (database.kind === 'mongodb') {
    const { client, db, changeStreams } = database;
    try {
      // Loaded only here: the MongoDB store pulls in the driver, which the other stores do not need.
      const { MongoStore } = await import('../store/mongo/mongo-store.js');
      return { store: new MongoStore(client, db), engine: { kind: 'mongo', db, changeStreams } };
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }
  const { kind, sql, storage } = database;
  return { store: new SqlStore(kind, sql), engine: { kind: 'sql', sql, embedded: kind === 'embedded' }, storage };
}
