import { Option, type Command } from 'commander';
import type { ExecutionStatus } from '../../client/index.js';
import type { CliContext } from '../context.js';
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
export function addExecutionCommands(program: Command, { ctx, show, morePages, err }: CliContext) {
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
