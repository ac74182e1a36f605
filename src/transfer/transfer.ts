import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { Config } from '../config/config.js';
import { checkJobFiles, DefaultJobError, jobFileNames } from '../service/default-jobs.js';
import type { Logger } from '../observability/log.js';
import { isSecretRef, redacted, redactKwargs, redactText } from '../observability/redact.js';
import type { ScheduleContext, ScheduleRequest, Scheduler } from '../scheduling/core.js';
import { createService } from '../service/service.js';
import { openStore } from '../service/backend.js';
import type { JobRecord, NotifyRule, SecretString, Store } from '../store/types.js';

/**
 * Moving job definitions between stores: `exportJobs` writes each job as a file in the form
 * default-jobs/ takes, `importJobs` upserts such files by job_id through the scheduling core.
 * Run records, failure records and workers stay behind; so does each job's run history.
 */

/** A transfer that cannot go on; `file` and `field` are set when a job file is at fault. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

/** A job's definition as a default-jobs file holds it: only the options that are set. */
export function jobDefinition(job: JobRecord): ScheduleRequest {
  // Inline credentials are written as [redacted]; secret references ({"$secret": NAME}) as they are.
  const def: ScheduleRequest = { job_id: job.job_id, handler: job.handler, kwargs: redactKwargs(job.kwargs) };
  if (job.periodically !== null) def.periodically = job.periodically;
  if (job.cron !== null) {
    def.cron = job.cron;
    if (job.timezone !== null && job.timezone !== 'UTC') def.timezone = job.timezone;
  }
  if (job.when !== null) def.when = job.when.toISOString();
  if (job.misfire_grace_time !== null) def.misfire_grace_time = job.misfire_grace_time;
  if (job.state !== 'running') def.state = job.state;
  if (job.timeout !== null) def.timeout = job.timeout;
  if (job.concurrency_policy !== null) def.concurrency_policy = job.concurrency_policy;
  if (job.retries !== 0) def.retries = job.retries;
  if (job.retry_backoff !== 0) def.retry_backoff = job.retry_backoff;
  if (job.catch_up !== 'none') def.catch_up = job.catch_up;
  if (job.start_at !== null) def.start_at = job.start_at.toISOString();
  if (job.end_at !== null) def.end_at = job.end_at.toISOString();
  if (job.max_runs !== null) def.max_runs = job.max_runs;
  if (job.jitter !== null) def.jitter = job.jitter;
  for (const f of ['on_success', 'on_failure', 'on_finish'] as const) {
    if (job[f].length) def[f] = job[f].map((l) => (l.kwargs ? { job_id: l.job_id, kwargs: redactKwargs(l.kwargs) } : { job_id: l.job_id }));
  }
  if (job.after_all.length) def.after_all = job.after_all;
  if (job.notify.length) def.notify = exportedNotify(job);
  if (job.pause_after_failures !== null) def.pause_after_failures = job.pause_after_failures;
  if (job.deadline !== null) def.deadline = job.deadline;
  return def;
}

/** Notification rules as exported: inline webhook secrets as [redacted], URL credentials as kwargs have them; references as they are. */
function exportedNotify(job: JobRecord): NotifyRule[] {
  return job.notify.map((r) => {
    const url = (u: SecretString) => (isSecretRef(u) ? u : redactText(u));
    if (r.webhook) return { on: r.on, webhook: { url: url(r.webhook.url), secret: r.webhook.secret && !isSecretRef(r.webhook.secret) ? redacted : (r.webhook.secret ?? null) } };
    if (r.slack) return { on: r.on, slack: { url: url(r.slack.url) } };
    return r;
  });
}

const redactsNotify = (job: JobRecord) => JSON.stringify(exportedNotify(job)) !== JSON.stringify(job.notify);

// Windows refuses these names whatever the extension.
const reservedName = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i;

/**
 * The file a job is exported to. Names are lower case, so that two ids differing only in case
 * stay two files on case-insensitive file systems too; an id whose safe form differs from it
 * gets a hash of the exact id appended.
 */
export function jobFileName(jobId: string): string {
  const safe = jobId.toLowerCase().replace(/[^a-z0-9._-]/g, '_');
  if (safe === jobId && !reservedName.test(safe)) return `${safe}.yaml`;
  return `${safe}-${createHash('sha256').update(jobId).digest('hex').slice(0, 8)}.yaml`;
}

/** A one-shot job whose fire has passed (it ran or was missed): it has no next run. */
function firedOnce(job: JobRecord) {
  return job.interval_seconds === null && job.cron === null && job.next_run_at === null;
}

