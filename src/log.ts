import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = PinoLogger;

const destinations = new Set<DestinationStream & { flushSync?: () => void }>();

/**
 * JSON lines on stdout (one per request and per run start and end), written asynchronously:
 * lines logged while a write is under way go out together with the next. A synchronous
 * write per line cost a fifth of a request's time under load. `flushLogs` writes what is
 * still buffered (before process.exit).
 */
export function createLogger(level: LogLevel): Logger {
  const dest = pino.destination({ dest: 1, sync: false });
  destinations.add(dest);
  return pino({ level, base: { service: 'jobs-service' } }, dest);
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
