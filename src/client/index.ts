/**
 * Typed client of jobs-service (`jobs-service/client`). Requests go through openapi-fetch on
 * the paths of openapi.yaml; request and answer types are those openapi-typescript generates
 * from it, so a change of the contract shows up here at compile time.
 *
 *   const jobs = createClient({ baseUrl: 'http://127.0.0.1:34000/api/v1' });
 *   const { job } = await jobs.jobs.create({ handler: 'echo', kwargs: { message: 'hi' }, periodically: '1 hour' });
 *   const { execution_ids } = await jobs.runJob(job.job_id);
 *   const run = await jobs.waitForExecution(execution_ids[0]);
 */
import createFetchClient, { type Client, type MaybeOptionalInit } from 'openapi-fetch';
import type { components, operations, paths } from '../generated/openapi.js';
import { handlerRoutes, operationRoutes } from '../generated/operations.js';
import { networkReason, problemOf, ProblemError, ServiceUnreachableError, WaitTimeoutError } from './errors.js';
import { outputEvent, resumingStream, type EventsFilter, type EventsOptions, type FollowOptions, type OutputStreamEvent } from './streams.js';

export { ProblemError, ServiceUnreachableError, WaitTimeoutError, type FieldError, type Problem } from './errors.js';
export { handlerRoutes, operationRoutes } from '../generated/operations.js';
export { parseEventStream, type EventsFilter, type EventsOptions, type FollowOptions, type OutputStreamEvent, type SseMessage, type StreamOptions } from './streams.js';
export type { components, operations, paths } from '../generated/openapi.js';

type Schemas = components['schemas'];
export type Job = Schemas['Job'];
export type JobDetail = Schemas['JobDetail'];
export type JobList = Schemas['JobList'];
export type Failure = Schemas['Failure'];
export type CreateJobRequest = Schemas['CreateJobRequest'];
export type JobsCreated = Schemas['JobsCreated'];
export type JobIdsCreated = Schemas['JobIdsCreated'];
export type JobState = Schemas['JobState'];
export type UpdateJobRequest = Schemas['UpdateJobRequest'];
export type JobVersion = Schemas['JobVersion'];
export type JobVersionList = Schemas['JobVersionList'];
export type Fire = Schemas['Fire'];
export type FireLedger = Schemas['FireLedger'];
export type Execution = Schemas['Execution'];
export type ExecutionStatus = Schemas['ExecutionStatus'];
export type ExecutionList = Schemas['ExecutionList'];
export type ExecutionOutput = Schemas['ExecutionOutput'];
export type RunAccepted = Schemas['RunAccepted'];
export type Batch = Schemas['Batch'];
export type ChainLink = Schemas['ChainLink'];
export type TriggeredBy = Schemas['TriggeredBy'];
/** The filters of GET /executions that a bulk retry or cancel matches runs by. */
export type BulkFilter = Schemas['BulkFilter'];
export type BulkResult = Schemas['BulkResult'];
export type Worker = Schemas['Worker'];
export type WorkerList = Schemas['WorkerList'];
export type Stats = Schemas['Stats'];
export type ServiceState = Schemas['ServiceState'];
export type Caller = Schemas['Caller'];
export type HandlerInfo = Schemas['HandlerInfo'];
export type Secret = Schemas['Secret'];
export type NextFires = Schemas['NextFires'];
export type SchedulePreviewRequest = Schemas['SchedulePreviewRequest'];
export type BackfillAccepted = Schemas['BackfillAccepted'];
export type Event = Schemas['Event'];
export type EventType = Schemas['EventType'];
export type OutputEvent = Schemas['OutputEvent'];
export type StatusEvent = Schemas['StatusEvent'];
export type EndEvent = Schemas['EndEvent'];
export type SecretList = Schemas['SecretList'];
export type NotifyRule = Schemas['NotifyRule'];
export type NotifyEvent = Schemas['NotifyEvent'];
export type NotifyDefaults = Schemas['NotifyDefaults'];
export type NotificationEvent = Schemas['NotificationEvent'];
export type Delivery = Schemas['Delivery'];
export type DeliveryList = Schemas['DeliveryList'];
export type DeliveryStatus = Schemas['DeliveryStatus'];

/** The statuses a run ends in; a run in any other status may still change. */
export const finalStatuses: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'lost'];
export const isFinal = (status: ExecutionStatus): boolean => finalStatuses.includes(status);

