import { Agenda, type AgendaBackend, type NotificationChannel } from 'agenda';
import type { Db } from 'mongodb';
import type { SqlClient } from '../db/sql-client.js';
import type { EngineOptions } from './types.js';

/** The database of an engine on PostgreSQL or PGlite (`embedded`: one process). */
export interface SqlEngineBackend {
  kind: 'sql';
  sql: SqlClient;
  embedded: boolean;
}

/** The database of an engine on MongoDB; `changeStreams` says it is a replica set or a sharded cluster, where change streams exist. */
export interface MongoEngineBackend {
  kind: 'mongo';
  db: Db;
  changeStreams: boolean;
}

/**
 * The database the engine keeps its rows in: the store's own, so they live beside the
 * service's model. Whoever opens the store produces it; createEngine (./index.ts) turns it
 * into an Engine.
 */
export type EngineBackend = SqlEngineBackend | MongoEngineBackend;

/** How long agendaReady waits for the backend when EngineOptions.readyTimeoutMs is unset, in ms. */
export const defaultReadyTimeoutMs = 30_000;

/** Per Agenda instance: settles when its backend is connected, or rejects with why not. */
const connected = new WeakMap<Agenda, Promise<void>>();

/**
 * Agenda with the service's settings on a backend, its unawaited errors sent to onError. The
 * caller awaits agendaReady: the backend creates its table (or its collection's index) then.
 */
export function newAgenda(backend: AgendaBackend, options: EngineOptions, channel?: NotificationChannel): Agenda {
  // Agenda calls connect without catching it: a failed connection would be an unhandled
  // rejection and its `ready` would never settle. The failure is kept for agendaReady instead.
  let failed!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);
  const guarded: AgendaBackend = Object.create(backend, {
    connect: {
      value: () =>
        backend.connect().catch((err: unknown) => {
          failed(err);
          return new Promise<void>(() => undefined);
        }),
    },
  });
  const agenda = new Agenda({
    backend: guarded,
    name: options.name,
    processEvery: options.pollIntervalMs,
    maxConcurrency: options.maxConcurrency,
    defaultConcurrency: options.maxConcurrency,
    defaultLockLifetime: options.lockLifetimeMs,
    lockLimit: options.maxConcurrency * 2,
    defaultLockLimit: options.maxConcurrency * 2,
    removeOnComplete: true,
    ...(channel ? { notificationChannel: channel } : {}),
  });
  // Both emit 'error' when the database goes away; an EventEmitter error without a
  // listener would end the process, while Agenda retries on the next poll and the
  // notification channel reconnects by itself.
  agenda.on('error', (err) => options.onError(err, 'agenda'));
  const emitter = (channel ?? backend.notificationChannel) as unknown as { on?: (e: 'error', fn: (err: Error) => void) => void } | undefined;
  emitter?.on?.('error', (err) => options.onError(err, 'notification channel'));
  connected.set(agenda, Promise.race([agenda.ready, failure]));
  return agenda;
}

/**
 * Waits until Agenda's backend is connected: rejects with the backend's error when it cannot
 * connect, and after `timeoutMs` when it does not answer, so a boot (and the boot lock it
 * holds) does not wait for ever.
 */
export async function agendaReady(agenda: Agenda, timeoutMs: number = defaultReadyTimeoutMs): Promise<void> {
  const ready = (connected.get(agenda) ?? agenda.ready).catch((err: unknown) => {
    throw new Error(`the dispatch engine cannot connect to its database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the dispatch engine's database did not answer within ${timeoutMs} ms (JOBS_ENGINE_READY_TIMEOUT_MS)`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
