import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../observability/log.js';
import type { RunObserver } from '../scheduling/observer.js';
import type { ExecutionRecord, ExecutionStatus, Store, WorkerState } from '../store/types.js';
import { workerStates } from '../store/types.js';

/** How long a scrape waits for the store's counts before it answers without them. */
const storeTimeoutMs = 2000;

/**
 * The Prometheus metrics of one service instance, in a registry of its own (a process may
 * hold several services: the tests start many). Runs are counted as this process runs them;
 * queued runs and workers are read from the store at each scrape, so they are the
 * deployment's, whichever process is scraped.
 */
export class Metrics implements RunObserver {
  readonly registry = new Registry();
  private readonly runsStarted: Counter<'handler'>;
  private readonly runsFinished: Counter<'handler' | 'status'>;
  private readonly runDuration: Histogram<'handler'>;
  private readonly startLag: Histogram<'handler'>;
  private readonly queued: Gauge;
  private readonly workers: Gauge<'state'>;
  private readonly storeUp: Gauge;
  private readonly httpRequests: Counter<'operation' | 'status'>;
  private readonly httpDuration: Histogram<'operation'>;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.runsStarted = new Counter({ name: 'jobs_runs_started_total', help: 'Runs started by this process', labelNames: ['handler'], registers });
    this.runsFinished = new Counter({
      name: 'jobs_runs_finished_total',
      help: 'Runs that reached a final status in this process (missed and lost included)',
      labelNames: ['handler', 'status'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'jobs_run_duration_seconds',
      help: 'From start to final status of the runs this process ran',
      labelNames: ['handler'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200],
      registers,
    });
    this.startLag = new Histogram({
      name: 'jobs_run_start_lag_seconds',
      help: 'How long after its due time a run started',
      labelNames: ['handler'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.queued = new Gauge({ name: 'jobs_runs_queued', help: 'Runs waiting for a worker (from the database)', registers });
    this.workers = new Gauge({ name: 'jobs_workers', help: 'Workers by state (from the database)', labelNames: ['state'], registers });
    this.storeUp = new Gauge({ name: 'jobs_store_up', help: '1 when the database answered the counts of this scrape, else 0', registers });
    this.httpRequests = new Counter({ name: 'jobs_http_requests_total', help: 'HTTP requests by operationId and status', labelNames: ['operation', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'jobs_http_request_duration_seconds',
      help: 'HTTP request durations by operationId',
      labelNames: ['operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  onRunStarted(e: ExecutionRecord) {
    this.runsStarted.inc({ handler: e.handler });
    if (e.started_at) this.startLag.observe({ handler: e.handler }, Math.max(0, e.started_at.getTime() - e.scheduled_at.getTime()) / 1000);
  }

  onRunFinished(e: ExecutionRecord, status: ExecutionStatus, durationMs: number | null) {
    this.runsFinished.inc({ handler: e.handler, status });
    if (durationMs !== null) this.runDuration.observe({ handler: e.handler }, durationMs / 1000);
  }

  /** One request; `operation` is the operationId, or `none` when no operation matched. */
  observeRequest(operation: string | null, status: number, seconds: number) {
    const op = operation ?? 'none';
    this.httpRequests.inc({ operation: op, status: String(status) });
    this.httpDuration.observe({ operation: op }, seconds);
  }

  /**
   * The exposition text. The store's counts are read first; when the database does not answer
   * in time the scrape still answers, with the last counts and jobs_store_up 0.
   */
  async render(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const [queued, workers] = await Promise.race([
        Promise.all([this.store.queuedCount(), this.store.workerCounts()]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${storeTimeoutMs} ms`)), storeTimeoutMs);
        }),
      ]);
      this.queued.set(queued);
      for (const state of workerStates) this.workers.set({ state }, workers[state as WorkerState] ?? 0);
      this.storeUp.set(1);
    } catch (err) {
      this.storeUp.set(0);
      this.log.warn({ err }, 'metrics: the database counts could not be read');
    } finally {
      clearTimeout(timer);
    }
    return this.registry.metrics();
  }

  get contentType() {
    return this.registry.contentType;
  }
}
