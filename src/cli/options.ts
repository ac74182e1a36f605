import { createRequire } from 'node:module';
import { InvalidArgumentError } from 'commander';
import type { ExecutionStatus } from '../client/index.js';

/** Parsers and facts the commands' options share. */

export const executionStatuses: ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'lost'];

export function integer(min: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not an integer.');
    const n = Number(value);
    if (n < min) throw new InvalidArgumentError(`must be ${min} or more.`);
    return n;
  };
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON: ${(err as Error).message}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** A JSON list of objects (notification rules). */
export function jsonList<T = Record<string, unknown>>(value: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON: ${(err as Error).message}.`);
  }
  if (!Array.isArray(parsed) || parsed.some((x) => !x || typeof x !== 'object' || Array.isArray(x))) throw new InvalidArgumentError('must be a JSON list of objects.');
  return parsed as T[];
}

export function httpUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL.');
  return value;
}

export const firstSentence = (s: string) => /^.*?[.!?](?=\s|$)/s.exec(s)?.[0] ?? s;

/** A grace time is seconds, or a duration the service reads ("10 minutes"). */
export const graceTime = (value: string): number | string => (/^\d+$/.test(value) ? Number(value) : value);

export function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('jobs-service/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
