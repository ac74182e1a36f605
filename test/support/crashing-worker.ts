import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../src/config/config.js';
import { tempDir, type TestDatabase } from '../helpers.js';
import { scaled } from './time.js';

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
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts'), 'worker'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...db.env,
      LOG_LEVEL: 'warn',
      JOBS_POLL_INTERVAL_MS: '100',
      JOBS_HEARTBEAT_MS: String(scaled(300)),
      JOBS_LOCK_LIFETIME_MS: String(scaled(5000)),
      JOBS_DEFAULT_JOBS_DIR: defaults,
      ...env,
      JOBS_TEST_CRASH_AT: point,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
 * Resolves once it has exited, with how, and what it wrote.
 */
export async function serviceCrashingAt(
  db: TestDatabase,
  point: string,
  act: (base: string) => Promise<unknown>,
  env: Record<string, string> = {},
): Promise<{ signal: string | null; code: number | null; log: string }> {
  const defaults = await tempDir('defaults');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...db.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JOBS_POLL_INTERVAL_MS: '100',
      JOBS_HEARTBEAT_MS: String(scaled(300)),
      JOBS_LOCK_LIFETIME_MS: String(scaled(5000)),
      JOBS_DEFAULT_JOBS_DIR: defaults,
      ...env,
      JOBS_TEST_CRASH_AT: point,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<{ signal: string | null; code: number | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      log += b.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/api\/v1)"/.exec(log);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`the service exited before it listened: ${log.slice(-2000)}`)));
  });
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
  try {
    await act(await listening);
  } catch {
    // The process died under the request: its answer is lost, as a client's would be.
  }
  const how = await exited;
  clearTimeout(timer);
  await fs.rm(defaults, { recursive: true, force: true });
  return { ...how, log };
}
