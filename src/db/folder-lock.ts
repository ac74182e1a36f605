import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The file in an embedded data folder that says which process has it open. */
export const lockFileName = 'jobs-service.lock';

/** Another live process holds the data folder. */
export class FolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: FolderHolder,
  ) {
    super(
      `the data folder ${dataDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
        `stop that process first, or give this one another JOBS_DATA_DIR` +
        (holder.host === os.hostname() ? '' : ` (if that process is gone, remove ${path.join(dataDir, lockFileName)})`),
    );
    this.name = 'FolderInUseError';
  }
}

interface FolderHolder {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (/proc/PID/stat), null where unknown. */
  start: string | null;
  /** When it took the folder, for the message. */
  since: string;
}

/** Field 22 of /proc/PID/stat: when the process started; tells a live holder from a later process under the same pid. */
function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(holder: FolderHolder): boolean {
  // On another machine (a shared folder) nothing here can tell: taken as alive.
  if (holder.host !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: a process of another user has that pid, alive.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(holder.pid);
  return holder.start === null || start === null || start === holder.start;
}

function readHolder(file: string): FolderHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as FolderHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    // Unreadable or half-written (a crash while writing it): nobody holds the folder by it.
    return null;
  }
}

export interface FolderLock {
  release(): void;
}

/**
 * Takes the data folder for this process: a lock file with its pid, host and start time,
 * created exclusively. A lock file whose process is gone (killed, crashed; or its pid now
 * another process's) is taken over; one of a live process throws FolderInUseError. The
 * file is removed on release and at the process's exit.
 */
export function lockDataFolder(dataDir: string): FolderLock {
  const file = path.join(dataDir, lockFileName);
  const mine: FolderHolder = { pid: process.pid, host: os.hostname(), start: processStart(process.pid), since: new Date().toISOString() };
  const text = JSON.stringify(mine);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    const holder = readHolder(file);
    if (holder && alive(holder)) throw new FolderInUseError(dataDir, holder);
    // Stale: moved aside under a name of this process's own, and looked at again there: of
    // two processes taking over one stale file, the later may have moved the other's fresh
    // one, which it puts back.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readHolder(aside);
    if (moved && alive(moved)) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // Someone else's file is there again already.
      }
      fs.rmSync(aside, { force: true });
      throw new FolderInUseError(dataDir, moved);
    }
    fs.rmSync(aside, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only this process's own file: never one another process took over meanwhile.
    const holder = readHolder(file);
    if (holder?.pid === mine.pid && holder.since === mine.since) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { release };
}
