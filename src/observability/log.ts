import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/config.js';

export type Logger = PinoLogger;

const destinations = new Set<{ flushSync?: () => void }>();

/**
 * One line per request and per run start and end: JSON lines, or human-readable lines
 * (pino-pretty) when stdout is a terminal. `destination` sends the lines elsewhere (tests).
 * JSON lines are written asynchronously: lines logged while a write is under way go out
 * with the next one (a synchronous write per line cost a fifth of a request's time under
 * load). `flushLogs` writes what is still buffered, before process.exit.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'jobs-service' },
    // Never a credential, even if a header object ends up in a log line.
    redact: { paths: ['authorization', '*.authorization', '*.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) return pino(options, pretty({ colorize: true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }));
  const dest = pino.destination({ dest: 1, sync: false });
  destinations.add(dest);
  return pino(options, dest);
}

export function flushLogs() {
  for (const d of destinations) {
    try {
      d.flushSync?.();
    } catch {
      // A destination not ready yet has nothing buffered.
    }
  }
}
