import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as fmt from '../format.js';
import { integer } from '../options.js';

/** The value to store, read from stdin (never from the command line, where `ps` shows it); one final newline dropped. */
async function readValue(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `jobsctl secrets ...`: list, get, create, set, delete (admin). Values are read from stdin and never shown. */
export function addSecretCommands(program: Command, { ctx, show, morePages, io }: CliContext) {
  const secrets = program.command('secrets').description('values kwargs refer to as {"$secret": NAME}: names and dates only, values write-only (admin)');
  const row = (s: { name: string; key_id: string; created_at: string; updated_at: string; updated_by: string | null }) => [
    s.name,
    fmt.time(s.updated_at),
    s.updated_by ?? '-',
    fmt.time(s.created_at),
    s.key_id,
  ];
  const head = ['SECRET', 'UPDATED', 'UPDATED BY', 'CREATED', 'KEY'];

  secrets
    .command('list')
    .description('secrets by name')
    .option('--limit <n>', 'secrets per page', integer(1))
    .option('--cursor <cursor>', 'the next page')
    .action(async (o: { limit?: number; cursor?: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.secrets.list({ limit: o.limit, cursor: o.cursor });
      show(json, r, () => fmt.table(head, r.secrets.map(row), 'no secrets'));
      morePages(json, r.next_cursor);
    });

  secrets
    .command('get <name>')
    .description("one secret's dates and key (never its value)")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const s = await client.secrets.get(name);
      show(json, s, () =>
        fmt.details([
          ['secret', s.name],
          ['created', `${fmt.time(s.created_at)} by ${s.created_by ?? '-'}`],
          ['updated', `${fmt.time(s.updated_at)} by ${s.updated_by ?? '-'}`],
          ['key', s.key_id],
        ]),
      );
    });

  for (const [verb, description] of [
    ['create', 'store a new secret, its value read from stdin (refused when the name is taken)'],
    ['set', 'set the value of a secret, read from stdin: rotates it, or creates it'],
  ] as const) {
    secrets
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const { client, json } = ctx(cmd);
        const value = await readValue(io.stdin ?? process.stdin);
        const s = verb === 'create' ? await client.secrets.create(name, value) : await client.secrets.set(name, value);
        show(json, s, () => `secret ${s.name} ${verb === 'create' ? 'created' : 'set'}\n`);
      });
  }

  secrets
    .command('delete <name>')
    .description('delete a secret; runs of jobs that refer to it fail until it exists again')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      await client.secrets.delete(name);
      show(json, { deleted: name }, () => `secret ${name} deleted\n`);
    });
}