export type OperationId = keyof typeof operationRoutes;
type Route<O extends OperationId> = (typeof operationRoutes)[O];
/** The request of an operation: `params` (path, query) and `body`, as openapi-fetch takes them. */
export type OperationInit<O extends OperationId> = MaybeOptionalInit<paths[Route<O>['path']], Route<O>['method']>;
// `{} extends T` holds when every field of T is optional: then the init may be left out.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type InitArgs<O extends OperationId> = {} extends OperationInit<O> ? [init?: OperationInit<O>] : [init: OperationInit<O>];
type SuccessCode = 200 | 201 | 202;
type ContentOf<R> = R extends { content: infer C } ? C[keyof C] : never;
/** The body of an operation's success answer. */
export type OperationResult<O extends OperationId> = ContentOf<operations[O]['responses'][Extract<keyof operations[O]['responses'], SuccessCode>]>;

export type HandlerWithRoute = keyof typeof handlerRoutes;
type RouteOfHandler<H extends HandlerWithRoute> = (typeof handlerRoutes)[H];
/** The kwargs schema of a handler with a route of its own. */
export type HandlerKwargs<H extends HandlerWithRoute> = NonNullable<operations[RouteOfHandler<H>]['requestBody']>['content']['application/json'];
/** The scheduling options (query) of the handler routes. */
export type SchedulingOptions = NonNullable<operations['scheduleEcho']['parameters']['query']>;

export type ListJobsQuery = NonNullable<operations['listJobs']['parameters']['query']>;
export type ListExecutionsQuery = NonNullable<operations['listExecutions']['parameters']['query']>;
export type ListJobExecutionsQuery = NonNullable<operations['listJobExecutions']['parameters']['query']>;
export type ListWorkersQuery = NonNullable<operations['listWorkers']['parameters']['query']>;
export type ListAuditQuery = NonNullable<operations['listAudit']['parameters']['query']>;
export type ListJobVersionsQuery = NonNullable<operations['listJobVersions']['parameters']['query']>;
export type ListJobFiresQuery = NonNullable<operations['listJobFires']['parameters']['query']>;

export interface ChangeOptions {
  /** The version the change is made to (sent as If-Match): another answers ProblemError 412. */
  ifVersion?: number;
}
export type ListDeliveriesQuery = NonNullable<operations['listDeliveries']['parameters']['query']>;

export interface ClientOptions {
  /** The service's API root, e.g. `http://127.0.0.1:34000/api/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` with every request. */
  token?: string;
  /** A fetch of your own (a proxy agent, a test double of the network); the global fetch otherwise. */
  fetch?: (request: Request) => Promise<Response>;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** Give up on a request after this many ms (ServiceUnreachableError); no limit when omitted. */
  timeoutMs?: number;
}

export interface WaitOptions<T> {
  /** ms between two looks; default 500. */
  intervalMs?: number;
  /** Give up after this many ms (WaitTimeoutError); no limit when omitted. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every state seen, the last one included. */
  onUpdate?: (state: T) => void;
}

export interface RunOptions {
  /** How many runs (1 to 1000); more than one makes a batch. */
  times?: number;
  /** Merged over the job's own kwargs for these runs. */
  kwargs?: Record<string, unknown>;
}

export type JobsClient = ReturnType<typeof createClient>;

const ifMatch = (options: ChangeOptions) => (options.ifVersion === undefined ? {} : { 'If-Match': `"${options.ifVersion}"` });

