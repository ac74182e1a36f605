/**
 * jobsctl: jobs-service from the command line, built on the client SDK. Tables for people,
 * `--json` for scripts. Exit codes: 0 ok, 1 the service said no, 2 usage error, 3 the service
 * cannot be reached, 4 a run that --wait waited for did not succeed (or the wait ran out).
 */
import { createRequire } from 'node:module';
import cliProgress from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  createClient,
  isFinal,
  ProblemError,
  ServiceUnreachableError,
  WaitTimeoutError,
  type Batch,
  type CreateJobRequest,
  type Execution,
  type ExecutionStatus,
  type Failure,
  type Job,
  type JobsClient,
} from '../client/index.js';
import * as fmt from './format.js';

export const exitCodes = { ok: 0, refused: 1, usage: 2, unreachable: 3, runNotSucceeded: 4 } as const;
export const defaultUrl = 'http://127.0.0.1:34000/api/v1';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

interface Globals {
  url: string;
  token?: string;
  json?: boolean;
  requestTimeout: number;
}

const executionStatuses: ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'lost'];

function integer(min: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not an integer.');
    const n = Number(value);
    if (n < min) throw new InvalidArgumentError(`must be ${min} or more.`);
    return n;
  };
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON: ${(err as Error).message}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function httpUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL.');
  return value;
}

/** A grace time is seconds, or a duration the service reads ("10 minutes"). */
const firstSentence = (s: string) => /^.*?[.!?](?=\s|$)/s.exec(s)?.[0] ?? s;

