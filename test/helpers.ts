import fs from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import supertest from 'supertest';
import { loadConfig, type Config } from '../src/config/config.js';
import { createLogger, type Logger } from '../src/observability/log.js';
import { createService, type Service } from '../src/service/service.js';
import { pgliteTemplate } from './support/pglite-template.js';
import { scaled, sleep } from './support/time.js';

export { scaled, sleep, timeScale } from './support/time.js';
export { capturedLogger } from './support/captured-log.js';
export { closedPort } from './support/ports.js';

export type StoreName = 'embedded' | 'postgres' | 'mongodb';

/**
 * The stores a suite runs on: the embedded PGlite always, PostgreSQL when TEST_POSTGRES_URL
 * is set, MongoDB when TEST_MONGODB_URL is. A store that cannot run is reported as skipped
 * with the reason, never as passed.
 */
export const stores: Array<{ name: StoreName; skip: string | false }> = [
  { name: 'embedded', skip: false },
  { name: 'postgres', skip: process.env.TEST_POSTGRES_URL ? false : 'TEST_POSTGRES_URL is not set, so the PostgreSQL leg did not run' },
  { name: 'mongodb', skip: process.env.TEST_MONGODB_URL ? false : 'TEST_MONGODB_URL is not set, so the MongoDB leg did not run' },
];

let skipNoticePrinted = false;
/** Prints once per test process which store legs are skipped and why. */
export function noticeSkippedStores() {
  if (skipNoticePrinted) return;
  skipNoticePrinted = true;
  for (const s of stores) if (s.skip) console.log(`# SKIPPED store ${s.name}: ${s.skip}`);
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `jobs-service-${prefix}-`));
}

/** A database of its own for one suite: a fresh data folder, PostgreSQL schema or MongoDB database. */
export interface TestDatabase {
  store: StoreName;
  env: Record<string, string>;
  drop(): Promise<void>;
}

let template: Promise<string> | undefined;
const embeddedTemplate = () => (template ??= pgliteTemplate());

/**
 * A MongoDB URL naming another database. When the URL has credentials and no authSource,
 * they were meant for the database it named (or admin), so that one stays the authSource.
 */
export function mongoUrlWithDatabase(url: string, database: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/([^/?#]*))(?:\/([^?#]*))?(.*)$/.exec(url);
  if (!m) throw new Error(`not a MongoDB URL: ${url}`);
  const [, authority, hosts, path, rest] = m;
  let query = rest;
  if (hosts.includes('@') && !/[?&]authSource=/.test(query)) {
    const source = encodeURIComponent(path ? decodeURIComponent(path) : 'admin');
    query = query.startsWith('?') ? `?authSource=${source}&${query.slice(1)}` : `?authSource=${source}${query}`;
  }
  return `${authority}/${database}${query}`;
}

export async function testDatabase(store: StoreName): Promise<TestDatabase> {
  if (store === 'embedded') {
    const dir = await tempDir('data');
    // cpSync copies in native code: 40 to 50 ms for the template's thousand files on tmpfs
    // (where test/support/run.ts puts the data folders), where the promise form took 260 to 310.
    cpSync(await embeddedTemplate(), dir, { recursive: true });
    return { store, env: { JOBS_DATA_DIR: dir }, drop: () => fs.rm(dir, { recursive: true, force: true }) };
  }
  if (store === 'mongodb') {
    const database = `t_${randomBytes(6).toString('hex')}`;
    const url = mongoUrlWithDatabase(process.env.TEST_MONGODB_URL!, database);
    return {
      store,
      env: { DATABASE_URL: url },
      drop: async () => {
        const { MongoClient } = await import('mongodb');
        const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
        try {
          await client.db(database).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }
  const base = process.env.TEST_POSTGRES_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    store,
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface Running {
  service: Service;
  config: Config;
  http: ReturnType<typeof supertest>;
  close(): Promise<void>;
}

/** Boots the real service (real store, real Agenda) with an empty default-jobs folder unless given. */
export async function startService(db: TestDatabase, env: Record<string, string> = {}, options: { log?: Logger } = {}): Promise<Running> {
  // A defaults folder made here goes with the service.
  const made = env.JOBS_DEFAULT_JOBS_DIR === undefined;
  const defaults = env.JOBS_DEFAULT_JOBS_DIR ?? (await tempDir('defaults'));
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JOBS_POLL_INTERVAL_MS: '100',
    // Liveness timeouts stretch with the machine: a starved process is late, not gone.
    JOBS_LOCK_LIFETIME_MS: String(scaled(5000)),
    JOBS_HEARTBEAT_MS: String(scaled(300)),
    JOBS_CANCEL_GRACE_MS: '2000',
    JOBS_SHUTDOWN_GRACE_SECONDS: '2',
    ...db.env,
    JOBS_DEFAULT_JOBS_DIR: defaults,
    ...env,
  });
  const service = await createService(config, { log: options.log ?? createLogger(config.logLevel), cancelPollIntervalMs: 100 });
  return {
    service,
    config,
    http: supertest(service.app.callback()),
    close: async () => {
      await service.close();
      if (made) await fs.rm(defaults, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` until it returns a truthy value or `timeoutMs` (stretched by the time scale)
 * passes, then throws with `what`.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  timeoutMs = scaled(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * An HTTP server on 127.0.0.1 that answers every request after `delayMs` (a function: asked at
 * each request; a time already past answers at once).
 */
export async function slowServer(delayMs: number | (() => number)) {
  const server = http.createServer((_req, res) => {
    setTimeout(() => res.end('ok'), Math.max(0, typeof delayMs === 'number' ? delayMs : delayMs()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}
