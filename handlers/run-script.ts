import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { constants as osConstants } from 'node:os';
import { defineHandler, type HandlerContext, type Kwargs } from '../src/handlers/index.js';
import { lineReader, OutputBudget } from './_output-budget.js';
import { command as isolatedCommand, isolation, type Isolation } from './_script-isolation.js';

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
 *   JOBS_SCRIPT_OUTPUT_BYTES   output kept per run, in bytes; default 1048576
 *   JOBS_SCRIPT_OUTPUT_LINES   output kept per run, in lines; default 2000
 *   JOBS_SCRIPT_ISOLATION      auto (PID namespace where possible), pidns or group; default auto
 * The service checks them at boot too (src/config/config.ts).
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

function wholeNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  const n = raw ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= min ? n : fallback;
}

function killGraceMs(): number {
  const raw = process.env.JOBS_SCRIPT_KILL_GRACE_MS?.trim();
  const ms = raw ? Number(raw) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : 5000;
}

/**
 * Names kwargs.env may never set, even when JOBS_SCRIPT_ENV_ALLOW lists them: they change what
 * the dynamic loader, a shell or an interpreter loads and runs. The service refuses to start
 * with one of them in the allow-list (src/config/config.ts keeps the same list).
 */
const UNSAFE_ENV_NAMES = new Set([
  'PATH',
  'BASH_ENV',
  'ENV',
  'IFS',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'CDPATH',
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'RUBYOPT',
  'RUBYLIB',
  'PERLLIB',
  'JAVA_TOOL_OPTIONS',
]);
const UNSAFE_ENV_PREFIXES = ['LD_', 'DYLD_', 'NODE_', 'PYTHON', 'PERL5', 'RUBY', 'BASH_FUNC_', 'GLIBC_', 'MALLOC_', '_JAVA_', 'GIT_'];

/** Why a variable name must not be passed to a script, or null. */
export function unsafeEnvName(name: string): string | null {
  const upper = name.toUpperCase();
  if (UNSAFE_ENV_NAMES.has(upper)) return `${name} changes how the script or its shell is found or run`;
  const prefix = UNSAFE_ENV_PREFIXES.find((p) => upper.startsWith(p));
  return prefix ? `${prefix}* variables change what the loader or an interpreter loads` : null;
}

/** The same form as the schema's pattern, checked again here so no path ever slips through. */
const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;
/** Set by the service for every run; kwargs.env cannot override them. */
const RESERVED_ENV = new Set(['JOBS_EXECUTION_ID', 'JOBS_JOB_ID', 'JOBS_IDEMPOTENCY_KEY', 'JOBS_FENCING_TOKEN']);
/** After the script and its group are gone, how long stdout/stderr may stay open (held by an escaped process). */
const DRAIN_MS = 1000;
const POLL_MS = 50;
/** After SIGKILL, how long to wait for the group's processes to die before settling anyway. */
const KILL_WAIT_MS = 5000;

/**
 * Whether a process of group `pgid` is still alive (a zombie is not: it waits only to be
 * reaped), read from /proc; false where /proc cannot be read. SIGKILL is delivered when the
 * process is next scheduled, so on a busy host a killed process lives on for a moment.
 */
