import fs from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CreateJobRequest, Failure, Job, ListJobsQuery, NotifyRule, UpdateJobRequest } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import * as fmt from '../format.js';
import { graceTime, integer, jsonList, jsonObject } from '../options.js';

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
  onSuccess: string[];
  onFailure: string[];
  onFinish: string[];
  afterAll: string[];
  catchUp?: 'none' | 'last' | 'all';
  startAt?: string;
  endAt?: string;
  maxRuns?: number;
  jitter?: number;
  notify?: NotifyRule[];
  pauseAfterFailures?: number;
  startWithin?: number;
  runWithin?: number;
}

/** The options of a run's rules that create and update share: each with one parser and one meaning. */
function runOptions(command: Command): Command {
  return command
    .option('--grace <seconds>', 'how late a run may start before it is recorded as missed (seconds or "10 minutes")', graceTime)
    .option('--timeout <seconds>', 'seconds a run may take', integer(1))
    .addOption(new Option('--policy <policy>', 'what a fire does while a run is active').choices(['allow', 'forbid', 'replace']))
    .option('--retries <n>', 'further attempts after a failed, timed-out or lost run', integer(0))
    .option('--retry-backoff <seconds>', 'seconds before the first retry, doubled for each further one', integer(0));
}

/** Those options as the fields of a create or change body (undefined: not given). */
function runFields(o: Pick<CreateOptions, 'grace' | 'timeout' | 'policy' | 'retries' | 'retryBackoff'>) {
  return { misfire_grace_time: o.grace, timeout: o.timeout, concurrency_policy: o.policy, retries: o.retries, retry_backoff: o.retryBackoff };
}

/** A repeatable option's values, in the order given. */
const collect = (value: string, previous: string[]) => [...previous, value];

/** The jobs of a bulk create: a JSON array of `POST /jobs` bodies, or `{"jobs": [...]}`, from a file or stdin (`-`). */
async function readJobsFile(file: string, stdin: NodeJS.ReadableStream): Promise<CreateJobRequest[]> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = await fs.readFile(file, 'utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file === '-' ? 'stdin' : file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(value) ? value : (value as { jobs?: unknown } | null)?.jobs;
  if (!Array.isArray(list)) throw new Error(`${file === '-' ? 'stdin' : file} must hold a JSON array of jobs, or an object with a "jobs" array`);
  return list as CreateJobRequest[];
}

interface UpdateOptions extends Omit<CreateOptions, 'handler' | 'id' | 'paused' | 'onSuccess' | 'onFailure' | 'onFinish' | 'afterAll'> {
  handler?: string;
  unset?: string[];
  ifVersion?: number;
  detach?: boolean;
}

/** The fields `jobs update --unset` may clear, by the names of the API. */
const unsettable = ['periodically', 'cron', 'timezone', 'when', 'misfire_grace_time', 'timeout', 'concurrency_policy', 'retries', 'retry_backoff'];

