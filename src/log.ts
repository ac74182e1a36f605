import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = PinoLogger;

/** JSON lines on stdout (one per request and per run start and end). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'jobs-service' } });
}