const graceTime = (value: string): number | string => (/^\d+$/.test(value) ? Number(value) : value);

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('jobs-service/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs jobsctl with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const out = (s: string) => io.stdout.write(s);
  const err = (s: string) => io.stderr.write(s);

  const program = new Command('jobsctl')
    .description('Manage jobs-service: jobs, runs, workers, the service and its handlers.')
    .version(packageVersion())
    .addOption(new Option('--url <url>', 'the API root').env('JOBS_URL').default(defaultUrl).argParser(httpUrl))
    .addOption(new Option('--token <token>', 'sent as Authorization: Bearer <token>').env('JOBS_TOKEN'))
    .option('--json', 'print machine-readable JSON on stdout')
    .addOption(new Option('--request-timeout <seconds>', 'give up on a request after this long').default(30).argParser(integer(1)))
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .showHelpAfterError('(add --help for usage)');

  let client: JobsClient | undefined;
  const ctx = (cmd: Command) => {
    const g = cmd.optsWithGlobals<Globals>();
    client ??= createClient({ baseUrl: g.url, token: g.token, timeoutMs: g.requestTimeout * 1000 });
    return { client, json: g.json === true };
  };
  /** JSON on stdout for scripts, or the text for people. */
  const show = (json: boolean, value: unknown, text: () => string) => out(json ? `${JSON.stringify(value, null, 2)}\n` : text());
  const morePages = (json: boolean, next: string | null) => {
    if (!json && next) err(`more: add --cursor ${next}\n`);
  };

  // ---- jobs
  const jobs = program.command('jobs').description('list, show, create, pause, resume and delete jobs');
  jobs
    .command('list')
    .description('jobs in job_id order, or failure records')
    .addOption(new Option('--type <type>', 'jobs (user), failure records (failed) or both (all)').choices(['user', 'failed', 'all']).default('user'))
    .option('--limit <n>', 'entries per page', integer(1))
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(async (o: { type: 'user' | 'failed' | 'all'; limit?: number; cursor?: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const page = await client.jobs.list({ job_type: o.type, limit: o.limit, cursor: o.cursor });
      show(json, page, () => {
        const isJob = (x: Job | Failure): x is Job => 'job_id' in x;
        const found = page.jobs.filter(isJob);
        const failures = page.jobs.filter((x): x is Failure => !isJob(x));
        const parts: string[] = [];
        if (o.type !== 'failed') parts.push(fmt.jobsTable(found));
        if (o.type !== 'user')
          parts.push(
            fmt.table(
              ['FAILED RUN', 'JOB', 'HANDLER', 'TIME', 'ERROR'],
              failures.map((f) => [f.execution_id, f.failed_job_id, f.handler, fmt.time(f.time), f.error.split('\n')[0].slice(0, 80)]),
              'no failure records',
            ),
          );
        return parts.join('\n');
      });
      morePages(json, page.next_cursor);
    });
  jobs
    .command('get')
    .description('one job with its next and last run and the stats of its runs')
    .argument('<job>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const job = await client.jobs.get(id);
      show(json, job, () => fmt.jobDetails(job));
    });
  jobs
    .command('create')
    .description('create a job: once now without a schedule, at --when, --every interval or on --cron')
    .requiredOption('--handler <name>', 'the handler that runs it (see: jobsctl handlers)')
    .option('--id <job_id>', 'the job id; generated when omitted')
    .option('--kwargs <json>', "the handler's arguments, a JSON object", jsonObject)
    .option('--every <interval>', 'repeat every interval: "5 minutes", "1 day", "5:00:00"')
    .option('--cron <expression>', 'repeat on a cron schedule ("30 2 * * *")')
    .option('--timezone <zone>', 'IANA zone of the cron schedule (default UTC)')
    .option('--when <time>', 'first run time (ISO-8601, UTC unless it has an offset)')
    .option('--grace <seconds>', 'how late a run may start before it is recorded as missed (seconds or "10 minutes")', graceTime)
    .option('--timeout <seconds>', 'seconds a run may take', integer(1))
    .addOption(new Option('--policy <policy>', 'what a fire does while a run is active').choices(['allow', 'forbid', 'replace']))
    .option('--retries <n>', 'further attempts after a failed, timed-out or lost run', integer(0))
    .option('--retry-backoff <seconds>', 'seconds before the first retry, doubled for each further one', integer(0))
    .option('--paused', 'create it paused')
    .action(async (o: CreateOptions, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const body: CreateJobRequest = {
        handler: o.handler,
        job_id: o.id,
        kwargs: o.kwargs,
        periodically: o.every,
        cron: o.cron,
        timezone: o.timezone,
        when: o.when,
        misfire_grace_time: o.grace,
        timeout: o.timeout,
        concurrency_policy: o.policy,
        retries: o.retries,
        retry_backoff: o.retryBackoff,
        state: o.paused ? 'paused' : undefined,
      };
      const created = await client.jobs.create(body);
      show(json, created, () => fmt.jobDetails(created.job));
    });
  for (const [verb, state] of [
    ['pause', 'paused'],
    ['resume', 'running'],
  ] as const) {
    jobs
      .command(verb)
      .description(verb === 'pause' ? 'pause a job: it keeps its schedule and runs nothing until resumed' : 'resume a paused job')
      .argument('<job>', 'job id')
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const { client, json } = ctx(cmd);
        const r = await client.jobs.setState(id, state);
        show(json, r, () => `job ${r.job_id} ${r.state}\n`);
      });
  }
  jobs
    .command('delete')
    .description('delete a job and its schedule (its run records stay)')
    .argument('<job>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.delete(id);
      show(json, r, () => `deleted job ${r.removed.join(', ')}\n`);
    });
  jobs
    .command('clean-failed')
    .description('delete every failure record')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.cleanFailed();
      show(json, r, () => `deleted ${r.removed.length} failure record(s)\n`);
    });

  // ---- run
  program
    .command('run')
    .description('run a job now, once or --times N (a batch), optionally waiting for the runs to end')
    .argument('<job>', 'job id')
    .option('--times <n>', 'how many runs (1 to 1000)', integer(1), 1)
    .option('--kwargs <json>', "merged over the job's kwargs for these runs, a JSON object", jsonObject)
    .option('--wait', 'wait for the runs to end; exit 4 unless all succeeded')
    .option('--wait-timeout <seconds>', 'stop waiting after this long (exit 4)', integer(1))
    .action(async (jobId: string, o: { times: number; kwargs?: Record<string, unknown>; wait?: boolean; waitTimeout?: number }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const accepted = await client.jobs.run(jobId, { times: o.times, kwargs: o.kwargs });
      if (!o.wait) {
        show(json, accepted, () =>
          accepted.batch_id
            ? `queued ${accepted.execution_ids.length} runs as batch ${accepted.batch_id}\n`
            : `queued run ${accepted.execution_ids[0]}\n`,
        );
        return;
      }
      if (!json) {
        err(accepted.batch_id ? `queued ${accepted.execution_ids.length} runs as batch ${accepted.batch_id}\n` : `queued run ${accepted.execution_ids[0]}\n`);
      }
      const waited = await waitForRuns(client, accepted.execution_ids, accepted.batch_id, o.waitTimeout, io);
      const summary = { batch: waited.batch, executions: waited.executions, timed_out: waited.timedOut };
      show(json, summary, () => {
        // A big batch lists only the runs that did not succeed; executions list --batch has them all.
        const listed = waited.executions.length <= 20 ? waited.executions : waited.executions.filter((e) => e.status !== 'succeeded').slice(0, 20);
        const lines = listed.length ? [fmt.executionsTable(listed)] : [];
        if (listed.length < waited.executions.length) lines.push(`(${waited.executions.length - listed.length} run(s) not listed; all of them: jobsctl executions list --batch ${accepted.batch_id})\n`);
        const byStatus: Record<string, number> = {};
        for (const e of waited.executions) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
        const took = waited.batch ? ` in ${fmt.duration(waited.batch.duration_ms)}` : waited.executions[0]?.duration_ms != null ? ` in ${fmt.duration(waited.executions[0].duration_ms)}` : '';
        lines.push(`${waited.executions.length} run(s): ${fmt.counts(byStatus)}${waited.timedOut ? ' (stopped waiting)' : took}\n`);
        return lines.join('');
      });
      if (waited.timedOut) err(`jobsctl: stopped waiting after ${o.waitTimeout}s; the runs go on\n`);
      if (waited.timedOut || waited.executions.some((e) => e.status !== 'succeeded')) exitCode = exitCodes.runNotSucceeded;
    });

  // ---- executions
  const executions = program.command('executions').description('list, show, read the output of and cancel runs');
  executions
    .command('list')
    .description('runs, newest first')
    .option('--job <job>', 'runs of this job')
    .addOption(new Option('--status <status>', 'runs in this status').choices(executionStatuses))
    .option('--handler <name>', 'runs of this handler')
    .option('--batch <batch>', 'runs of this batch')
    .option('--parent <run>', 'child runs of this run')
    .option('--since <time>', 'created at or after (ISO-8601)')
    .option('--until <time>', 'created before (ISO-8601)')
    .option('--limit <n>', 'entries per page', integer(1))
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(async (o: ListExecutionOptions, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const page = await client.executions.list({
        job_id: o.job,
        status: o.status,
        handler: o.handler,
        batch_id: o.batch,
        parent_id: o.parent,
        since: o.since,
        until: o.until,
        limit: o.limit,
        cursor: o.cursor,
      });
      show(json, page, () => fmt.executionsTable(page.executions));
      morePages(json, page.next_cursor);
    });
  executions
    .command('get')
    .description('one run: times, duration, worker, attempt, progress, error')
    .argument('<run>', 'execution id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const e = await client.executions.get(id);
      show(json, e, () => fmt.executionDetails(e) + (e.stack ? `\n${e.stack}\n` : ''));
    });
  executions
    .command('output')
    .description('the lines a run logged')
    .argument('<run>', 'execution id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const o = await client.executions.output(id);
      show(json, o, () => o.lines.map((l) => `${l}\n`).join(''));
      if (!json && o.truncated) err('(older lines were dropped)\n');
    });
  executions
    .command('cancel')
    .description('cancel a queued or running run')
    .argument('<run>', 'execution id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const e = await client.executions.cancel(id);
      show(json, e, () => (e.status === 'cancelled' ? `run ${e.id} cancelled\n` : `run ${e.id} is ${e.status}; its worker is stopping it\n`));
    });

  program
    .command('batch')
    .description('the runs of one batch, counted by status')
    .argument('<batch>', 'batch id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const b = await client.batches.get(id);
      show(json, b, () => fmt.batchDetails(b));
    });

  // ---- workers
  const workers = program.command('workers').description('worker processes: list (the default), get, block, unblock');
  workers
    .command('list', { isDefault: true })
    .description('worker processes, newest first')
    .option('--limit <n>', 'entries per page', integer(1))
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(async (o: { limit?: number; cursor?: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const page = await client.workers.list({ limit: o.limit, cursor: o.cursor });
      show(json, page, () => fmt.workersTable(page.workers));
      morePages(json, page.next_cursor);
    });
  workers
    .command('get')
    .description('one worker')
    .argument('<worker>', 'worker id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const w = await client.workers.get(id);
      show(json, w, () => fmt.workerDetails(w));
    });
  for (const [verb, state] of [
    ['block', 'blocked'],
    ['unblock', 'active'],
  ] as const) {
    workers
      .command(verb)
      .description(verb === 'block' ? 'the worker takes no new runs; its runs in progress finish' : 'the worker takes runs again')
      .argument('<worker>', 'worker id')
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const { client, json } = ctx(cmd);
        const w = await client.workers.setState(id, state);
        show(json, w, () => `worker ${w.id} ${w.state}\n`);
      });
  }

  // ---- service
  const service = program.command('service').description('the whole scheduler: status, pause, resume');
  service
    .command('status')
    .description('running or paused, readiness, and counts of workers, jobs and runs')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const [state, stats, ready] = await Promise.all([
        client.service.status(),
        client.service.stats(),
        client.service.readiness().then(
          () => ({ ready: true, detail: null as string | null }),
          (e: unknown) => {
            if (e instanceof ProblemError) return { ready: false, detail: e.detail };
            throw e;
          },
        ),
      ]);
      show(json, { state: state.state, ready: ready.ready, ...stats }, () =>
        fmt.details([
          ['state', state.state],
          ['ready', ready.ready ? 'yes' : `no (${ready.detail})`],
          ['workers', fmt.counts(stats.workers)],
          ['jobs', stats.jobs],
          ['runs', fmt.counts(stats.executions)],
        ]),
      );
    });
  for (const [verb, state] of [
    ['pause', 'paused'],
    ['resume', 'running'],
  ] as const) {
    service
      .command(verb)
      .description(verb === 'pause' ? 'no run starts anywhere until resumed; runs in progress finish' : 'runs start again')
      .action(async (_o: unknown, cmd: Command) => {
        const { client, json } = ctx(cmd);
        const r = await client.service.setState(state);
        show(json, r, () => `service ${r.state}\n`);
      });
  }

  // ---- handlers
  program
    .command('handlers')
    .description('the handler catalog')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.handlers.list();
      show(json, r, () =>
        fmt.table(
          ['HANDLER', 'REQUIRED KWARGS', 'STEPS', 'DESCRIPTION'],
          r.handlers.map((h) => [h.name, ((h.kwargs_schema.required as string[] | undefined) ?? []).join(', '), h.steps.join(', '), firstSentence(h.description)]),
          'no handlers',
        ),
      );
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    const json = program.opts<Globals>().json === true;
    if (e instanceof CommanderError) return e.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    if (e instanceof ProblemError) {
      err(json ? `${JSON.stringify(e.problem)}\n` : `jobsctl: ${fmt.problemText(e.problem)}\n`);
      return exitCodes.refused;
    }
    if (e instanceof ServiceUnreachableError) {
      err(`jobsctl: ${e.message}\n`);
      return exitCodes.unreachable;
    }
    throw e;
  }
}

