/** The child side of the bench protocol: answer commands, report readiness and run events. */
import type { RunEvent } from '../lib/proc.js';

type Command = (args: Record<string, unknown>) => Promise<unknown> | unknown;

export function serveCommands(commands: Record<string, Command>) {
  process.on('message', (m: { id: number; cmd: string; args: Record<string, unknown> }) => {
    const fn = commands[m.cmd];
    void (async () => {
      try {
        if (!fn) throw new Error(`unknown command ${m.cmd}`);
        const result = await fn(m.args ?? {});
        process.send?.({ type: 'reply', id: m.id, cmd: m.cmd, result: result ?? null });
      } catch (err) {
        process.send?.({ type: 'reply', id: m.id, cmd: m.cmd, error: (err as Error).stack ?? String(err) });
      }
      if (m.cmd === 'close') setTimeout(() => process.exit(0), 10);
    })();
  });
  // The parent going away ends the child, whatever it was doing.
  process.on('disconnect', () => process.exit(0));
}

export function ready(extra: Record<string, unknown> = {}) {
  process.send?.({ type: 'ready', pid: process.pid, ...extra });
}

export function fatal(err: unknown) {
  process.send?.({ type: 'fatal', message: (err as Error).stack ?? String(err) });
  setTimeout(() => process.exit(1), 50);
}

const buffer: RunEvent[] = [];
let timer: NodeJS.Timeout | undefined;

function flush() {
  if (buffer.length === 0) return;
  process.send?.({ type: 'events', events: buffer.splice(0, buffer.length) });
}

/**
 * Records one handler start. Batched every 20 ms so a busy worker sends a message per batch,
 * not per run; `now` sends at once (a worker may be killed right after).
 */
export function recordRun(e: Omit<RunEvent, 'pid'>, now = false) {
  buffer.push({ ...e, pid: process.pid });
  if (now) return flush();
  timer ??= setInterval(flush, 20);
  timer.unref();
}
