import type { Child } from '../lib/proc.js';
import type { Namespace, StoreKind } from '../lib/db.js';

export type Scenario = 'dispatch' | 'lag' | 'recovery' | 'memory' | 'startup' | 'api';

export interface DeployOptions {
  processes: number;
  /** Take runs from boot on (true), or only after start(). */
  processing: boolean;
  /** Runs at once per process. */
  concurrency: number;
  /** Failure detection: how long a silent worker's runs stay theirs (recovery), in ms. */
  lockMs?: number;
  /** Extra node flags for the processes. */
  nodeFlags?: string[];
  /** jobs-service: count the SQL statements each process sends (bench --profile). */
  profile?: boolean;
}

export interface SeedSpec {
  n: number;
  handler: 'noop' | 'sleep';
  /** Ids are prefix + index. */
  prefix: string;
  /**
   * When the jobs are due (ms since epoch, in the future); 'soon': each job 100 ms after it is
   * created (jobs-service refuses a `when` in the past), so all are due once seeding ends.
   */
  dueAt: number | 'soon';
  /** Retry a run whose worker died (recovery). */
  retry?: boolean;
}

export interface RecordCheck {
  /** Run records (or completed rows) of the seeded jobs. */
  records: number;
  /** Jobs with more than one record. */
  duplicates: number;
  /** Jobs with no record. */
  missing: number;
  /** Records in another state than completed/succeeded. */
  other: number;
}

export interface Deployment {
  children: Child[];
  /**
   * Creates the jobs, then ANALYZEs the system's tables (lib/db.ts analyze); resolves with the
   * time the creation took, in ms, without the ANALYZE.
   */
  seed(spec: SeedSpec): Promise<number>;
  /** Starts taking runs in every process. */
  start(): Promise<void>;
  /** Stops taking new runs in every process (between runs). */
  stop(): Promise<void>;
  /** One more process, taking runs at once or after start(). */
  addProcess(processing: boolean): Promise<Child>;
  /**
   * Runs finished as the system records them; of the runs created (or completed) since
   * `since` where the system can count those alone (the count is polled every 20 ms for every
   * system, and a count over every run of earlier rounds would load the database more with
   * each round).
   */
  completed(since: Date): Promise<number>;
  /** The system's own records of the seeded jobs, when it keeps any. */
  verify(spec: SeedSpec): Promise<RecordCheck | null>;
  close(): Promise<void>;
}

export interface System {
  name: string;
  /** true, or why this system does not run here. */
  supports(store: StoreKind, scenario: Scenario): true | string;
  /** The settings used, for the report. */
  settings(store: StoreKind, options: DeployOptions): Record<string, string | number | boolean>;
  deploy(ns: Namespace, options: DeployOptions): Promise<Deployment>;
}
