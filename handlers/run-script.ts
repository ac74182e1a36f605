import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { defineHandler, type HandlerContext, type Kwargs } from '../src/handlers/index.js';

interface RunScriptKwargs extends Kwargs {
  script: string;
  args?: string[];
  env?: Record<string, string>;
}

interface FieldError {
  field: string;
  reason: string;
}

/*
 * Configuration, read at every call (never at import), so a change of the service's
 * environment and tests that set it after importing this module both take effect:
 *   JOBS_SCRIPTS_DIR           the scripts folder; default `job-scripts` against process.cwd()
 *   JOBS_SCRIPT_ENV_ALLOW      comma-separated names kwargs.env may set; default none
 *   JOBS_SCRIPT_KILL_GRACE_MS  SIGTERM-to-SIGKILL grace for a stopped script; default 5000
 */
function scriptsDir(): string {
  return path.resolve(process.cwd(), process.env.JOBS_SCRIPTS_DIR?.trim() || 'job-scripts');
}

function allowedEnvNames(): Set<string> {
  return new Set(
    (process.env.JOBS_SCRIPT_ENV_ALLOW ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

function killGraceMs(): number {
  const raw = process.env.JOBS_SCRIPT_KILL_GRACE_MS?.trim();
  const ms = raw ? Number(raw) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : 5000;
}

/** The same form as the schema's pattern, checked again here so no path ever slips through. */
const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;
/** Set by the service for every run; kwargs.env cannot override them. */
const RESERVED_ENV = new Set(['JOBS_EXECUTION_ID', 'JOBS_JOB_ID', 'JOBS_IDEMPOTENCY_KEY', 'JOBS_FENCING_TOKEN']);
/** A line longer than this (no newline in sight) is logged in pieces, so memory stays bounded. */
const MAX_LINE = 64 * 1024;
/** After the script and its group are gone, how long stdout/stderr may stay open (held by an escaped process). */
const DRAIN_MS = 1000;
const POLL_MS = 50;

function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return 'must be a non-empty file name';
  if (name.includes('..')) return "must be a plain file name, without '..'";
  if (name.includes('/') || name.includes('\\')) return 'must be a plain file name, without path separators';
  if (name.startsWith('.')) return "must not start with '.'";
  if (!SCRIPT_NAME.test(name)) return 'must start with a letter or digit and hold only letters, digits, ., _ and - (at most 200)';
  return null;
}

type Located = { file: string; dir: string } | { reason: string };

/**
 * Finds a script by plain name: it must resolve (symlinks followed) to an executable regular
 * file directly inside the scripts folder. Synchronous, as check() is.
 */
function locateScript(name: unknown): Located {
  const problem = nameProblem(name);
  if (problem) return { reason: problem };
  const dir = scriptsDir();
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
  } catch (err) {
    return { reason: `the scripts folder ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let file: string;
  try {
    file = fs.realpathSync(path.join(realDir, name as string));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { reason: `no script '${name}' in ${dir}` };
    return { reason: `script '${name}' in ${dir} cannot be resolved (${code ?? (err as Error).message})` };
  }
  if (path.dirname(file) !== realDir) return { reason: `script '${name}' resolves to ${file}, outside the scripts folder ${dir}` };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    return { reason: `script '${name}' in ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  if (!stat.isFile()) return { reason: `script '${name}' in ${dir} is not a regular file` };
  let executable = (stat.mode & 0o111) !== 0;
  if (executable) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      executable = false;
    }
  }
  if (!executable) return { reason: `script '${name}' in ${dir} is not executable` };
  return { file, dir: realDir };
}

function argProblems(args: unknown): FieldError[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) return [{ field: 'args', reason: 'must be an array of strings' }];
  const errors: FieldError[] = [];
  args.forEach((a, i) => {
    if (typeof a !== 'string') errors.push({ field: `args.${i}`, reason: 'must be a string' });
    else if (a.includes('\0')) errors.push({ field: `args.${i}`, reason: 'must not contain a NUL character' });
  });
  return errors;
}

