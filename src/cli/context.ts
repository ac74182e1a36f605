import type { Command } from 'commander';
import { createClient, type JobsClient } from '../client/index.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where values are read from (`secrets set`); process.stdin when not given. */
  stdin?: NodeJS.ReadableStream;
}

/** The global options, as commander gives them to every command. */
export interface Globals {
  url: string;
  token?: string;
  json?: boolean;
  requestTimeout: number;
}

/** What every command module gets from `main`: the client, where to write, the exit code. */
export interface CliContext {
  io: Io;
  out(s: string): void;
  err(s: string): void;
  /** The client made from the global options (once), and whether --json was given. */
  ctx(cmd: Command): { client: JobsClient; json: boolean };
  /** JSON on stdout for scripts, or the text for people. */
  show(json: boolean, value: unknown, text: () => string): void;
  /** Tells people how to get the next page, on stderr. */
  morePages(json: boolean, next: string | null): void;
  /** Sets the exit code of a command that ran to its end. */
  exit(code: number): void;
}

export function cliContext(io: Io, exit: (code: number) => void): CliContext {
  const out = (s: string) => void io.stdout.write(s);
  const err = (s: string) => void io.stderr.write(s);
  let client: JobsClient | undefined;
  return {
    io,
    out,
    err,
    exit,
    ctx: (cmd) => {
      const g = cmd.optsWithGlobals<Globals>();
      client ??= createClient({ baseUrl: g.url, token: g.token, timeoutMs: g.requestTimeout * 1000 });
      return { client, json: g.json === true };
    },
    show: (json, value, text) => out(json ? `${JSON.stringify(value, null, 2)}\n` : text()),
    morePages: (json, next) => {
      if (!json && next) err(`more: add --cursor ${next}\n`);
    },
  };
}
