import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { closedPort } from './ports.js';

const run = promisify(execFile);

/**
 * A PostgreSQL server of one test's own, in a temporary folder on a free port, so that the
 * test can stop, restart or kill it without touching the server other suites share. Made
 * with the machine's initdb and pg_ctl; run as the `postgres` user when this process is root
 * (initdb refuses root).
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dir: string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

/** The folder of the newest PostgreSQL binaries installed, or null when there are none. */
export async function postgresBinaries(): Promise<string | null> {
  const root = '/usr/lib/postgresql';
  const versions = await fs.readdir(root).catch(() => [] as string[]);
  const sorted = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of sorted) {
    const bin = path.join(root, v, 'bin');
    if (await fs.stat(path.join(bin, 'initdb')).catch(() => null)) return bin;
  }
  return null;
}

/** `parent`: the folder to make the server's folder in (a small tmpfs, say); the system's temporary folder by default. */
export async function startPrivatePostgres(options: { parent?: string } = {}): Promise<PrivatePostgres> {
  const bin = await postgresBinaries();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  const asRoot = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(options.parent ?? os.tmpdir(), 'jobs-service-pg-'));
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  const data = path.join(dir, 'data');
  await as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  let port = 0;
  const pgCtl = (...args: string[]) => as(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', ...args]);
  const start = async () => {
    await pgCtl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, '-l', path.join(dir, 'log'), 'start');
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgCtl('-m', mode, 'stop');
  };
  // The server cannot be told to take a port the kernel picks: a port found free may be taken
  // by another process before the server binds it, so the first start tries another port.
  for (let attempt = 1; ; attempt++) {
    port = await closedPort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    start,
    stop,
    restart: async (mode = 'fast') => {
      await stop(mode);
      await start();
    },
    destroy: async () => {
      await stop('immediate').catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
