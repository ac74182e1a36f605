import { Option, type Command } from 'commander';
import { ProblemError } from '../../client/index.js';
import type { CliContext } from '../context.js';
import * as fmt from '../format.js';
import { firstSentence, integer, jsonList } from '../options.js';
import type { DeliveryStatus, NotifyRule } from '../../client/index.js';

/** `jobsctl service ...`: status, pause, resume of the whole scheduler. */
export function addServiceCommands(program: Command, { ctx, show }: CliContext) {
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
  service
    .command('caller')
    .description('the token this call carries: its name and role')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.service.caller();
      show(json, r, () =>
        fmt.details([
          ['name', r.name ?? '(no token checked)'],
          ['role', r.role],
          ['tokens checked', r.tokens_checked ? 'yes' : 'no'],
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
  const notify = service.command('notify').description('the notification rules every job gets besides its own (admin)');
  const showRules = (json: boolean, r: { notify: NotifyRule[]; updated_at: string | null; updated_by: string | null }) =>
    show(json, r, () =>
      r.notify.length ? `${r.notify.map((x) => fmt.ruleText(x)).join('\n')}\n(set ${fmt.time(r.updated_at)} by ${r.updated_by ?? '-'})\n` : 'no default notification rules\n',
    );
  notify
    .command('get')
    .description('the default rules, credentials redacted')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      showRules(json, await client.service.notify());
    });
  notify
    .command('set <rules>')
    .description('replace the default rules with a JSON list ([] removes them): [{"on": ["failed"], "slack": {"url": {"$secret": "slack-ops"}}}]')
    .action(async (rules: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      showRules(json, await client.service.setNotify(jsonList<NotifyRule>(rules)));
    });
}

/** `jobsctl notifications deliveries`: notifications queued and sent. */
export function addNotificationCommands(program: Command, { ctx, show, morePages }: CliContext) {
  const notifications = program.command('notifications').description('notifications of failed, late and recovered runs');
  notifications
    .command('deliveries')
    .description('deliveries newest first: event, channel, status and tries')
    .option('--job <job_id>', 'only of this job')
    .addOption(new Option('--status <status>', 'only in this status').choices(['pending', 'sending', 'delivered', 'failed']))
    .option('--limit <n>', 'deliveries per page', integer(1))
    .option('--cursor <cursor>', 'the next page')
    .action(async (o: { job?: string; status?: DeliveryStatus; limit?: number; cursor?: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.notifications.deliveries({ job_id: o.job, status: o.status, limit: o.limit, cursor: o.cursor });
      show(json, r, () => fmt.deliveriesTable(r.deliveries));
      morePages(json, r.next_cursor);
    });
}

/** `jobsctl handlers`: the handler catalog. */
export function addHandlersCommand(program: Command, { ctx, show }: CliContext) {
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
}
