/**
 * The types of the handler SDK, written for handler authors. They depend on nothing of the
 * service: the scheduling core uses them, never the other way round.
 */

/** A handler's arguments: a JSON object, validated against the handler's kwargs schema. */
export type Kwargs = Record<string, unknown>;

/** The steps of a selective run: run only `task_names`, and every later step when `run_subsequent`. */
export interface StepSelection {
  task_names: string[];
  run_subsequent: boolean;
}

/** A bad field of a handler's kwargs, named from the kwargs' root (`flow_name`, `flow_arguments.0.url`). */
export interface FieldError {
  field: string;
  reason: string;
}

/** Lines a handler logs become its run's output (bounded per run). */
export interface RunLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the service hands a handler for one run. */
export interface HandlerContext {
  executionId: string;
  /** The job this run belongs to; null for a child run started by a flow. */
  jobId: string | null;
  /**
   * The same for every attempt of one fire or request (a retry keeps it): a target that has
   * seen it already can refuse the duplicate. Runs are delivered at least once.
   */
  idempotencyKey: string;
  /**
   * Larger than the token of every earlier start, a retry's included: a target that keeps the
   * largest it has accepted can refuse writes of an older attempt.
   */
  fencingToken: number;
  /** Fires on cancel, timeout or shutdown: stop promptly when it does. */
  signal: AbortSignal;
  log: RunLogger;
  /** Reports progress, 0 to 100. */
  progress(percent: number): Promise<void>;
  /** Starts one run of another handler as a child of this run; returns the child's execution id. */
  startChild(handler: string, kwargs: Kwargs, selection?: StepSelection): Promise<string>;
  /** Housekeeping of the service's own records, for maintenance handlers. */
  records: {
    deleteExecutionsBefore(before: Date): Promise<number>;
    deleteFailuresBefore(before: Date): Promise<number>;
  };
}

/** One named step of a handler (JobStreamer's steps); a selective run executes a subset. */
export interface Step<K extends Kwargs = Kwargs> {
  name: string;
  run(kwargs: K, context: HandlerContext): Promise<void>;
}

/** What the catalog tells a handler's creation-time check about the other handlers. */
export interface CatalogView {
  has(name: string): boolean;
  stepsOf(name: string): readonly string[] | undefined;
  /** Field errors for these kwargs against that handler's schema, prefixed with `at`. */
  validateKwargs(name: string, kwargs: unknown, at: string): FieldError[];
}

/**
 * A job handler: one module in the handlers folder, its default export. Either `execute`
 * or `steps` does the work. `kwargsSchema` names the schema under components.schemas in
 * openapi.yaml that every job's kwargs are validated against when the job is created.
 */
export interface Handler<K extends Kwargs = Kwargs> {
  name: string;
  description: string;
  kwargsSchema: string;
  /** Seconds a run may take unless its job says otherwise. */
  timeout?: number;
  steps?: ReadonlyArray<Step<K>>;
  execute?(kwargs: K, context: HandlerContext): Promise<void>;
  /** Checks beyond the schema, at creation time (for example that a named handler exists). */
  check?(kwargs: K, catalog: CatalogView): FieldError[];
  /**
   * The child runs a run with these kwargs starts (flows): the service counts them, over every
   * level, against JOBS_MAX_FLOW_RUNS and JOBS_MAX_FLOW_DEPTH before a job is stored or run.
   */
  children?(kwargs: K): Array<{ handler: string; kwargs: Kwargs }>;
  /**
   * The role its jobs need when a setting of the handler's own says so; the schema's x-role
   * otherwise. Read once, when the catalog loads.
   */
  role?(): 'read' | 'write' | 'admin' | undefined;
  /**
   * The image a job of these kwargs runs, made ready on the engine (pulled): begun when such a
   * job is created, its progress shown on the job as image_status. Rejects with the engine's
   * reason. Jobs of handlers without it have no image_status.
   */
  prepare?(kwargs: K): Promise<void>;
  /**
   * Called once when a worker starts, without holding its boot: removes what runs of this
   * handler left behind when their worker died (containers), asking `runs` which of those runs
   * are still being run by a live worker.
   */
  recover?(view: RecoveryView): Promise<void>;
}

/** What a handler's recover() may ask of the service. */
export interface RecoveryView {
  /**
   * Of these execution ids, those this service knows: `running` while a worker that is not
   * gone runs it, `ended` otherwise. Ids it does not know are left out (the run of another
   * service sharing the engine, or one deleted since).
   */
  runs(executionIds: string[]): Promise<Map<string, 'running' | 'ended'>>;
  log: { info(message: string): void; warn(message: string): void };
}

export function defineHandler<K extends Kwargs>(handler: Handler<K>): Handler<K> {
  return handler;
}
