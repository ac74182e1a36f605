/**
 * jobsctl: jobs-service from the command line, built on the client SDK. Tables for people,
 * `--json` for scripts. Exit codes: 0 ok, 1 the service said no, 2 usage error, 3 the service
 * cannot be reached, 4 a run that --wait waited for did not succeed (or the wait ran out).
 * Each command group lives in commands/; this file holds the global options and the exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { ProblemError, ServiceUnreachableError } from '../client/index.js';
import { addExecutionCommands, addBatchCommand, addEventsCommand } from './commands/executions.js';
import { addJobCommands } from './commands/jobs.js';
import { addRunCommand } from './commands/run.js';
import { addSecretCommands } from './commands/secrets.js';
import { addHandlersCommand, addServiceCommands } from './commands/service.js';
import { addWorkerCommands } from './commands/workers.js';
import { addWhyCommand } from './commands/why.js';
import { cliContext, type Globals, type Io } from './context.js';
import { exitCodes } from './exit-codes.js';
import * as fmt from './format.js';
import { httpUrl, integer, packageVersion } from './options.js';

export { exitCodes } from './exit-codes.js';
export type { Io } from './context.js';
export const defaultUrl = 'http://127.0.0.1:34000/api/v1';

/** Runs jobsctl with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const cli = cliContext(io, (code) => (exitCode = code));

  const program = new Command('jobsctl')
    .description('Manage jobs-service: jobs, runs, workers, the service and its handlers.')
    .version(packageVersion())
    .addOption(new Option('--url <url>', 'the API root').env('JOBS_URL').default(defaultUrl).argParser(httpUrl))
    .addOption(new Option('--token <token>', 'sent as Authorization: Bearer <token>').env('JOBS_TOKEN'))
    .option('--json', 'print machine-readable JSON on stdout')
    .addOption(new Option('--request-timeout <seconds>', 'give up on a request after this long').default(30).argParser(integer(1)))
    .exitOverride()
    .configureOutput({ writeOut: cli.out, writeErr: cli.err })
    .showHelpAfterError('(add --help for usage)');

  // The order here is the order of `jobsctl --help`.
  addJobCommands(program, cli);
  addWhyCommand(program, cli);
  addRunCommand(program, cli);
  addExecutionCommands(program, cli);
  addBatchCommand(program, cli);
  addEventsCommand(program, cli);
  addWorkerCommands(program, cli);
  addServiceCommands(program, cli);
  addHandlersCommand(program, cli);
  addSecretCommands(program, cli);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    const json = program.opts<Globals>().json === true;
    if (e instanceof CommanderError) return e.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    if (e instanceof ProblemError) {
      cli.err(json ? `${JSON.stringify(e.problem)}\n` : `jobsctl: ${fmt.problemText(e.problem)}\n`);
      return exitCodes.refused;
    }
    if (e instanceof ServiceUnreachableError) {
      cli.err(`jobsctl: ${e.message}\n`);
      return exitCodes.unreachable;
    }
    throw e;
  }
}
