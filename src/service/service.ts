import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import jsYaml from 'js-yaml';
import type Koa from 'koa';
import { auditRecordOf, audited, DeniedCalls } from '../http/audit.js';
import { Catalog, documentAjv } from '../scheduling/catalog.js';
import { projectRoot, type Config } from '../config/config.js';
import { applyDefaultJobs, checkDefaultJobsAtBoot, serviceUrl, type CheckedDefaultJobs } from './default-jobs.js';
import { createEngine, type Engine } from '../engine/index.js';
import { createHttpApp, type RequestOutcome } from '../http/app.js';
import { Authenticator } from '../http/auth.js';
import { createLogger, type Logger } from '../observability/log.js';
import { Metrics } from '../operations/metrics.js';
import { loadOpenApi, type OpenApiOperation } from '../contract/openapi.js';
import { buildOperations } from '../operations/index.js';
import { Coalescer } from '../db/coalescer.js';
import { Scheduler } from '../scheduling/core.js';
import { Runner } from '../scheduling/runner.js';
import { Notifier } from '../notifications/notifier.js';
import { openStore } from './backend.js';
import { SqlStore } from '../store/sql/sql-store.js';
import { TableVacuum } from '../store/sql/vacuum.js';
import type { AuditRecord, Store } from '../store/types.js';
import { applyBootState, warnWhenPaused } from './paused.js';
import { OutageLog } from './outage.js';
import { LostWorkerMonitor, WorkerAgent } from './worker.js';
import { EventHub } from '../scheduling/events/hub.js';
import { EventPublisher, publishingEngine, publishingStore } from '../scheduling/events/publish.js';
import { SseStreams } from '../operations/sse.js';

export interface Service {
  app: Koa;
  store: Store;
  scheduler: Scheduler;
  engine: Engine;
  runner: Runner;
  /** Notifications: queued on run ends, sent by every process. */
  notifier: Notifier;
  /** This process as a worker; undefined when it runs no jobs (JOBS_WORKER=false). */
  worker: WorkerAgent | undefined;
  log: Logger;
  metrics: Metrics;
  /** Starts the HTTP server; resolves with the port it listens on. */
  listen(): Promise<number>;
  /** Graceful stop: no new runs, running ones finish up to the shutdown grace, then cancelled. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  /** ms between looks for cancel requests of the runs in progress in this process. */
  cancelPollIntervalMs?: number;
  /**
   * false: leave the stored default jobs as they are, neither applied nor pruned (the import
   * command boots so; an empty default-jobs folder would instead prune them all).
   */
  defaultJobs?: boolean;
}

/** How long a call waits for its audit record to be written before it answers anyway. */
const auditTimeoutMs = 2000;

export const version: string = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).version;

