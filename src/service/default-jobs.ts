import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import jsYaml from 'js-yaml';
import type { Catalog } from '../scheduling/catalog.js';
import type { RuleLimits } from '../notifications/rules.js';
import { Scheduler, type ScheduleContext, type ScheduleRequest } from '../scheduling/core.js';
import { InvalidError } from '../scheduling/errors.js';
import type { Engine } from '../engine/types.js';
import type { Runner } from '../scheduling/runner.js';
import type { Store } from '../store/types.js';
import type { Limits } from '../config/config.js';

/** A default-jobs file that cannot be used: the boot stops with the file, the field and why. */
export class DefaultJobError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`default job file ${file}: ${field}: ${reason}`);
  }
}

/** Every problem of a default-jobs folder, one DefaultJobError per file and field. */
export class DefaultJobsError extends Error {
  constructor(readonly problems: DefaultJobError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

/** `${NAME}` in a default-jobs file's string values: the variables it may use. */
export type JobFileVariables = Record<string, string>;

const variablePattern = /\$\{([^}]*)\}/g;

/**
 * Replaces `${NAME}` in every string of a parsed job file (keys stay as they are); an unknown
 * name is an error naming the field that uses it.
 */
export function expandVariables(file: string, def: ScheduleRequest, variables: JobFileVariables): ScheduleRequest {
  const expand = (value: unknown, at: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(variablePattern, (_, name: string) => {
        if (Object.hasOwn(variables, name)) return variables[name];
        throw new DefaultJobError(file, at, `uses \${${name}}, which is not a default-jobs variable (known: ${Object.keys(variables).join(', ') || 'none'})`);
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => expand(v, `${at}.${i}`));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, at ? `${at}.${k}` : k)]));
    return value;
  };
  return expand(def, '') as ScheduleRequest;
}

/**
 * The URL of this service's own API for a job to call: HOST and PORT, with a loopback address
 * for a service listening on every interface (0.0.0.0, ::), which no client can dial.
 */
export function serviceUrl(host: string, port: number): string {
  const dialable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  const bracketed = dialable.includes(':') && !dialable.startsWith('[') ? `[${dialable}]` : dialable;
  return `http://${bracketed}:${port}/api/v1`;
}

const allowed = new Set([
  'job_id',
  'handler',
  'kwargs',
  'periodically',
  'cron',
  'timezone',
  'when',
  'misfire_grace_time',
  'state',
  'timeout',
  'concurrency_policy',
  'retries',
  'retry_backoff',
  'catch_up',
  'start_at',
  'end_at',
  'max_runs',
  'jitter',
  'on_success',
  'on_failure',
  'on_finish',
  'after_all',
  'notify',
  'pause_after_failures',
  'deadline',
]);
const stringFields = ['job_id', 'handler', 'periodically', 'cron', 'timezone', 'when', 'state', 'concurrency_policy', 'catch_up', 'start_at', 'end_at'] as const;

/** Reads one job file's YAML into a request; the scheduling core validates it further. */
export function parseFile(file: string, text: string): ScheduleRequest {
  let value: unknown;
  try {
    // js-yaml parses a small job file about ten times faster than the yaml package, which
    // matters at boot with thousands of files. The core schema leaves timestamps as strings.
    value = jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA, filename: file });
  } catch (err) {
    throw new DefaultJobError(file, '(file)', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new DefaultJobError(file, '(file)', 'must hold one job as a mapping (job_id, handler, kwargs, ...)');
  }
  const def = value as Record<string, unknown>;
  for (const key of Object.keys(def)) {
    if (!allowed.has(key)) throw new DefaultJobError(file, key, `is not a job option (allowed: ${[...allowed].join(', ')})`);
  }
  for (const key of ['job_id', 'handler'] as const) {
    if (def[key] === undefined || def[key] === null || def[key] === '') throw new DefaultJobError(file, key, 'is required');
  }
  for (const key of stringFields) {
    if (def[key] !== undefined && typeof def[key] !== 'string') throw new DefaultJobError(file, key, `must be a string, got ${JSON.stringify(def[key])}`);
  }
  if (def.kwargs !== undefined && (def.kwargs === null || typeof def.kwargs !== 'object' || Array.isArray(def.kwargs))) {
    throw new DefaultJobError(file, 'kwargs', 'must be a mapping');
  }
  const grace = def.misfire_grace_time;
  if (grace !== undefined && typeof grace !== 'number' && typeof grace !== 'string') {
    throw new DefaultJobError(file, 'misfire_grace_time', 'must be a number of seconds or a duration');
  }
  return def as unknown as ScheduleRequest;
}

/** The *.yaml / *.yml files of a folder, sorted; throws ENOENT when the folder is missing. */
export async function jobFileNames(dir: string): Promise<string[]> {
  return (await fs.promises.readdir(dir)).filter((f) => /\.ya?ml$/i.test(f)).sort();
}

/** What validates a job without storing it: the scheduling core's buildJob. */
export type JobBuilder = Pick<Scheduler, 'buildJob'>;

/**
 * A scheduling core on no store: buildJob needs only the handler catalog, so default-job files
 * are checked with it before the store opens. Anything else it might touch throws.
 */
