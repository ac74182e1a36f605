import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { Catalog, documentAjv } from './catalog.js';
import type { Config } from './config.js';
import { applyDefaultJobs } from './default-jobs.js';
import { Engine } from './engine/agenda.js';
import { createHttpApp } from './http/app.js';
import { createLogger, type Logger } from './log.js';
import { loadOpenApi } from './openapi.js';
import { buildOperations } from './operations/index.js';
import { Scheduler } from './scheduling/core.js';
import { Runner } from './scheduling/runner.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';

export interface Service {
  app: Koa;
  store: Store;
  scheduler: Scheduler;
  engine: Engine;
  log: Logger;
  /** Starts the HTTP server; resolves with the port it listens on. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  /** How often this process re-reads the service state set by other processes, in ms. */
  stateWatchInterval?: number;
}

/** Builds the whole service on its store: the boot sequence, in order. */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const log = options.log ?? createLogger(config.logLevel);
  const { doc, yaml } = loadOpenApi();
  const { store, sql } = await openStore(config);
  let started: Engine | undefined;
  try {
    const catalog = await Catalog.load(config.handlersDir, doc);
    catalog.compile(documentAjv(doc));

    const engine = new Engine(sql, {
      embedded: config.storeKind === 'embedded',
      pollInterval: config.pollInterval,
      lockLifetime: config.lockLifetime,
      maxConcurrency: config.concurrency,
      name: `${os.hostname()}:${process.pid}`,
      onError: (err, where) => log.warn({ err, where }, 'dispatch engine error'),
    });
    started = engine;
    await engine.init();
    const scheduler = new Scheduler(store, engine, catalog);
    new Runner(store, engine, catalog, log, { maxOutputLines: config.maxOutputLines }).defineAll();
    // The contract check comes before anything runs: a mismatch refuses the boot untouched.
    const app = await createHttpApp({
      doc,
      operations: buildOperations({ config, store, scheduler, catalog, doc, yaml }),
      log,
      bodyLimit: config.bodyLimit,
    });

    if (config.startPaused !== null) await store.setServiceState(config.startPaused ? 'paused' : 'running');
    const defaults = await applyDefaultJobs(config.defaultJobsDir, scheduler, store);
    log.info({ dir: config.defaultJobsDir, ...defaults }, 'default jobs applied');

    const state = await store.getServiceState();
    if (state === 'running') await engine.startProcessing();
    log.info({ store: config.storeKind, state, handlers: catalog.names() }, 'scheduler started');

    // Other processes on the same database may pause or resume the service: follow the
    // stored state.
    const watch = setInterval(() => {
      store
        .getServiceState()
        .then((s) => (s === 'paused' ? engine.stopProcessing() : engine.startProcessing()))
        .catch((err) => log.warn({ err }, 'cannot read the service state'));
    }, options.stateWatchInterval ?? 2000);
    watch.unref();

    let server: http.Server | undefined;

    return {
      app,
      store,
      scheduler,
      engine,
      log,
      listen: () =>
        new Promise((resolve, reject) => {
          server = http.createServer(app.callback());
          server.once('error', reject);
          server.listen(config.port, config.host, () => resolve((server!.address() as AddressInfo).port));
        }),
      close: async () => {
        clearInterval(watch);
        if (server) {
          const s = server;
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          });
        }
        await engine.close();
        await store.close();
      },
    };
  } catch (err) {
    await started?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