/** Builds the whole service on its store: the boot sequence, in order. */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const log = options.log ?? createLogger(config.logLevel);
  const loaded = loadOpenApi();
  const { doc } = loaded;
  // JOBS_METRICS_AUTH, JOBS_HEALTH_AUTH: these open routes fall back to the document's global
  // requirement (a token). The YAML served is then written from the document as changed, so
  // /openapi.yaml and /openapi.json say the same.
  const closed = [...(config.metricsAuth ? ['/metrics'] : []), ...(config.healthAuth ? ['/liveness', '/readiness'] : [])];
  for (const p of closed) delete (doc.paths[p]?.get as OpenApiOperation | undefined)?.security;
  const yaml = closed.length ? jsYaml.dump(doc, { lineWidth: -1, noRefs: true }) : loaded.yaml;
  if (config.auth.mode === 'off') log.warn({ host: config.host }, 'JOBS_AUTH=off: the API answers every caller without checking a token');
  else if (config.auth.mode === 'open') log.info({ host: config.host }, 'no API tokens configured: no checks, serving on loopback only');
  else log.info({ tokens: config.auth.tokens.map((t) => ({ name: t.name, role: t.role })) }, 'API tokens loaded');
  // The handlers and the default-job files are checked before the store opens: a bad file
  // stops the boot at once, listing every problem.
  const catalog = await Catalog.load(config.handlersDir, doc);
  catalog.compile(documentAjv(doc));
  let port = config.port;
  let defaultJobs: CheckedDefaultJobs | null = null;
  // The limits of notification rules, and whether e-mail can be sent: job files are checked by them too.
  const ruleLimits = {
    maxRules: config.notify.maxRules,
    maxRecipients: config.notify.maxRecipients,
    maxPauseAfterFailures: config.notify.maxPauseAfterFailures,
    email: config.notify.smtp !== null,
  };
  if (options.defaultJobs !== false) ({ jobs: defaultJobs, port } = await checkDefaultJobsAtBoot(config.defaultJobsDir, catalog, config.host, port, config.limits, ruleLimits));
  const { store: rawStore, engine: engineBackend, storage } = await openStore(config);
  // Every write of a run, a job or the service's state goes to the event log too (src/events).
  const publisher = new EventPublisher(rawStore, log);
  const store = publishingStore(rawStore, publisher);
  let started: Engine | undefined;
  // One account of database outages for the process's periodic work: logged once, and once
  // more when the database answers again.
  const outage = new OutageLog(log);
  try {
    const bareEngine = createEngine(engineBackend, {
      pollIntervalMs: config.pollIntervalMs,
      lockLifetimeMs: config.lockLifetimeMs,
      maxConcurrency: config.concurrency,
      claimAhead: config.claimAhead,
      claimEarlyMs: config.claimEarlyMs,
      fireLeadMs: config.fireLeadMs,
      claimReadsJobs: true,
      name: config.workerName ?? `${os.hostname()}:${process.pid}`,
      onError: (err, where) => {
        // Looking for due runs and listening are retried on their own: part of an outage.
        if (outage.down || where === 'claim' || where === 'notification channel') outage.failed(err, `dispatch engine: ${where}`);
        else log.warn({ err, where }, 'dispatch engine error');
      },
      readyTimeoutMs: config.engineReadyTimeoutMs,
    });
    started = bareEngine;
    const engine = publishingEngine(bareEngine, rawStore, publisher);
    const live = { hub: new EventHub(rawStore, log, config.sse), streams: new SseStreams(config.sse, log), log };
    publisher.onWritten = () => live.hub.wake();
    const metrics = new Metrics(store, log);
    const notifier = new Notifier(store, log, {
      settings: config.notify,
      outbound: config.outbound,
      secretsKeyring: config.secretsKeyring,
      // The fire ledger counts the fires of an automatic pause as skipped while paused.
      paused: async (job) => {
        await engine.scheduleJob(job.job_id, job.handler, job.next_run_at, true);
        await store.startPause(job.job_id, new Date());
      },
    });
    const runner = new Runner(store, engine, catalog, log, {
      maxOutputLines: config.maxOutputLines,
      maxOutputBytes: config.maxOutputBytes,
      secretsKeyring: config.secretsKeyring,
      cancelGraceMs: config.cancelGraceMs,
      defaultTimeoutSeconds: config.defaultTimeoutSeconds,
      maxQueuedRunsPerJob: config.limits.maxQueuedRunsPerJob,
      maxQueuedRuns: config.limits.maxQueuedRuns,
      maxCatchUpFires: config.limits.maxCatchUpFires,
      maxFlowRuns: config.limits.maxFlowRuns,
      undispatchedAgeMs: config.undispatchedAgeMs,
      endRetryMaxMs: config.endRetryMaxMs,
      chainSweepMs: config.chainSweepMs,
      limits: config.limits,
      observer: metrics,
      notifications: notifier,
    });
    const scheduler = new Scheduler(store, engine, catalog, runner, config.limits, ruleLimits);
    // Metrics for every request; an audit record for every call that may change something,
    // written before the answer goes out. Records of calls answered together are written
    // together; a create stores its call's record in its own statement where the engine can
    // (OperationInput.audit). A failed audit write is logged and never changes the answer.
    const audits = new Coalescer<AuditRecord, void>(async (records) => {
      await store.insertAudits(records);
      return records.map(() => undefined);
    });
    // Calls without a valid token are counted per window, not stored one by one (JOBS_AUDIT_DENIED_WINDOW_SECONDS).
    const denied = new DeniedCalls(config.audit.deniedWindowSeconds * 1000, (counts) =>
      store.addAuditCounts(counts).catch((err) => log.error({ err, counts: counts.length }, 'denied calls not counted in the audit')),
    );
    const auditOf = (o: RequestOutcome) => auditRecordOf(o, new Date(), config.audit.pathMaxLength);
    const observe = async (o: RequestOutcome) => {
      metrics.observeRequest(o.operationId, o.status, o.seconds);
      if (!audited(o)) return;
      // Stored with the call's own write. Otherwise (an answer that came to another status
      // after that write, or a write whose answer was lost) the record goes under the id of
      // the one built for the write, which it replaces should the write have stored it.
      if (o.audit?.stored && o.audit.record.status === o.status) return;
      const built = o.audit ? { ...auditOf(o), id: o.audit.record.id } : auditOf(o);
      const record = o.status === 401 ? denied.admit(built) : built;
      if (!record) return;
      let timer: NodeJS.Timeout | undefined;
      const write = audits.add(record);
      if (o.status === 401) denied.track(record.id, write);
      try {
        await Promise.race([
          write,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the audit record was not written within ${auditTimeoutMs} ms`)), auditTimeoutMs);
          }),
        ]);
      } catch (err) {
        log.error({ err, audit: record }, 'audit record not written');
      } finally {
        clearTimeout(timer);
      }
    };
    // The contract check comes before anything runs: a mismatch refuses the boot untouched.
    const { app, compileValidators } = await createHttpApp({
      doc,
      operations: buildOperations({ config, store, scheduler, catalog, doc, yaml, metrics, storage, notifier, live }),
      log,
      bodyLimit: config.bodyLimit,
      bodyMaxDepth: config.bodyMaxDepth,
      auth: new Authenticator(config.auth.mode, config.auth.tokens, config.allowedHosts),
      observe,
      auditOf,
      trustedProxies: config.audit.trustedProxies,
      onStorageFault: (err) => storage?.note(err),
    });

    // Schema creation (the store's, and Agenda's index on MongoDB) and default jobs, one process at a time.
    const defaults = await store.bootLock(async () => {
      await store.migrate();
      const dispatch = await engine.init();
      log.info({ store: config.storeKind, dispatch, poll_interval_ms: config.pollIntervalMs }, 'dispatch engine ready');
      if (config.startPaused !== null) await applyBootState(store, config.startPaused ? 'paused' : 'running');
      return defaultJobs && applyDefaultJobs(defaultJobs, scheduler, store);
    });
    if (defaults) {
      // The ids only when they are few: a first boot with thousands of files would write them all.
      const ids = (list: string[]) => (list.length <= 20 ? list : undefined);
      log.info(
        {
          dir: config.defaultJobsDir,
          jobs: defaults.jobs,
          changed: defaults.changed.length,
          removed: defaults.removed.length,
          changed_ids: ids(defaults.changed),
          removed_ids: ids(defaults.removed),
        },
        'default jobs applied',
      );
    }

    // One process at a time owns an embedded data folder: a worker registered in it before this
    // boot belonged to a process that has ended, so it is gone now, not after the window.
    if (store.kind === 'embedded') {
      const far = new Date(Date.now() + 86_400_000);
      const gone = await store.markWorkersGone(far, far);
      if (gone.length) log.warn({ workers: gone }, 'workers of an earlier process on this data folder marked gone');
    }
    // The default rules before the first run is made: they decide which runs are watched.
    notifier.setDefaults((await store.getNotifyDefaults()).notify);
    notifier.start();
    let worker: WorkerAgent | undefined;
    if (config.worker) {
      runner.defineAll();
      // Not awaited: an engine that does not answer must not hold the boot. Runs started
      // meanwhile are running on a live worker, so their containers are never taken for leftovers.
      void recoverHandlers(catalog, store, log);
      worker = new WorkerAgent(store, engine, runner, log, {
        name: config.workerName,
        version,
        handlers: catalog.names(),
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        cancelPollIntervalMs: options.cancelPollIntervalMs ?? Math.min(500, config.heartbeatIntervalMs),
        outage,
      });
      await worker.start();
      const w = worker;
      scheduler.onStateChange = () => w.tick();
    }
    const monitor = new LostWorkerMonitor(
      store,
      runner,
      log,
      {
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        goneAfterMs: config.workerGoneAfterSeconds * 1000,
        retentionMs: config.workerRetentionSeconds * 1000,
      },
      outage,
    );
    monitor.start();
    const auditPurge = startAuditRetention(store, log, config.audit.retentionDays);
    const vacuum = startVacuum(rawStore, config, log, outage);
    live.hub.startPruning();
    const state = await store.getServiceState();
    log.info({ store: config.storeKind, state, worker: worker?.id ?? null, handlers: catalog.names() }, 'scheduler started');
    await warnWhenPaused(store, log, state, serviceUrl(config.host, port));

    let server: http.Server | undefined;
    let closing: Promise<void> | undefined;
    return {
      app,
      store,
      scheduler,
      engine,
      runner,
      notifier,
      worker,
      log,
      metrics,
      listen: () =>
        new Promise((resolve, reject) => {
          server = createServer(app.callback(), config.http);
          server.once('error', reject);
          server.listen(port, config.host, () => {
            compileValidators();
            resolve((server!.address() as AddressInfo).port);
          });
        }),
      close: () =>
        (closing ??= (async () => {
          monitor.stop();
          clearInterval(auditPurge);
          await vacuum?.stop();
          await worker?.stop(config.shutdownGraceSeconds * 1000);
          // The streams end cleanly (what was sent is delivered) before the server closes.
          await live.streams.close();
          await live.hub.close();
          await publisher.flushed();
          if (server) {
            const s = server;
            await new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            });
          }
          await denied.close();
          await notifier.stop();
          await engine.close();
          await store.close();
        })()),
    };
  } catch (err) {
    await started?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The HTTP server with the limits of an API (JOBS_HTTP_*): a cap on open connections (more are
 * closed as they come), and timeouts for the headers, the whole request and an idle kept-alive
 * connection. Node checks the first two every connectionsCheckingInterval, so it is made a
 * fraction of them.
 */
function createServer(listener: http.RequestListener, limits: Config['http']): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** How often audit records past their retention are deleted. */
const auditPurgeEveryMs = 3600_000;

/**
 * Deletes audit records older than JOBS_AUDIT_RETENTION_DAYS at boot and every hour after
 * (a range on the audit's time index); 0 days keeps them all.
 */
function startAuditRetention(store: Store, log: Logger, days: number): NodeJS.Timeout | undefined {
  if (days === 0) return undefined;
  const purge = async () => {
    try {
      const n = await store.deleteAuditBefore(new Date(Date.now() - days * 86400_000));
      if (n > 0) log.info({ deleted: n, retention_days: days }, 'audit records past their retention deleted');
    } catch (err) {
      log.warn({ err }, 'deleting audit records past their retention failed');
    }
  };
  void purge();
  const timer = setInterval(() => void purge(), auditPurgeEveryMs);
  timer.unref();
  return timer;
}

/**
 * VACUUM of the SQL stores' tables where nothing else runs it (see TableVacuum): always on
 * the embedded store, on PostgreSQL when the server's autovacuum is off.
 */
function startVacuum(store: Store, config: Config, log: Logger, outage: OutageLog): TableVacuum | undefined {
  if (!(store instanceof SqlStore)) return undefined;
  const vacuum = new TableVacuum(store.db, store.kind === 'embedded', {
    ...config.vacuum,
    onError: (err) => (outage.down ? outage.failed(err, 'vacuum') : log.warn({ err }, 'vacuum failed')),
    onVacuum: (what, ms) => log.debug({ table: what, ms: Math.round(ms) }, 'vacuumed'),
  });
  vacuum.start();
  return vacuum;
}

/**
 * Lets each handler with recover() remove what runs of it left behind (containers of a worker
 * that died) as this worker starts. A failure is logged, not fatal: the engine a handler talks
 * to may be away while the service itself can run.
 */
async function recoverHandlers(catalog: Catalog, store: Store, log: Logger) {
  const runs = async (ids: string[]) => {
    const found = await store.getExecutions(ids);
    const workers = new Map<string, boolean>();
    for (const id of new Set(found.filter((e) => e.status === 'running' && e.worker_id).map((e) => e.worker_id!))) {
      const worker = await store.getWorker(id);
      workers.set(id, worker !== null && worker.state !== 'gone');
    }
    return new Map(found.map((e) => [e.id, e.status === 'running' && e.worker_id && workers.get(e.worker_id) ? 'running' : 'ended'] as const));
  };
  for (const name of catalog.names()) {
    const handler = catalog.get(name)!;
    if (!handler.recover) continue;
    try {
      await handler.recover({ runs, log: { info: (m) => log.info({ handler: name }, m), warn: (m) => log.warn({ handler: name }, m) } });
    } catch (err) {
      log.warn({ handler: name, err: (err as Error).message }, 'leftovers of earlier runs could not be looked for');
    }
  }
}
