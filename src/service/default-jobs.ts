import fs from 'node:fs';
import path from 'node:path';
import jsYaml from 'js-yaml';
import type { ScheduleContext, ScheduleRequest, Scheduler } from '../scheduling/core.js';
import { InvalidError } from '../scheduling/errors.js';
import type { Store } from '../store/types.js';

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

const allowed = new Set([
  'job_id', 'handler', 'kwargs', 'periodically', 'cron', 'timezone', 'when', 'misfire_grace_time', 'state',
  'timeout', 'concurrency_policy', 'retries', 'retry_backoff',
]);
const stringFields = ['job_id', 'handler', 'periodically', 'cron', 'timezone', 'when', 'state', 'concurrency_policy'] as const;

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

/**
 * Parses and validates job files (`names` in `dir`) as the scheduling core would store them,
 * writing nothing: the first unusable file, or a job_id given twice, throws DefaultJobError.
 * Shared by the default jobs and the import (src/transfer/transfer.ts).
 */
export async function checkJobFiles(
  dir: string,
  names: string[],
  scheduler: Scheduler,
  contextOf: (file: string) => ScheduleContext,
): Promise<Array<{ file: string; req: ScheduleRequest }>> {
  const requests: Array<{ file: string; req: ScheduleRequest }> = [];
  const seen = new Map<string, string>();
  for (const file of names) {
    // Read synchronously: at boot nothing else waits, and thousands of small files read
    // through the thread pool cost four round trips each.
    const req = parseFile(file, fs.readFileSync(path.join(dir, file), 'utf8'));
    const other = seen.get(req.job_id!);
    if (other) throw new DefaultJobError(file, 'job_id', `'${req.job_id}' is also the job_id in ${other}`);
    seen.set(req.job_id!, file);
    try {
      scheduler.buildJob(req, contextOf(file));
    } catch (err) {
      // The core names fields as job files do (`job_id`, `kwargs.url`).
      if (err instanceof InvalidError && err.errors.length) {
        const first = err.errors[0];
        throw new DefaultJobError(file, first.field, first.reason);
      }
      throw err;
    }
    requests.push({ file, req });
  }
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

/**
 * Upserts every job of the default-jobs folder by job_id and removes the jobs that came from
 * files no longer there. All files are checked before anything is written, so a bad file
 * changes nothing.
 */
export async function applyDefaultJobs(dir: string, scheduler: Scheduler, store: Store): Promise<DefaultJobsResult> {
  let names: string[] = [];
  try {
    names = await jobFileNames(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const requests = await checkJobFiles(dir, names, scheduler, defaultJobContext);
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