function envProblems(env: unknown): FieldError[] {
  if (env === undefined) return [];
  if (env === null || typeof env !== 'object' || Array.isArray(env)) return [{ field: 'env', reason: 'must be an object of strings' }];
  const allowed = allowedEnvNames();
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(env)) {
    const field = `env.${name}`;
    if (!ENV_NAME.test(name)) errors.push({ field, reason: 'is not a valid environment variable name' });
    else if (RESERVED_ENV.has(name)) errors.push({ field, reason: 'is set by the service for every run and cannot be overridden' });
    else if (!allowed.has(name)) {
      errors.push({
        field,
        reason: allowed.size ? 'is not allowed: JOBS_SCRIPT_ENV_ALLOW does not list it' : 'is not allowed: JOBS_SCRIPT_ENV_ALLOW is empty, so no variables may be passed',
      });
    } else if (typeof value !== 'string') errors.push({ field, reason: 'must be a string' });
    else if (value.includes('\0')) errors.push({ field, reason: 'must not contain a NUL character' });
  }
  return errors;
}

function problems(kwargs: RunScriptKwargs): { errors: FieldError[]; located: Located } {
  const located = locateScript(kwargs.script);
  const errors: FieldError[] = [];
  if ('reason' in located) errors.push({ field: 'script', reason: located.reason });
  errors.push(...argProblems(kwargs.args), ...envProblems(kwargs.env));
  return { errors, located };
}

/**
 * The script's whole environment; nothing else of the service's own (database URL, tokens...)
 * reaches it:
 *   PATH               the service's PATH, or /usr/local/bin:/usr/bin:/bin when it has none
 *   LANG, TZ, HOME     copied from the service's environment when set there
 *   kwargs.env         only names listed in JOBS_SCRIPT_ENV_ALLOW
 *   JOBS_EXECUTION_ID  this run's execution id
 *   JOBS_JOB_ID        this run's job id ('' for a child run started by a flow)
 *   JOBS_IDEMPOTENCY_KEY, JOBS_FENCING_TOKEN   the attempt's key and token (README, at-least-once)
 */
function scriptEnv(kwargs: RunScriptKwargs, context: HandlerContext): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin' };
  for (const name of ['LANG', 'TZ', 'HOME']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, kwargs.env ?? {});
  env.JOBS_EXECUTION_ID = context.executionId;
  env.JOBS_JOB_ID = context.jobId ?? '';
  env.JOBS_IDEMPOTENCY_KEY = context.idempotencyKey;
  env.JOBS_FENCING_TOKEN = String(context.fencingToken);
  return env;
}

