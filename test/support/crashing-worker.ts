import { spawn } from 'node:child_process';
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
