/**
 * The store conformance suite: every method of the `Store` interface (src/store/types.ts),
 * tested directly against each store in `stores`, as its doc comment promises. Written once,
 * one factory per record store (test/store/); a store added to test/helpers.ts runs it too.
 *
 * One database per store, shared by the tests of that store, which run in order: the first
 * factory starts on an empty store, the last pages through what the others left. So that
 * they do not see each other's records, every test uses ids and times of its own (see
 * test/store/fixtures.ts).
 */
import { after, before, describe } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { openStore } from '../src/service/backend.js';
import type { EngineBackend } from '../src/engine/index.js';
import type { Store } from '../src/store/types.js';
import { noticeSkippedStores, stores, testDatabase, type TestDatabase } from './helpers.js';
import { auditStoreContract } from './store/audit.js';
import { badCursorContract } from './store/cursors.js';
import { eventStoreContract } from './store/events.js';
import { executionStoreContract, queuedCountContract } from './store/executions.js';
import { runEndContract } from './store/run-ends.js';
import { failureStoreContract } from './store/failures.js';
import { historyStoreContract } from './store/history.js';
import { jobStoreContract } from './store/jobs.js';
import { sqlMigrationContract } from './store/migrations.js';
import { secretStoreContract } from './store/secrets.js';
import { serviceStateStoreContract, serviceStatsContract } from './store/service-state.js';
import { workerStoreContract } from './store/workers.js';

noticeSkippedStores();

for (const { name, skip } of stores) {
  describe(`store contract on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let store: Store;
    let backend: EngineBackend;
    let started = 0;
    const open = () => store;

    before(async () => {
      started = Date.now();
      db = await testDatabase(name);
      ({ store, engine: backend } = await openStore(loadConfig({ ...db.env, LOG_LEVEL: 'silent' })));
      await store.bootLock(() => store.migrate());
    });

    after(async () => {
      await store?.close();
      await db?.drop();
      console.log(`# store contract on ${name}: ${Date.now() - started} ms`);
    });

    serviceStateStoreContract(open);
    jobStoreContract(open);
    executionStoreContract(open);
    runEndContract(open, () => backend);
    failureStoreContract(open);
    workerStoreContract(open);
    serviceStatsContract(open);
    queuedCountContract(open);
    auditStoreContract(open);
    secretStoreContract(open);
    historyStoreContract(open);
    badCursorContract(open);
    eventStoreContract(open);
  });

  if (name !== 'mongodb') {
    describe(`SQL migrations on ${name}`, { skip }, () => sqlMigrationContract(name));
  }
}
