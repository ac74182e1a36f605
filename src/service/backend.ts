import type { Config } from '../config/config.js';
import { openDatabase, type DatabaseTarget } from '../db/open.js';
import { limitPreparedStatements } from '../db/sql-client.js';
import { StorageWatch } from '../db/storage.js';
import type { EngineBackend } from '../engine/agenda.js';
import { configureAnalyze } from '../store/sql/analyze.js';
import { SqlStore } from '../store/sql/sql-store.js';
import type { Store } from '../store/types.js';

export interface OpenedStore {
  store: Store;
  /** The same database for the engine: Agenda's backend keeps its rows beside the store's. */
  engine: EngineBackend;
  /** Whether the database's storage takes writes, for readiness. */
  storage: StorageWatch;
}

function targetOf(config: Config): DatabaseTarget {
  if (config.storeKind === 'embedded') return { kind: 'embedded', dataDir: config.dataDir, sharedBuffers: config.embeddedSharedBuffers };
  if (config.storeKind === 'postgres') return { kind: 'postgres', url: config.databaseUrl!, retryMaxMs: config.dbRetryMaxMs, announceGapMs: config.announceGapMs };
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
      // The driver has no one place that sees every failed write: the failures the requests
      // meet are noted (HttpAppOptions.onStorageFault), and this write of its own clears them.
      const storage = new StorageWatch(async () => {
        const probe = db.collection<{ at: Date; pad: string }>('storage_probe');
        const { insertedId } = await probe.insertOne({ at: new Date(), pad: 'x'.repeat(64 * 1024) });
        await probe.deleteOne({ _id: insertedId });
      });
      return { store: new MongoStore(client, db), engine: { kind: 'mongo', db, changeStreams }, storage };
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }
  const { kind, sql, storage } = database;
  configureAnalyze(sql, config.analyzeAfterRows);
  limitPreparedStatements(config.preparedStatements);
  return { store: new SqlStore(kind, sql), engine: { kind: 'sql', sql, embedded: kind === 'embedded' }, storage };
}