export function storelessBuilder(catalog: Catalog, limits?: Limits, ruleLimits?: RuleLimits): JobBuilder {
  const none = new Proxy(
    {},
    {
      get(_, key) {
        throw new Error(`checking job files touched the store or engine (${String(key)})`);
      },
    },
  );
  return new Scheduler(none as Store, none as Engine, catalog, none as Runner, limits, ruleLimits);
}

/**
 * Parses and validates job files (`names` in `dir`) as the scheduling core would store them,
 * writing nothing: every problem of every file (one per field), and every job_id given twice.
 */
export function jobFileProblems(
  dir: string,
  names: string[],
  builder: JobBuilder,
  contextOf: (file: string) => ScheduleContext,
  variables?: JobFileVariables,
): { requests: Array<{ file: string; req: ScheduleRequest }>; problems: DefaultJobError[] } {
  const requests: Array<{ file: string; req: ScheduleRequest }> = [];
  const problems: DefaultJobError[] = [];
  const seen = new Map<string, string>();
  for (const file of names) {
    try {
      // Read synchronously: at boot nothing else waits, and thousands of small files read
      // through the thread pool cost four round trips each.
      let req = parseFile(file, fs.readFileSync(path.join(dir, file), 'utf8'));
      if (variables) req = expandVariables(file, req, variables);
      const other = seen.get(req.job_id!);
      if (other) throw new DefaultJobError(file, 'job_id', `'${req.job_id}' is also the job_id in ${other}`);
      seen.set(req.job_id!, file);
      builder.buildJob(req, contextOf(file));
      requests.push({ file, req });
    } catch (err) {
      if (err instanceof DefaultJobError) problems.push(err);
      // The core names fields as job files do (`job_id`, `kwargs.url`).
      else if (err instanceof InvalidError && err.errors.length) {
        for (const e of err.errors) problems.push(new DefaultJobError(file, e.field, e.reason));
      } else throw err;
    }
  }
  return { requests, problems };
}

/**
 * Parses and validates job files as jobFileProblems does; the first problem throws
 * DefaultJobError. Shared by the default jobs and the import (src/transfer/transfer.ts).
 */
export async function checkJobFiles(
  dir: string,
  names: string[],
  scheduler: JobBuilder,
  contextOf: (file: string) => ScheduleContext,
): Promise<Array<{ file: string; req: ScheduleRequest }>> {
  const { requests, problems } = jobFileProblems(dir, names, scheduler, contextOf);
  if (problems.length) throw problems[0];
  return requests;
}

export interface DefaultJobsResult {
  /** How many jobs the folder defines. */
  jobs: number;
  /** Those new or changed since the last boot, written now. */
  changed: string[];
  /** Jobs whose file is gone, deleted now. */
  removed: string[];
}

const defaultJobContext = (file: string): ScheduleContext => ({
  source: 'file',
  sourceFile: file,
  allowPastWhen: true,
});

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await jobFileNames(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return [];
  }
}

/** The checked jobs of a default-jobs folder, ready for applyDefaultJobs. */
export type CheckedDefaultJobs = Array<{ file: string; req: ScheduleRequest }>;

/**
 * Checks every file of the default-jobs folder, with its variables expanded, against the
 * handler catalog and the job rules; needs no store. Throws DefaultJobsError listing every
 * problem (file, field, reason).
 */
export async function checkDefaultJobs(dir: string, builder: JobBuilder, variables: JobFileVariables): Promise<CheckedDefaultJobs> {
  const { requests, problems } = jobFileProblems(dir, await namesIn(dir), builder, defaultJobContext, variables);
  if (problems.length) throw new DefaultJobsError(problems);
  return requests;
}

/** A port free on `host` now: bound by the system, then released. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The boot's check of the default-jobs folder, before the store opens, with `${SERVICE_URL}`
 * from HOST and PORT. With PORT=0 (a port the system picks) and a file that uses it, a free
 * port is picked now, for the file and for the service to listen on.
 */
export async function checkDefaultJobsAtBoot(
  dir: string,
  catalog: Catalog,
  host: string,
  port: number,
  limits?: Limits,
  ruleLimits?: RuleLimits,
): Promise<{ jobs: CheckedDefaultJobs; port: number }> {
  let usesUrl = false;
  const variables = {
    get SERVICE_URL() {
      usesUrl = true;
      return serviceUrl(host, port);
    },
  };
  const builder = storelessBuilder(catalog, limits, ruleLimits);
  let jobs = await checkDefaultJobs(dir, builder, variables);
  if (usesUrl && port === 0) {
    port = await freePort(host);
    jobs = await checkDefaultJobs(dir, builder, variables);
  }
  return { jobs, port };
}

/**
 * Upserts every checked default job by job_id and removes the jobs that came from files no
 * longer there. All files were checked before (checkDefaultJobs), so a bad file changes nothing.
 */
export async function applyDefaultJobs(requests: CheckedDefaultJobs, scheduler: Scheduler, store: Store): Promise<DefaultJobsResult> {
  const { jobs, changed } = await scheduler.upsertJobs(requests.map(({ file, req }) => ({ req, ctx: defaultJobContext(file) })));
  const seen = new Set(jobs.map((j) => j.job_id));
  const removed: string[] = [];
  for (const { job_id } of await store.listJobsFromFiles()) {
    if (!seen.has(job_id)) {
      await scheduler.deleteJob(job_id);
      removed.push(job_id);
    }
  }
  return { jobs: jobs.length, changed: changed.map((j) => j.job_id), removed };
}
