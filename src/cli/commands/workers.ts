import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as fmt from '../format.js';
import { integer } from '../options.js';

/** `jobsctl workers ...`: list (the default), get, block, unblock. */
export function addWorkerCommands(program: Command, { ctx, show, morePages }: CliContext) {
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
}
