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
 * The database Agenda runs on: the store's own, so its rows live beside the service's model.
 * Whoever opens the store produces it; createEngine (./index.ts) turns it into an Engine.
 */
export type EngineBackend = SqlEngineBackend | MongoEngineBackend;

/**
 * Agenda with the service's settings on a backend, its unawaited errors sent to onError. The
 * caller awaits `ready`: the backend creates its table (or its collection's index) then.
 */
export function newAgenda(backend: AgendaBackend, options: EngineOptions, channel?: NotificationChannel): Agenda {
  const agenda = new Agenda({
    backend,
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
  return agenda;
}
