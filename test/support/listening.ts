import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../helpers.js';

/**
 * The port a service child process listens on, read from what it wrote so far (pino JSON lines
 * on stdout; chunks may split lines), or undefined until it has logged 'listening'. Started
 * with PORT=0 the child binds a port the kernel picks: a port picked free beforehand could be
 * taken by another process before the child binds it.
 */
export function listeningPort(output: readonly string[]): number | undefined {
  for (const line of output.join('').split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
      if (entry.msg !== 'listening' || typeof entry.url !== 'string') continue;
      const port = Number(new URL(entry.url).port);
      if (port > 0) return port;
    } catch {
      // Not JSON, or not a whole line yet.
    }
  }
  return undefined;
}

/**
 * Waits until `child` has logged the port it listens on, and returns it; fails with the end of
 * `output` if the child exits first. `detail`: what to show instead of `output` (its stderr,
 * when only that is kept).
 */
export async function waitForListening(child: ChildProcess, output: readonly string[], timeoutMs = 60_000, detail?: () => string): Promise<number> {
  let port: number | undefined;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  await waitFor('the service process to listen', async () => (port = listeningPort(output)) !== undefined || exited(), timeoutMs, 100);
  if (port === undefined)
    throw new Error(`the service process exited (${child.exitCode ?? child.signalCode}) before listening:\n${detail ? detail() : output.join('').slice(-2000)}`);
  return port;
}