export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const parsed = new URL(baseUrl); // a malformed URL is the caller's mistake, said at once
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`baseUrl must be an http(s) URL, got '${options.baseUrl}'`);
  const api: Client<paths> = createFetchClient<paths>({
    baseUrl,
    fetch: options.fetch,
    headers: {
      Accept: 'application/json, application/problem+json',
      ...options.headers,
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    },
  });

  /** Calls any operation of openapi.yaml by its operationId; an error answer throws ProblemError. */
  async function call<O extends OperationId>(operationId: O, ...args: InitArgs<O>): Promise<OperationResult<O>> {
    const route: (typeof operationRoutes)[OperationId] & { parseAs?: 'text' | 'blob' } = operationRoutes[operationId];
    const { method, path } = route;
    // The document says how to read an answer that is not JSON (the metrics text, the YAML).
    const init: Record<string, unknown> = { ...(route.parseAs ? { parseAs: route.parseAs } : {}), ...((args[0] ?? {}) as Record<string, unknown>) };
    const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    const signal = timeout && init.signal ? AbortSignal.any([timeout, init.signal as AbortSignal]) : (timeout ?? init.signal);
    let result: { data?: unknown; error?: unknown; response: Response };
    try {
      result = await api.request(method, path as never, { ...init, signal } as never);
    } catch (err) {
      if (timeout?.aborted && (err as Error).name === 'TimeoutError') {
        throw new ServiceUnreachableError(baseUrl, `no answer within ${options.timeoutMs} ms`, { cause: err });
      }
      // fetch rejects with a TypeError for every network failure; an abort is the caller's own.
      if (err instanceof TypeError) throw new ServiceUnreachableError(baseUrl, networkReason(err), { cause: err });
      throw err;
    }
    if (!result.response.ok) throw new ProblemError(problemOf(result.response, result.error), operationId);
    return result.data as OperationResult<O>;
  }

  const jobs = {
    /** One page of jobs (`user`), failure records (`failed`) or both (`all`, the default). */
    list: (query: ListJobsQuery = {}) => call('listJobs', { params: { query } }),
    get: (jobId: string) => call('getJob', { params: { path: { job_id: jobId } } }),
    /** POST /jobs: any handler, kwargs and scheduling options in the body. */
    create: (body: CreateJobRequest) => call('createJob', { body }),
    /** POST /jobs/bulk: many jobs in one request, each a POST /jobs body; all are created or none. The answer holds the jobs. */
    createMany: async (list: CreateJobRequest[]) => (await call('createJobs', { body: { jobs: list } })) as JobsCreated,
    /** createMany answered with only the ids of the jobs created, in the order given (`Prefer: return=minimal`). */
    createManyIds: async (list: CreateJobRequest[]) => (await call('createJobs', { params: { header: { Prefer: 'return=minimal' } }, body: { jobs: list } })) as JobIdsCreated,
    /** POST /jobs/{handler}: a handler's own route, kwargs as the body and the options as the query. */
    schedule: <H extends HandlerWithRoute>(handler: H, kwargs: HandlerKwargs<H>, scheduling: SchedulingOptions = {}) => {
      const operationId = handlerRoutes[handler] as 'scheduleEcho';
      return call(operationId, { params: { query: scheduling }, body: kwargs as HandlerKwargs<'echo'> });
    },
    /** PATCH /jobs/{job_id}: the fields given change (null unsets one), the rest stays; a new version. */
    update: (jobId: string, change: UpdateJobRequest, options: ChangeOptions = {}) =>
      call('updateJob', { params: { path: { job_id: jobId }, header: ifMatch(options) }, body: change }),
    /** The job's versions, oldest first. */
    versions: (jobId: string, query: ListJobVersionsQuery = {}) => call('listJobVersions', { params: { path: { job_id: jobId }, query } }),
    /** The definition of `version` becomes the job's again, as a new version. */
    rollback: (jobId: string, version: number, options: ChangeOptions & { detach?: boolean } = {}) =>
      call('rollbackJob', {
        params: { path: { job_id: jobId, version }, header: ifMatch(options), query: options.detach ? { detach: true } : {} },
      }),
    /** The fire ledger: every fire the schedule expected in [since, until) and its outcome. */
    fires: (jobId: string, query: ListJobFiresQuery = {}) => call('listJobFires', { params: { path: { job_id: jobId }, query } }),
    setState: (jobId: string, state: JobState) => call('setJobState', { params: { path: { job_id: jobId }, query: { state } } }),
    pause: (jobId: string) => jobs.setState(jobId, 'paused'),
    resume: (jobId: string) => jobs.setState(jobId, 'running'),
    delete: (jobId: string) => call('deleteJob', { params: { path: { job_id: jobId } } }),
    /** Deletes every failure record. */
    cleanFailed: () => call('cleanFailed'),
    /** Runs of one job, newest first. */
    executions: (jobId: string, query: ListJobExecutionsQuery = {}) => call('listJobExecutions', { params: { path: { job_id: jobId }, query } }),
    /** Queues `times` runs now (a batch when more than one). */
    run: (jobId: string, run: RunOptions = {}) =>
      call('runJob', { params: { path: { job_id: jobId } }, body: { times: run.times ?? 1, ...(run.kwargs ? { kwargs: run.kwargs } : {}) } }),
    /** The job's next `count` fires (default 10), in its time zone; `schedule_ended` says why there are none. */
    nextFires: (jobId: string, count?: number) => call('getNextFires', { params: { path: { job_id: jobId }, query: count === undefined ? {} : { count } } }),
    /** Queues a run (trigger `backfill`) per fire of the job's schedule from `since` to before `until`, as one batch. */
    backfill: (jobId: string, since: Date | string, until: Date | string) =>
      call('backfillJob', { params: { path: { job_id: jobId } }, body: { since: isoOf(since), until: isoOf(until) } }),
  };

  const schedules = {
    /** The first fires a job created now with these schedule fields would have; nothing is stored. */
    preview: (fields: SchedulePreviewRequest) => call('previewSchedule', { body: fields }),
  };

  const executions = {
    /** Runs of every job, newest first, filtered by job_id, status, handler, batch_id, parent_id, since, until. */
    list: (query: ListExecutionsQuery = {}) => call('listExecutions', { params: { query } }),
    get: (executionId: string) => call('getExecution', { params: { path: { execution_id: executionId } } }),
    /** The lines a run logged so far (see followOutput for a live stream). */
    output: (executionId: string) => call('getExecutionOutput', { params: { path: { execution_id: executionId } } }) as Promise<ExecutionOutput>,
    /** A queued run comes back cancelled; a running one comes back running, its worker stopping it. */
    cancel: (executionId: string) => call('cancelExecution', { params: { path: { execution_id: executionId } } }),
    /** Runs an ended run again (same kwargs and step selection): the new run, queued, with restarted_from set. */
    restart: (executionId: string) => call('restartExecution', { params: { path: { execution_id: executionId } } }),
    /** Runs again every ended run the filter matches (by default those that did not succeed), as one batch. */
    retryMany: (filter: BulkFilter) => call('retryExecutions', { body: filter }),
    /** Cancels every queued or running run the filter matches. */
    cancelMany: (filter: BulkFilter) => call('cancelExecutions', { body: filter }),
  };

  const batches = {
    get: (batchId: string) => call('getBatch', { params: { path: { batch_id: batchId } } }),
  };

  const workers = {
    list: (query: ListWorkersQuery = {}) => call('listWorkers', { params: { query } }),
    get: (workerId: string) => call('getWorker', { params: { path: { worker_id: workerId } } }),
    /** `blocked`: the worker takes no new runs; its runs in progress finish. */
    setState: (workerId: string, state: 'active' | 'blocked') => call('setWorkerState', { params: { path: { worker_id: workerId }, query: { state } } }),
  };

  const service = {
    status: () => call('getServiceState'),
    setState: (state: ServiceState) => call('setServiceState', { params: { query: { state } } }),
    pause: () => service.setState('paused'),
    resume: () => service.setState('running'),
    stats: () => call('getStats'),
    /** The service-wide notification rules (admin), redacted. */
    notify: () => call('getServiceNotify'),
    /** Replaces the service-wide notification rules (admin); [] removes them. */
    setNotify: (notify: NotifyRule[]) => call('setServiceNotify', { body: { notify } }),
    /** The calling token's name and role; role admin and name null when no token is checked. */
    caller: () => call('getCaller'),
    liveness: () => call('getLiveness'),
    /** Throws ProblemError (503) while the service cannot reach its database. */
    readiness: () => call('getReadiness'),
  };

  const handlers = {
    list: () => call('listHandlers'),
  };

  /** The audit log of changes, newest first (admin). */
  const audit = {
    list: (query: ListAuditQuery = {}) => call('listAudit', { params: { query } }),
  };

  /** Secrets (admin): names and dates only; values are write-only. */
  const secrets = {
    list: (query: { limit?: number; cursor?: string } = {}) => call('listSecrets', { params: { query } }),
    get: (name: string) => call('getSecret', { params: { path: { name } } }),
    /** A new secret; ProblemError 409 when the name is taken. */
    create: (name: string, value: string) => call('createSecret', { body: { name, value } }),
    /** Sets the value of a secret, creating it when there is none of this name. */
    set: (name: string, value: string) => call('putSecret', { params: { path: { name } }, body: { value } }),
    delete: async (name: string): Promise<void> => {
      await call('deleteSecret', { params: { path: { name } } });
    },
  };

  /** Notifications queued and sent, newest first, by job_id and status. */
  const notifications = {
    deliveries: (query: ListDeliveriesQuery = {}) => call('listDeliveries', { params: { query } }),
  };
  /** Opens a text/event-stream route; an error answer throws ProblemError, no answer ServiceUnreachableError. */
  async function openStream(
    operationId: 'getExecutionOutput' | 'streamEvents',
    params: Record<string, unknown>,
    lastEventId: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ReadableStream<Uint8Array>> {
    const { method, path } = operationRoutes[operationId];
    let result: { data?: unknown; error?: unknown; response: Response };
    try {
      result = await api.request(
        method,
        path as never,
        {
          params: { ...params, header: lastEventId === undefined ? undefined : { 'Last-Event-ID': lastEventId } },
          headers: { Accept: 'text/event-stream, application/problem+json' },
          parseAs: 'stream',
          signal,
        } as never,
      );
    } catch (err) {
      if (err instanceof TypeError) throw new ServiceUnreachableError(baseUrl, networkReason(err), { cause: err });
      throw err;
    }
    if (!result.response.ok) throw new ProblemError(problemOf(result.response, result.error), operationId);
    return result.data as ReadableStream<Uint8Array>;
  }
  const fatal = (err: unknown) => err instanceof ProblemError && err.status !== 503;

  /**
   * A run's output live, from any process that runs it: \`output\` events (new lines, numbered),
   * \`status\` changes, and \`end\`, after which the iteration stops. A lost connection is resumed
   * where it broke (Last-Event-ID).
   */
  async function* followOutput(executionId: string, options: FollowOptions = {}): AsyncGenerator<OutputStreamEvent> {
    const open = (last: string | undefined, signal: AbortSignal | undefined) =>
      openStream('getExecutionOutput', { path: { execution_id: executionId }, query: { follow: true } }, last, signal);
    const first = options.lastEventId === undefined ? undefined : String(options.lastEventId);
    for await (const m of resumingStream(open, first, options, (m) => m.event === 'end', fatal)) {
      const e = outputEvent(m);
      if (e) yield e;
    }
  }

  /**
   * Changes of runs, jobs and the service as they happen, filtered; runs until the signal
   * aborts. A lost connection is resumed after the last event received (Last-Event-ID).
   */
  async function* events(filter: EventsFilter = {}, options: EventsOptions = {}): AsyncGenerator<Event> {
    const query = { ...filter, types: filter.types?.join(',') };
    const open = (last: string | undefined, signal: AbortSignal | undefined) => openStream('streamEvents', { query }, last, signal);
    for await (const m of resumingStream(open, options.lastEventId, options, () => false, fatal)) yield JSON.parse(m.data) as Event;
  }

  async function poll<T>(what: string, read: () => Promise<T>, done: (state: T) => boolean, wait: WaitOptions<T>): Promise<T> {
    const interval = wait.intervalMs ?? 500;
    const deadline = wait.timeoutMs === undefined ? Infinity : Date.now() + wait.timeoutMs;
    for (;;) {
      wait.signal?.throwIfAborted();
      const state = await read();
      wait.onUpdate?.(state);
      if (done(state)) return state;
      if (Date.now() + interval > deadline) throw new WaitTimeoutError(what, wait.timeoutMs!, state);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, interval);
        const onAbort = () => {
          clearTimeout(timer);
          reject(wait.signal!.reason);
        };
        function done() {
          wait.signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        wait.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  return {
    baseUrl,
    /** openapi-fetch itself, typed by the paths of openapi.yaml: `api.GET('/jobs/{job_id}', ...)`. */
    api,
    call,
    jobs,
    schedules,
    executions,
    batches,
    workers,
    service,
    handlers,
    audit,
    secrets,
    notifications,
    followOutput,
    events,
    /** The Prometheus text of GET /metrics. */
    metrics: () => call('getMetrics') as Promise<string>,
    /** The OpenAPI document the service serves. */
    openapi: () => call('getOpenApiJson'),
    /** Queues `times` runs of a job now, with `kwargs` merged over the job's. */
    runJob: (jobId: string, times = 1, kwargs?: Record<string, unknown>) => jobs.run(jobId, { times, kwargs }),
    /** Polls a run until it ends (succeeded, failed, cancelled, timed_out, missed or lost). */
    waitForExecution: (executionId: string, wait: WaitOptions<Execution> = {}) =>
      poll(
        `execution ${executionId}`,
        () => executions.get(executionId),
        (e) => isFinal(e.status),
        wait,
      ),
    /** Polls a batch until none of its runs is queued or running. */
    waitForBatch: (batchId: string, wait: WaitOptions<Batch> = {}) => poll(`batch ${batchId}`, () => batches.get(batchId), batchFinished, wait),
  };
}

const isoOf = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());

/** Every run of the batch has ended (finished_at stays null when none of them started). */
export function batchFinished(batch: Batch): boolean {
  return !batch.counts.queued && !batch.counts.running;
}
