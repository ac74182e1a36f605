import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { tempDir } from '../helpers.js';

const run = promisify(execFile);

/** A small tmpfs of a test's own, to fill up or remount read-only; `skip` says why none could be mounted. */
export interface Tmpfs {
  dir: string;
  skip: string | false;
  /** Unmounts it and removes its folder. */
  remove(): Promise<void>;
}

export async function mountTmpfs(prefix: string, options: string): Promise<Tmpfs> {
  const dir = await tempDir(prefix);
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).then(
    () => true,
    (err: Error) => err.message.split('\n')[0],
  );
  return {
    dir,
    skip: mounted === true ? false : `cannot mount a tmpfs (${mounted}): a full disk cannot be made here`,
    remove: async () => {
      await run('umount', [dir]).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes to `file` until the disk says it is full: 1 MiB at a time, then 4 KiB. */
export async function fillDisk(file: string) {
  const fh = await fs.open(file, 'a');
  try {
    for (const size of [1 << 20, 4096]) {
      const chunk = Buffer.alloc(size, 7);
      for (;;) {
        try {
          await fh.write(chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}