interface CreateOptions {
  handler: string;
  id?: string;
  kwargs?: Record<string, unknown>;
  every?: string;
  cron?: string;
  timezone?: string;
  when?: string;
  grace?: number | string;
  timeout?: number;
  policy?: 'allow' | 'forbid' | 'replace';
  retries?: number;
  retryBackoff?: number;
  paused?: boolean;
}

interface ListExecutionOptions {
  job?: string;
  status?: ExecutionStatus;
  handler?: string;
  batch?: string;
  parent?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

/**
 * Waits for the runs to end: a progress bar on a terminal, a line per change otherwise (both
 * on stderr, so stdout holds only the result). A batch counts ended runs; one run shows the
 * progress its handler reports.
 */
async function waitForRuns(
  client: JobsClient,
  ids: string[],
  batchId: string | null,
  timeoutSeconds: number | undefined,
  io: Io,
): Promise<{ batch: Batch | null; executions: Execution[]; timedOut: boolean }> {
  const total = batchId ? ids.length : 100;
  const unit = batchId ? 'runs ended' : '%';
  const bar = io.stderr.isTTY
    ? new cliProgress.SingleBar(
        { stream: io.stderr, format: ` {bar} {value}/{total} ${unit} | {statuses}`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { statuses: 'queued' });
  let lastLine = '';
  const report = (value: number, statuses: string) => {
    if (bar) return bar.update(value, { statuses });
    const line = batchId ? `${value}/${total} runs ended: ${statuses}` : `run ${ids[0]}: ${statuses}${statuses === 'running' && value ? ` ${value}%` : ''}`;
    if (line !== lastLine) io.stderr.write(`${line}\n`);
    lastLine = line;
  };
  const wait = { intervalMs: 250, timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000 };
  let batch: Batch | null = null;
  let timedOut = false;
  try {
    if (batchId) {
      batch = await client.waitForBatch(batchId, {
        ...wait,
        onUpdate: (b) => report(b.total - (b.counts.queued ?? 0) - (b.counts.running ?? 0), fmt.counts(b.counts)),
      });
    } else {
      await client.waitForExecution(ids[0], {
        ...wait,
        onUpdate: (e) => report(isFinal(e.status) ? 100 : Math.round(e.progress ?? 0), e.status),
      });
    }
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e;
    timedOut = true;
    if (batchId) batch = e.last as Batch;
  } finally {
    bar?.stop();
  }
  const executions = batchId
    ? (await client.executions.list({ batch_id: batchId, limit: 1000 })).executions.reverse()
    : [await client.executions.get(ids[0])];
  return { batch, executions, timedOut };
}
