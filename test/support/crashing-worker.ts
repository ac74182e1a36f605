import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../src/config/config.js';
import { tempDir, type TestDatabase } from '../helpers.js';
import { waitForListening } from './listening.js';
import { scaled } from './time.js';

/**
 * `src/main.ts` with `args` (none: the service; `worker`: a worker only) in a process of its own
 * on the test's database, with the suite's short intervals; `env` adds to or replaces them.
 */
export function spawnService(db: TestDatabase, args: string[], env: Record<string, string>) {
  return spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), ...args], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...db.env,
      JOBS_POLL_INTERVAL_MS: '100',
      JOBS_HEARTBEAT_MS: String(scaled(300)),
      JOBS_LOCK_LIFETIME_MS: String(scaled(5000)),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * A worker process on the test's database that kills itself (kill -9) at the crash point
 * named (JOBS_TEST_CRASH_AT); `env` adds to or replaces the worker's settings. Resolves once
 * it has exited, with how, its pid, the time, and what it wrote.
 */
export async function workerCrashingAt(
  db: TestDatabase,
  point: string,
  env: Record<string, string> = {},
): Promise<{ signal: string | null; code: number | null; pid: number; killedAt: number; log: string }> {
  const defaults = await tempDir('defaults');
  const child = spawnService(db, ['worker'], { LOG_LEVEL: 'warn', JOBS_DEFAULT_JOBS_DIR: defaults, ...env, JOBS_TEST_CRASH_AT: point });
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, pid: child.pid!, killedAt: Date.now(), log });
    }),
  );
}

/**
 * The whole service (API and, unless `env` says otherwise, a worker) in a process on the test's
 * database that kills itself (kill -9) at the crash point named, once `act` has been given its
 * API's base URL (http://127.0.0.1:PORT/api/v1) and has asked for what reaches that point.
 * Resolves once it has exited, with how, and what it wrote. A request answered (it never
 * reached the point: refused, say) fails at once, with the answer.
 */
export async function serviceCrashingAt(
  db: TestDatabase,
  point: string,
  act: (base: string) => Promise<unknown>,
  env: Record<string, string> = {},
): Promise<{ signal: string | null; code: number | null; log: string }> {
  const defaults = await tempDir('defaults');
  // At level info: it logs the address it listens on.
  const child = spawnService(db, [], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOBS_DEFAULT_JOBS_DIR: defaults, ...env, JOBS_TEST_CRASH_AT: point });
  const output: string[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<{ signal: string | null; code: number | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
  let answered: unknown;
  try {
    answered = await act(`http://127.0.0.1:${await waitForListening(child, output)}/api/v1`);
  } catch {
    // The process died under the request: its answer is lost, as a client's would be.
  }
  // An answer means the point was never reached: no use waiting out the fallback kill.
  if (answered instanceof Response) child.kill('SIGKILL');
  const how = await exited;
  clearTimeout(timer);
  await fs.rm(defaults, { recursive: true, force: true });
  if (answered instanceof Response) throw new Error(`the service answered ${answered.status} instead of dying at ${point}: ${await answered.text()}`);
  return { ...how, log: output.join('') };
}