/** `jobsctl jobs ...`: list, get, create, create-many, update, versions, rollback, next-fires, backfill, pause, resume, delete, clean-failed. */
export function addJobCommands(program: Command, cli: CliContext) {
  const { ctx, show, morePages, io } = cli;
  const jobs = program.command('jobs').description('list, show, create, pause, resume and delete jobs');
  jobs
    .command('list')
    .description('jobs in job_id order, or failure records')
    .addOption(new Option('--type <type>', 'jobs (user), failure records (failed) or both (all)').choices(['user', 'failed', 'all']).default('user'))
    .option('--limit <n>', 'entries per page', integer(1))
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .option('--search <prefix>', 'only jobs whose job_id starts with this')
    .option('--handler <name>', 'only jobs of this handler')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(['running', 'paused']))
    .addOption(new Option('--source <source>', 'only jobs from the API or from a default-jobs file').choices(['api', 'file']))
    .option('--last-status <status>', 'only jobs whose latest run has this status')
    .action(
      async (
        o: { type: 'user' | 'failed' | 'all'; limit?: number; cursor?: string } & Pick<ListJobsQuery, 'search' | 'handler' | 'state' | 'source'> & { lastStatus?: string },
        cmd: Command,
      ) => {
        const { client, json } = ctx(cmd);
        const filter = { search: o.search, handler: o.handler, state: o.state, source: o.source, last_status: o.lastStatus as ListJobsQuery['last_status'] };
        const page = await client.jobs.list({ job_type: o.type, limit: o.limit, cursor: o.cursor, ...filter });
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
      },
    );
  jobs
    .command('get')
    .description('one job with its next and last run and the stats of its runs')
    .argument('<job>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const job = await client.jobs.get(id);
      show(json, job, () => fmt.jobDetails(job));
    });
  runOptions(
    jobs
      .command('create')
      .description('create a job: once now without a schedule, at --when, --every interval or on --cron')
      .requiredOption('--handler <name>', 'the handler that runs it (see: jobsctl handlers)')
      .option('--id <job_id>', 'the job id; generated when omitted')
      .option('--kwargs <json>', "the handler's arguments, a JSON object", jsonObject)
      .option('--every <interval>', 'repeat every interval: "5 minutes", "1 day", "5:00:00"')
      .option('--cron <expression>', 'repeat on a cron schedule ("30 2 * * *")')
      .option('--timezone <zone>', 'IANA zone of the cron schedule (default UTC)')
      .option('--when <time>', 'first run time (ISO-8601, UTC unless it has an offset)'),
  )
    .option('--on-success <job>', 'start this job when a run succeeds (repeat for more)', collect, [])
    .option('--on-failure <job>', 'start this job when a run fails and no retry follows (repeat for more)', collect, [])
    .option('--on-finish <job>', 'start this job when a run ends in any way (repeat for more)', collect, [])
    .option('--after-all <job>', 'fan-in: run once every such job has succeeded since the last run (repeat for more)', collect, [])
    .option('--paused', 'create it paused')
    .addOption(new Option('--catch-up <policy>', 'fires missed while down or paused: none (one missed record), last (run once), all (run each)').choices(['none', 'last', 'all']))
    .option('--start-at <time>', 'no fire before this time (ISO-8601)')
    .option('--end-at <time>', 'no fire after this time (ISO-8601)')
    .option('--max-runs <n>', 'runs its fires may start, then it has no next fire', integer(1))
    .option('--jitter <seconds>', 'each scheduled run starts after a random delay up to this', integer(0))
    .option('--notify <json>', 'notification rules, a JSON list: [{"on": ["failed"], "webhook": {"url": ..., "secret": ...}}]', jsonList)
    .option('--pause-after-failures <n>', 'pause the job after this many failed runs in a row', integer(1))
    .option('--start-within <seconds>', 'a run not started this long after its due time is late (notified)', integer(1))
    .option('--run-within <seconds>', 'a run running longer than this is late (notified)', integer(1))
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
        ...runFields(o),
        state: o.paused ? 'paused' : undefined,
        ...(o.onSuccess.length ? { on_success: o.onSuccess.map((job_id) => ({ job_id })) } : {}),
        ...(o.onFailure.length ? { on_failure: o.onFailure.map((job_id) => ({ job_id })) } : {}),
        ...(o.onFinish.length ? { on_finish: o.onFinish.map((job_id) => ({ job_id })) } : {}),
        ...(o.afterAll.length ? { after_all: o.afterAll } : {}),
        catch_up: o.catchUp,
        start_at: o.startAt,
        end_at: o.endAt,
        max_runs: o.maxRuns,
        jitter: o.jitter,
        notify: o.notify,
        pause_after_failures: o.pauseAfterFailures,
        deadline: o.startWithin || o.runWithin ? { start_within: o.startWithin ?? null, run_within: o.runWithin ?? null } : undefined,
      };
      const created = await client.jobs.create(body);
      show(json, created, () => fmt.jobDetails(created.job));
    });
  jobs
    .command('create-many')
    .description('create many jobs at once, all or none: a JSON array of POST /jobs bodies (or {"jobs": [...]}) from a file, or - for stdin')
    .argument('<file>', 'JSON file, or - for stdin')
    .option('--ids', 'show only the ids of the jobs created, one per line (the service answers them alone: Prefer: return=minimal)')
    .action(async (file: string, o: { ids?: boolean }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      let list: CreateJobRequest[];
      try {
        list = await readJobsFile(file, io.stdin ?? process.stdin);
      } catch (err) {
        // A file that cannot be read or is not a list of jobs is a usage error.
        cmd.error(`jobsctl: ${(err as Error).message}`, { exitCode: exitCodes.usage });
      }
      if (o.ids) {
        const ids = await client.jobs.createManyIds(list);
        show(json, ids, () => ids.job_ids.map((id) => `${id}\n`).join(''));
        return;
      }
      const created = await client.jobs.createMany(list);
      show(json, created, () => `created ${created.jobs_count} job(s)\n${fmt.jobsTable(created.jobs)}`);
    });
  runOptions(
    jobs
      .command('update')
      .description('change a job: the options given change, the rest stays; the previous definition is kept as a version')
      .argument('<job>', 'job id')
      .option('--handler <name>', 'the handler that runs it')
      .option('--kwargs <json>', "the handler's arguments, a JSON object (replaces them all)", jsonObject)
      .option('--every <interval>', 'repeat every interval instead of the schedule it has')
      .option('--cron <expression>', 'repeat on a cron schedule instead of the schedule it has')
      .option('--timezone <zone>', 'IANA zone of the cron schedule')
      .option('--when <time>', 'first run time (ISO-8601)'),
  )
    .option('--unset <fields>', `fields back to their default, comma-separated: ${unsettable.join(', ')}`, (v: string) => v.split(',').map((f) => f.trim()))
    .option('--if-version <n>', 'change only if the job is still at this version (else the service answers 412)', integer(1))
    .option('--detach', 'a job from a default-jobs file becomes a job of the API, which the next boot leaves alone')
    .action(async (id: string, o: UpdateOptions, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const body: Record<string, unknown> = {
        handler: o.handler,
        kwargs: o.kwargs,
        periodically: o.every,
        cron: o.cron,
        timezone: o.timezone,
        when: o.when,
        ...runFields(o),
        detach: o.detach,
      };
      for (const f of o.unset ?? []) {
        if (!unsettable.includes(f)) throw new InvalidArgumentError(`--unset: '${f}' is not one of ${unsettable.join(', ')}`);
        body[f] = null;
      }
      const change = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as UpdateJobRequest;
      if (Object.keys(change).length === 0) throw new InvalidArgumentError('give at least one field to change');
      const r = await client.jobs.update(id, change, { ifVersion: o.ifVersion });
      show(json, r, () => fmt.jobDetails(r.job));
    });
  jobs
    .command('versions')
    .description("a job's versions, oldest first: when, by whom, what changed")
    .argument('<job>', 'job id')
    .option('--from <n>', 'the first version to list', integer(1))
    .option('--limit <n>', 'versions per page', integer(1))
    .action(async (id: string, o: { from?: number; limit?: number }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.versions(id, { from: o.from, limit: o.limit });
      show(json, r, () =>
        fmt.table(
          ['VERSION', 'CHANGED AT', 'BY', 'CHANGED'],
          r.versions.map((v) => [`${v.version}${v.version === r.version ? ' (now)' : ''}`, fmt.time(v.changed_at), v.changed_by, v.changed.join(', ')]),
          'no versions',
        ),
      );
      if (r.next_from !== null && !json) cli.err(`more: jobsctl jobs versions ${id} --from ${r.next_from}\n`);
    });
  jobs
    .command('rollback')
    .description("make an earlier version's definition the job's again, as a new version")
    .argument('<job>', 'job id')
    .argument('<version>', 'the version to go back to', integer(1))
    .option('--if-version <n>', 'only if the job is still at this version', integer(1))
    .option('--detach', 'a job from a default-jobs file becomes a job of the API')
    .action(async (id: string, version: number, o: { ifVersion?: number; detach?: boolean }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.rollback(id, version, { ifVersion: o.ifVersion, detach: o.detach });
      show(json, r, () => `job ${r.job.job_id} is at version ${r.job.version}, the definition of version ${version}\n`);
    });
  jobs
    .command('next-fires')
    .description("a job's next fire times, in UTC and in its time zone")
    .argument('<job>', 'job id')
    .option('--count <n>', 'fires to list (default 10)', integer(1))
    .action(async (id: string, o: { count?: number }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.nextFires(id, o.count);
      show(json, r, () => fmt.firesTable(r.fires, r.timezone, r.schedule_ended ? `no next fire: the schedule ended (${r.schedule_ended})` : 'no next fire'));
    });
  jobs
    .command('backfill')
    .description("run the fires of a past range of a job's schedule, as one batch")
    .argument('<job>', 'job id')
    .requiredOption('--since <time>', 'first time of the range (ISO-8601, inclusive)')
    .requiredOption('--until <time>', 'end of the range (ISO-8601, exclusive; not in the future)')
    .action(async (id: string, o: { since: string; until: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.jobs.backfill(id, o.since, o.until);
      show(json, r, () => (r.batch_id ? `queued ${r.count} run(s) in batch ${r.batch_id}\n` : 'the range holds no fire: nothing queued\n'));
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
}