/** Calls `emit` for every line of a stream; `flush()` emits a trailing line without newline. */
function lineReader(stream: Readable, emit: (line: string) => void) {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const push = (text: string) => {
    pending += text;
    if (pending.includes('\n')) {
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) emit(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    while (pending.length > MAX_LINE) {
      emit(pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
  };
  stream.on('data', (chunk: Buffer) => push(decoder.write(chunk)));
  const flush = () => {
    push(decoder.end());
    if (pending) emit(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
    pending = '';
  };
  stream.on('end', flush);
  return { flush };
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  return '';
}

/**
 * Runs the script as the leader of a process group of its own (detached) and settles only once
 * it has exited, its stdout and stderr are closed, and no process of its group is left: on
 * abort, or when the script exits leaving processes behind, the group gets SIGTERM, then
 * SIGKILL after the grace.
 */
function run(name: string, file: string, dir: string, kwargs: RunScriptKwargs, context: HandlerContext): Promise<void> {
  const { signal, log } = context;
  const grace = killGraceMs();
  return new Promise<void>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, kwargs.args ?? [], {
        cwd: dir,
        env: scriptEnv(kwargs, context),
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(new Error(`script ${name} could not be started: ${(err as Error).message}`));
      return;
    }
    const pgid = child.pid;

    let lastStderr = '';
    const out = lineReader(child.stdout!, (line) => log.info(line));
    const err = lineReader(child.stderr!, (line) => {
      if (line.trim()) lastStderr = line;
      log.warn(line);
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('error', (e) => log.warn(`[run-script] reading the output of ${name} failed: ${e.message}`));
    }

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let closed = false;
    let stoppedByAbort = false;
    let termSent = false;
    let killSent = false;
    let polling = false;
    let draining = false;
    let settled = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };

    /** Signals the whole group; false when no process of it is left (zombies still count). */
    const toGroup = (sig: NodeJS.Signals | 0): boolean => {
      if (pgid === undefined) return false;
      try {
        process.kill(-pgid, sig);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
        if (sig !== 0) log.warn(`[run-script] sending ${sig} to the process group of ${name} failed: ${(e as Error).message}`);
        return true;
      }
    };

    const terminate = () => {
      if (termSent || pgid === undefined) return;
      termSent = true;
      toGroup('SIGTERM');
      later(grace, () => {
        killSent = true;
        // The runner records a stopped run by its reason, not by our error: say it here.
        if (toGroup('SIGKILL')) log.warn(`[run-script] the process group of ${name} outlived SIGTERM by ${grace} ms; sent SIGKILL`);
        settle();
      });
    };

    const onAbort = () => {
      if (!exit) {
        stoppedByAbort = true;
        const why = describeReason(signal.reason);
        log.warn(`[run-script] stopping ${name}${why ? ` (${why})` : ''}: SIGTERM to its process group`);
      }
      terminate();
      settle();
    };

    const finish = () => {
      settled = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      signal.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      if (pgid === undefined || !exit) {
        reject(new Error(`script ${name} could not be started: ${spawnError?.message ?? 'no process'}`));
      } else if (stoppedByAbort) {
        const why = describeReason(signal.reason);
        reject(new Error(`script ${name} was stopped${why ? ` (${why})` : ''}: SIGTERM to its process group` + (killSent ? `, then SIGKILL after ${grace} ms` : '')));
      } else if (exit.code === 0) {
        resolve();
      } else if (exit.code !== null) {
        reject(new Error(`script ${name} exited with code ${exit.code}${lastStderr ? `: ${lastStderr.slice(0, 1000)}` : ''}`));
      } else {
        reject(new Error(`script ${name} was killed by ${exit.signal}`));
      }
    };

    const settle = () => {
      if (settled) return;
      if (pgid === undefined) {
        if (spawnError) finish();
        return;
      }
      if (!exit) return;
      // A stopping group is done once empty or SIGKILLed (SIGKILL cannot be ignored).
      if (termSent && !killSent && toGroup(0)) {
        if (!polling) {
          polling = true;
          later(POLL_MS, () => {
            polling = false;
            settle();
          });
        }
        return;
      }
      if (!closed) {
        // The group is gone, yet a pipe is still open: a process that left the group (setsid)
        // holds it. Read on briefly, then let go, or the run would never end.
        if (!draining) {
          draining = true;
          later(DRAIN_MS, () => {
            log.warn(`[run-script] stdout/stderr of ${name} are still held open by a process outside its process group; no longer reading them`);
            child.stdout?.destroy();
            child.stderr?.destroy();
          });
        }
        return;
      }
      finish();
    };

    child.on('error', (e) => {
      if (pgid === undefined) {
        spawnError = e;
        settle();
      } else {
        log.warn(`[run-script] ${name}: ${e.message}`);
      }
    });
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      if (!termSent && toGroup(0)) {
        log.warn(`[run-script] ${name} exited leaving processes in its process group; stopping them (SIGTERM, SIGKILL after ${grace} ms)`);
        terminate();
      }
      settle();
    });
    child.on('close', () => {
      closed = true;
      settle();
    });
    if (pgid !== undefined) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs a script from the scripts folder, without a shell, as its own process group. */
export default defineHandler<RunScriptKwargs>({
  name: 'run-script',
  description:
    'Runs a script by name from JOBS_SCRIPTS_DIR without a shell: args as argv, env limited to JOBS_SCRIPT_ENV_ALLOW. ' +
    'stdout and stderr become the output; exit code 0 is success. On cancel or timeout its process group gets SIGTERM, then SIGKILL.',
  kwargsSchema: 'RunScriptKwargs',
  check(kwargs) {
    return problems(kwargs).errors;
  },
  async execute(kwargs, context) {
    // Checked again: the folder, the allow-list or the script may have changed since creation.
    const { errors, located } = problems(kwargs);
    if (errors.length || 'reason' in located) {
      throw new Error(`run-script refused: ${errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`);
    }
    if (context.signal.aborted) {
      const why = describeReason(context.signal.reason);
      throw new Error(`script ${kwargs.script} was stopped before it started${why ? ` (${why})` : ''}`);
    }
    await run(kwargs.script, located.file, located.dir, kwargs, context);
  },
});
