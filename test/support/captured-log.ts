import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/log.js';

/** A logger whose JSON lines are kept in memory, to check what the service logs. */
export function capturedLogger(level: 'info' | 'debug' | 'trace' = 'debug'): { log: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l: string) => l !== ''),
      );
      done();
    },
  });
  return { log: createLogger(level, sink), lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
