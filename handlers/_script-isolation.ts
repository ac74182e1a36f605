/**
 * How run-script keeps every process of a run inside the run (not a handler: the catalog skips
 * files starting with `_`).
 *
 * `pidns`: the script runs in a PID namespace of its own,
 *   setpriv --pdeathsig KILL -- unshare [--user --map-...-user] --pid --fork --kill-child [--mount-proc] -- /bin/sh -c SHIM script args...
 * The shell of SHIM is the namespace's init: it starts the script, waits for it and exits with
 * its status. When the init exits, the kernel kills every process left in the namespace, those
 * that called setsid included. unshare's --kill-child kills the init when unshare dies, and
 * setpriv's parent-death signal kills unshare when the service dies, even by SIGKILL.
 * The init ignores SIGTERM (an init without a handler does), and unshare blocks it while it
 * waits, so SIGTERM to the process group reaches the script and its group as before.
 *
 * `group`: the script leads a process group of its own; processes that leave the group
 * (setsid) or outlive a killed service are not reached. The fallback where namespaces are
 * not available (logged once).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type IsolationMode = 'auto' | 'pidns' | 'group';

export type Isolation = { kind: 'pidns'; command: string; prefix: string[] } | { kind: 'group'; why: string };

/**
 * The init of the namespace: fd 3 is a pipe to the service, closed for the script; "started"
 * on it says the script's process exists (SIGTERM to the group reaches it from then on),
 * "left" that processes were still running in the namespace when the script exited.
 */
const SHIM = '"$0" "$@" 3>&- & echo started >&3; wait $!; s=$?; if kill -0 -1 2>/dev/null; then echo left >&3; fi; exit $s';

/** JOBS_SCRIPT_ISOLATION, read at every call: auto (the default), pidns or group. */
export function isolationMode(): IsolationMode {
  const raw = process.env.JOBS_SCRIPT_ISOLATION?.trim().toLowerCase() || 'auto';
  if (raw === 'auto' || raw === 'pidns' || raw === 'group') return raw;
  throw new Error(`JOBS_SCRIPT_ISOLATION must be auto, pidns or group, got '${process.env.JOBS_SCRIPT_ISOLATION}'`);
}

function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

let probed: Isolation | undefined;

/** The first way of running a PID namespace that works on this machine, found once. */
function probe(): Isolation {
  if (process.platform !== 'linux') return { kind: 'group', why: `PID namespaces need Linux, this is ${process.platform}` };
  const setpriv = findExecutable('setpriv');
  const unshare = findExecutable('unshare');
  if (!setpriv || !unshare) return { kind: 'group', why: `${[!setpriv && 'setpriv', !unshare && 'unshare'].filter(Boolean).join(' and ')} (util-linux) not found on PATH` };
  const root = process.getuid?.() === 0;
  const ns = ['--pid', '--fork', '--kill-child'];
  const variants = [
    ...(root ? [[...ns, '--mount-proc'], ns] : []),
    ['--user', '--map-current-user', ...ns, '--mount-proc'],
    ['--user', '--map-root-user', ...ns, '--mount-proc'],
    ['--user', '--map-root-user', ...ns],
  ];
  let last = '';
  for (const flags of variants) {
    const prefix = ['--pdeathsig', 'KILL', '--', unshare, ...flags, '--'];
    const r = spawnSync(setpriv, [...prefix, '/bin/sh', '-c', 'exit 0'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    if (r.status === 0) return { kind: 'pidns', command: setpriv, prefix };
    last = r.error?.message ?? (r.stderr?.toString().trim().split('\n').at(-1) || `exit ${r.status ?? r.signal}`);
  }
  return { kind: 'group', why: `unshare cannot make a PID namespace here (${last})` };
}

/** The isolation a run gets now; `pidns` asked for and not available throws. */
export function isolation(): Isolation {
  const mode = isolationMode();
  if (mode === 'group') return { kind: 'group', why: 'JOBS_SCRIPT_ISOLATION=group' };
  probed ??= probe();
  if (mode === 'pidns' && probed.kind === 'group') throw new Error(`JOBS_SCRIPT_ISOLATION=pidns, but ${probed.why}`);
  return probed;
}

/** The command and argv that run `file args` under `iso`. */
export function command(iso: Isolation, file: string, args: string[]): { command: string; args: string[] } {
  if (iso.kind === 'group') return { command: file, args };
  return { command: iso.command, args: [...iso.prefix, '/bin/sh', '-c', SHIM, file, ...args] };
}
