import { Option, type Command } from 'commander';
import type { EventType, ExecutionStatus } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import * as fmt from '../format.js';
import { executionStatuses, integer } from '../options.js';

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

/** `jobsctl executions ...`: list, get, output, cancel. */
export function addExecutionCommands(program: Command, { ctx, show, morePages, out, err, exit }: CliContext) {
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
    .description('the lines a run logged; with --follow, live until the run ends')
    .argument('<run>', 'execution id')
    .option('--follow', 'print lines as the run writes them, until it ends (exit code 4 unless it succeeded)')
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      if (o.follow) {
        // Text: the lines as they come, the end on stderr. --json: one event per line.
        for await (const e of client.followOutput(id)) {
          if (json) out(`${JSON.stringify(e)}\n`);
          else if (e.event === 'output') {
            if (e.data.dropped) err(`(${e.data.dropped} lines dropped before they could be shown)\n`);
            out(e.data.lines.map((l) => `${l}\n`).join(''));
          } else if (e.event === 'end') {
            err(`run ${id} ${e.data.status}${e.data.error ? `: ${e.data.error}` : ''}\n`);
            if (e.data.status !== 'succeeded') exit(exitCodes.runNotSucceeded);
          }
        }
        return;
      }
      const output = await client.executions.output(id);
      show(json, output, () => output.lines.map((l) => `${l}\n`).join(''));
      if (!json && output.truncated) err('(older lines were dropped)\n');
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
}

/** `jobsctl batch <batch>`: the runs of one batch, counted by status. */
export function addBatchCommand(program: Command, { ctx, show }: CliContext) {
  program
    .command('batch')
    .description('the runs of one batch, counted by status')
    .argument('<batch>', 'batch id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const b = await client.batches.get(id);
      show(json, b, () => fmt.batchDetails(b));
    });
}

interface EventsOptions {
  types?: string;
  job?: string;
  execution?: string;
  batch?: string;
  handler?: string;
  after?: string;
  max?: number;
}

/** `jobsctl events`: changes of runs, jobs and the service as they happen. */
export function addEventsCommand(program: Command, { ctx, out }: CliContext) {
  program
    .command('events')
    .description('changes of runs, jobs and the service, live (until interrupted or --max)')
    .option('--types <types>', 'only these event types, comma-separated (execution.started,job.paused,...)')
    .option('--job <job>', 'events of this job')
    .option('--execution <run>', 'events of this run')
    .option('--batch <batch>', 'events of this batch')
    .option('--handler <name>', 'events of this handler')
    .option('--after <id>', 'replay the events after this event id first')
    .option('--max <n>', 'stop after this many events', integer(1))
    .action(async (o: EventsOptions, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const filter = {
        types: o.types?.split(',') as EventType[] | undefined,
        job_id: o.job,
        execution_id: o.execution,
        batch_id: o.batch,
        handler: o.handler,
      };
      let n = 0;
      for await (const e of client.events(filter, { lastEventId: o.after })) {
        out(json ? `${JSON.stringify(e)}\n` : `${fmt.eventLine(e)}\n`);
        if (o.max !== undefined && ++n >= o.max) return;
      }
    });
}