async function liveInGroup(pgid: number): Promise<boolean> {
  let names: string[];
  try {
    names = await fs.promises.readdir('/proc');
  } catch {
    return false;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = await fs.promises.readFile(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

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
    else if (unsafeEnvName(name)) errors.push({ field, reason: `is never passed to a script: ${unsafeEnvName(name)}` });
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

/** The signal an exit code above 128 stands for, as the namespace's shell reports a killed script. */
function signalOfStatus(code: number): NodeJS.Signals | null {
  if (code <= 128) return null;
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === code - 128);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

let fallbackLogged = false;

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  return '';
}

/**
 * Runs the script as the leader of a process group of its own (detached), inside a PID
 * namespace where one can be made (handlers/_script-isolation.ts), and settles only once it
 * has exited, its stdout and stderr are closed, and no process of its group is left: on abort,
 * or when the script exits leaving processes behind, the group gets SIGTERM, then SIGKILL
 * after the grace. Output beyond JOBS_SCRIPT_OUTPUT_BYTES or _LINES is left out at the source.
 */
function run(name: string, file: string, dir: string, iso: Isolation, kwargs: RunScriptKwargs, context: HandlerContext): Promise<void> {
  const { signal, log } = context;
  const grace = killGraceMs();
  const budget = new OutputBudget(wholeNumber('JOBS_SCRIPT_OUTPUT_BYTES', 1024 * 1024, 1024), wholeNumber('JOBS_SCRIPT_OUTPUT_LINES', 2000, 10), (level, line) => log[level](line));
  return new Promise<void>((resolve, reject) => {
    let child: ChildProcess;
    const cmd = isolatedCommand(iso, file, kwargs.args ?? []);
    try {
      child = spawn(cmd.command, cmd.args, {
        cwd: dir,
        env: scriptEnv(kwargs, context),
        shell: false,
        detached: true,
        // fd 3: the namespace's init says there whether processes outlived the script.
        stdio: iso.kind === 'pidns' ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(new Error(`script ${name} could not be started: ${(err as Error).message}`));
      return;
    }
    const pgid = child.pid;

    let lastStderr = '';
    const out = lineReader(child.stdout!, budget.pieceChars, (line) => budget.line('info', line));
    const err = lineReader(child.stderr!, budget.pieceChars, (line) => {
      if (line.trim()) lastStderr = line.slice(0, 1000);
      budget.line('warn', line);
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('error', (e) => log.warn(`[run-script] reading the output of ${name} failed: ${e.message}`));
    }
    let leftInNamespace = false;
    // In a namespace, SIGTERM sent before the script exists would reach only unshare, which
    // blocks it: it waits for the init's word that the script was started.
    let scriptStarted = iso.kind !== 'pidns';
    let termWaiting = false;
    const status = child.stdio[3] as Readable | null | undefined;
    status?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes('left')) leftInNamespace = true;
      if (text.includes('started') && !scriptStarted) {
        scriptStarted = true;
        if (termWaiting && !killSent) toGroup('SIGTERM');
      }
    });
    status?.on('error', () => undefined);

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let closed = false;
    let stoppedByAbort = false;
    let termSent = false;
    let killSent = false;
    let killedAt = 0;
    /** Set once no process of the group is alive after SIGKILL (or the wait for that ran out). */
    let killDone = false;
    let checkingKill = false;
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
      if (scriptStarted) toGroup('SIGTERM');
      else termWaiting = true;
      later(grace, () => {
        killSent = true;
        killedAt = Date.now();
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
      budget.end(name);
      if (leftInNamespace) log.warn(`[run-script] ${name} exited leaving processes in its PID namespace; they were killed with it`);
      if (pgid === undefined || !exit) {
        reject(new Error(`script ${name} could not be started: ${spawnError?.message ?? 'no process'}`));
      } else if (stoppedByAbort) {
        const why = describeReason(signal.reason);
        reject(new Error(`script ${name} was stopped${why ? ` (${why})` : ''}: SIGTERM to its process group` + (killSent ? `, then SIGKILL after ${grace} ms` : '')));
      } else if (exit.code === 0) {
        resolve();
      } else if (exit.code !== null && iso.kind === 'pidns' && signalOfStatus(exit.code)) {
        reject(new Error(`script ${name} was killed by ${signalOfStatus(exit.code)}`));
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
      // SIGKILLed: settled once its processes are dead, not merely signalled.
      if (killSent && !killDone) {
        if (!checkingKill) {
          checkingKill = true;
          void liveInGroup(pgid).then((live) => {
            checkingKill = false;
            if (!live || Date.now() - killedAt >= KILL_WAIT_MS) {
              if (live) log.warn(`[run-script] a process of the group of ${name} is still alive ${KILL_WAIT_MS} ms after SIGKILL; the run ends without it`);
              killDone = true;
              settle();
            } else later(POLL_MS, settle);
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
    // 'close' waits for every stdio pipe, fd 3 included.
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
    const iso = isolation();
    if (iso.kind === 'group' && !fallbackLogged && iso.why !== 'JOBS_SCRIPT_ISOLATION=group') {
      fallbackLogged = true;
      const why = `[run-script] scripts run as process groups, not in PID namespaces: ${iso.why}. A process that calls setsid, or outlives a killed service, is not stopped.`;
      console.warn(why);
      context.log.warn(why);
    }
    await run(kwargs.script, located.file, located.dir, iso, kwargs, context);
  },
});