function header(job: JobRecord, store: Store, now: Date): string {
  const lines = [`Exported from the ${store.kind} store of jobs-service at ${now.toISOString()} (npm run export).`];
  if (redactsNotify(job)) lines.push('Webhook secrets its notification rules held inline are written as [redacted]: put them back, or refer to secrets.');
  if (JSON.stringify(redactKwargs(job.kwargs)) !== JSON.stringify(job.kwargs)) {
    lines.push('Credentials its kwargs held inline are written as [redacted]: put them back, or refer to secrets ({"$secret": NAME}).');
  }
  if (job.source === 'file') lines.push(`It was the default job of ${job.source_file}; imported, it is an ordinary job.`);
  if (firedOnce(job)) {
    const last = job.last_run_at ? `, last at ${job.last_run_at.toISOString()} (${job.last_status})` : '';
    lines.push(`This one-shot job has fired already${last}:`, 'importing it into a store that does not have it runs it again.');
  }
  return lines.map((l) => `# ${l}\n`).join('');
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await jobFileNames(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TransferError(`${dir} does not exist`);
    if (code === 'ENOTDIR') throw new TransferError(`${dir} is not a folder`);
    throw err;
  }
}

export interface ExportResult {
  files: Array<{ job_id: string; file: string }>;
  /** One-shot jobs that have fired already: imported into a store without them, they run again. */
  fired: string[];
}

/**
 * Writes every job of `store` into `dir` (created when missing), one YAML file per job.
 * `dir` must hold no job files yet: stale files would be imported along with the new ones.
 */
export async function exportJobs(store: Store, dir: string, now = new Date()): Promise<ExportResult> {
  // Only the owner reads what is exported: job definitions can hold more than they should.
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const present = await listDir(dir);
  if (present.length > 0) {
    throw new TransferError(`${dir} holds job files already (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): export into an empty or new folder`);
  }
  // Read everything before writing anything, so a lost database leaves no half export.
  const jobs: JobRecord[] = [];
  let after: string | null = null;
  do {
    const page = await store.listJobs(after, 500);
    jobs.push(...page.items);
    after = page.next;
  } while (after !== null);

  const files: ExportResult['files'] = [];
  const taken = new Map<string, string>();
  for (const job of jobs) {
    const file = jobFileName(job.job_id);
    const other = taken.get(file);
    if (other !== undefined) throw new TransferError(`job_ids '${other}' and '${job.job_id}' would both be written to ${file}`);
    taken.set(file, job.job_id);
    const text = header(job, store, now) + YAML.stringify(jobDefinition(job), { lineWidth: 0 });
    await fs.writeFile(path.join(dir, file), text, { flag: 'wx', mode: 0o600 });
    files.push({ job_id: job.job_id, file });
  }
  return { files, fired: jobs.filter(firedOnce).map((j) => j.job_id) };
}

export interface ImportResult {
  created: string[];
  updated: string[];
}

// Imported jobs are the store's own from now on: source 'api', never pruned with default jobs.
// A `when` already past is accepted, as in default-job files.
const importContext: ScheduleContext = { source: 'api', sourceFile: null, allowPastWhen: true };

/**
 * Upserts every *.yaml / *.yml file of `dir` by job_id through the scheduling core (kwargs
 * checked against the handler's schema, schedule row created). Every file is parsed and
 * validated before any is written: a bad file imports nothing.
 */
export async function importJobs(dir: string, scheduler: Scheduler, store: Store): Promise<ImportResult> {
  const names = await listDir(dir);
  let requests: Awaited<ReturnType<typeof checkJobFiles>>;
  try {
    requests = await checkJobFiles(dir, names, scheduler, () => importContext);
  } catch (err) {
    if (err instanceof DefaultJobError) {
      throw new TransferError(`job file ${path.join(dir, err.file)}: ${err.field}: ${err.reason}; nothing was imported`, err.file, err.field);
    }
    throw err;
  }
  const result: ImportResult = { created: [], updated: [] };
  for (const { req } of requests) {
    const existed = (await store.getJob(req.job_id!)) !== null;
    await scheduler.upsertJob(req, importContext);
    (existed ? result.updated : result.created).push(req.job_id!);
  }
  return result;
}

/** `npm run export`: opens only the configured store, reads its jobs and closes it. */
export async function exportFromConfig(config: Config, dir: string): Promise<ExportResult> {
  if (config.storeKind === 'embedded') {
    // Opening a missing data folder would create an empty store and export nothing.
    const found = await fs.stat(path.join(config.dataDir, 'PG_VERSION')).then(
      () => true,
      () => false,
    );
    if (!found) throw new TransferError(`there is no embedded store in ${config.dataDir} (JOBS_DATA_DIR)`);
  }
  const { store } = await openStore(config);
  try {
    return await exportJobs(store, dir);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') {
      throw new TransferError('the database has no jobs-service tables: does DATABASE_URL name the right database and schema?');
    }
    throw err;
  } finally {
    await store.close();
  }
}

/**
 * `npm run import`: boots the service on the configured store without a worker (no job runs
 * here), without touching the stored default jobs or the stored service state, imports and
 * closes it.
 */
export async function importFromConfig(config: Config, dir: string, log: Logger): Promise<ImportResult> {
  await listDir(dir); // a wrong folder fails before the store is opened (or created)
  const service = await createService({ ...config, worker: false, startPaused: null }, { log, defaultJobs: false });
  try {
    return await importJobs(dir, service.scheduler, service.store);
  } finally {
    await service.close();
  }
}
