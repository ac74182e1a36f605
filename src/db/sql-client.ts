import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { PGlite, parse as pgliteResults, protocol, type Transaction } from '@electric-sql/pglite';
import { defaultPreparedStatements } from '../config/config.js';
import { StorageWatch } from './storage.js';

export interface QueryOptions {
  /**
   * Prepare the statement once per connection and run it by name from then on: PostgreSQL
   * skips parsing and, once it settles on a generic plan, planning. Only for statements whose
   * text is fixed (the text names the prepared statement, and each connection keeps every one
   * it prepared) and whose parameters are single keys: with an array (`= ANY($1)`) or a LIMIT
   * as a parameter, a generic plan cannot know how many rows it will meet, and was seen to
   * scan whole tables, unless the statement reaches every table by the keys it is given
   * (the dispatch path's claim, fire and end, whose generic plans test/claim-plan.test.ts and
   * the bench's plans were checked for).
   */
  prepare?: boolean;
}

/**
 * The few things the SQL store needs from a database connection, so the same SQL runs on
 * a real PostgreSQL (a `pg` pool) and on the embedded PGlite.
 */
export interface SqlClient {
  query<T = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs several statements without parameters (schema setup). */
  exec(text: string): Promise<void>;
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Runs `fn` while holding a database-wide advisory lock, so processes take turns. */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` (and once after a lost connection comes
   * back, since notifications sent meanwhile are gone). Resolves with a function that stops.
   */
  listen(channel: string, onNotify: () => void, onError: (err: Error) => void): Promise<() => Promise<void>>;
  /** A `pg.Pool`-shaped object for Agenda's PostgreSQL backend on the same database (the bench's raw Agenda, and the migration test). */
  readonly agendaPool: pg.Pool;
  /** The most statements it runs at once: a pool's connections, 1 for PGlite and a transaction. */
  readonly connections: number;
  /**
   * Whether a write's NOTIFY goes in the write's own statement (PGlite, a transaction) or is
   * sent after it commits, through `announce` (a PostgreSQL pool). A NOTIFY in a transaction
   * holds PostgreSQL's one notification lock from its commit's start until its WAL is flushed,
   * so every writing transaction that notifies waits for the others' flushes in turn: on the
   * dispatch path, fires and run ends queued behind each other's commits.
   */
  readonly notifiesInline: boolean;
  /**
   * Announces a write that committed and says it wrote something to announce on `channel`.
   * Where the write carried its NOTIFY (`notifiesInline`) there is nothing left to send.
   * Otherwise it sends a NOTIFY in a statement of its own: its commit does not wait for a
   * WAL flush, so it holds that lock for a moment only. One
   * is sent at a time per channel, and one more when asked meanwhile, so every write asked
   * for is followed by a NOTIFY sent after it; on PostgreSQL the next one waits until
   * JOBS_ANNOUNCE_GAP_MS have passed since the last was sent, so a busy worker sends a few a
   * second rather than one per write. Not awaited; one that fails is dropped (every
   * listener also polls).
   */
  announce(channel: string): void;
  /**
   * Holds the advisory lock named by `key` (see sessionLockKeys) on a connection of its own
   * until released, taking it again after a lost connection: other processes can then tell
   * from pg_locks whether this process is still connected. Resolves false when another
   * session holds the lock, null where the database has no other sessions (PGlite).
   */
  holdSessionLock(key: string, onError: (err: Error) => void): Promise<SessionLock | false | null>;
}

export interface SessionLock {
  release(): Promise<void>;
}

/**
 * The two int4 keys of a session lock, as SQL of the lock's name: the deployment (its schema)
 * and the name. pg_locks shows them as classid and objid (objsubid 2).
 */
export const sessionLockKeys = (name: string) => `hashtext('jobs-service:' || current_schema()), hashtext(${name})`;

// A NOTIFY gives its transaction an id, so its commit would wait for a WAL flush, holding the
// notification lock meanwhile; nothing is lost if a crash takes back that commit.
const notifyStatement = "SELECT pg_notify($1, '') FROM (SELECT set_config('synchronous_commit', 'off', true)) s";

/** Names of prepared statements, one per statement text, shared by every connection of a process. */
const statementNames = new Map<string, string>();
/**
 * The most statement texts a process prepares (JOBS_PREPARED_STATEMENTS; 0: none). The
 * dispatch path's statements are built from parts (a fire with or without queued runs), so
 * their texts are many but bounded; texts past this run unprepared, so no connection keeps an
 * unbounded number. The cap bounds memory (each connection keeps a plan per text), nothing else.
 */
let maxPreparedStatements = defaultPreparedStatements;

/** Sets JOBS_PREPARED_STATEMENTS for this process. */
export function limitPreparedStatements(max: number) {
  maxPreparedStatements = max;
}

/** Whether a text is run prepared: one prepared already, or a new one within the cap (`count`: the texts prepared). */
const mayPrepare = (known: boolean, count: number) => maxPreparedStatements > 0 && (known || count < maxPreparedStatements);

/** Counts the names given, so a text prepared again gets a name no connection has used. */
let statementSeq = 0;

/**
 * PostgreSQL fixes the result columns of a prepared statement: once a migration (of a newer
 * process, in a rolling upgrade) adds a column that a `*` of the statement expands to, each
 * connection that prepared it answers 0A000 "cached plan must not change result type".
 */
function isStalePlan(err: unknown): boolean {
  return (err as { code?: unknown }).code === '0A000' && /cached plan must not change result type/.test((err as Error).message ?? '');
}

/** The same query under a new statement name, which every connection prepares afresh. */
function preparedAgain(config: pg.QueryConfig): pg.QueryConfig {
  const name = `jobs_service_${++statementSeq}`;
  statementNames.set(config.text, name);
  return { ...config, name };
}

/** A query for pg: by name when the statement is to be prepared. */
function pgQuery(text: string, params: unknown[] | undefined, options: QueryOptions | undefined): pg.QueryConfig {
  let name = statementNames.get(text);
  if (!options?.prepare || !mayPrepare(name !== undefined, statementNames.size)) return { text, values: params };
  if (!name) statementNames.set(text, (name = `jobs_service_${++statementSeq}`));
  return { name, text, values: params };
}

export interface PgClientOptions {
  /** Longest wait between two attempts to connect a dedicated connection again, in ms. */
  retryMaxMs: number;
  /** The shortest time between two NOTIFYs sent on one channel by `announce`, in ms (JOBS_ANNOUNCE_GAP_MS; default 20). */
  announceGapMs?: number;
}

/** The first wait before connecting a dedicated connection again; doubled per failed attempt. */
const firstRetryMs = 250;

export class PgClient implements SqlClient {
  readonly agendaPool: pg.Pool;
  readonly connections: number;
  readonly notifiesInline = false;
  /** Channels with a NOTIFY under way or waiting for its gap, and whether another was asked for meanwhile. */
  private readonly announcing = new Map<string, boolean>();
  /** When the last NOTIFY on each channel was sent. */
  private readonly lastAnnounced = new Map<string, number>();
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgClientOptions = { retryMaxMs: 5000 },
  ) {
    this.agendaPool = pool;
    this.connections = pool.options.max ?? 10;
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
  }

  /**
   * Storage faults of this client's statements, for readiness. The probe writes a few pages
   * of a temporary table, which the server has to find room for.
   */
  readonly storage = new StorageWatch(async () => {
    const conn = await this.pool.connect();
    try {
      await conn.query('BEGIN');
      await conn.query('CREATE TEMP TABLE jobs_storage_probe (b text) ON COMMIT DROP');
      await conn.query("INSERT INTO jobs_storage_probe SELECT string_agg(md5(i::text || random()::text), '') FROM generate_series(1, 200) i, generate_series(1, 16) j GROUP BY j");
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  });

  private noted = (err: unknown): never => {
    this.storage.note(err);
    throw err;
  };

  async query<T>(text: string, params?: unknown[], options?: QueryOptions) {
    const config = pgQuery(text, params, options);
    const r = await this.pool
      .query(config)
      .catch((err: unknown) => {
        if (config.name && isStalePlan(err)) return this.pool.query(preparedAgain(config));
        throw err;
      })
      .catch(this.noted);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async exec(text: string) {
    await this.pool.query(text).catch(this.noted);
  }

  announce(channel: string) {
    if (this.announcing.has(channel)) {
      this.announcing.set(channel, true);
      return;
    }
    this.announcing.set(channel, false);
    this.announceNext(channel);
  }

  /** Sends the next NOTIFY on `channel` once the gap since the last has passed. */
  private announceNext(channel: string) {
    const send = () => {
      this.lastAnnounced.set(channel, Date.now());
      // A write asked for from here on may commit after this NOTIFY: it gets one more.
      this.announcing.set(channel, false);
      void this.pool
        .query(notifyStatement, [channel])
        .catch(() => undefined)
        .then(() => {
          if (this.announcing.get(channel) && !this.pool.ended) this.announceNext(channel);
          else this.announcing.delete(channel);
        });
    };
    const wait = (this.lastAnnounced.get(channel) ?? -Infinity) + (this.options.announceGapMs ?? 20) - Date.now();
    if (wait <= 0) send();
    else setTimeout(send, wait).unref();
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.transact(fn).catch(this.noted);
  }

  private async transact<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const conn = await this.pool.connect();
    const tx: SqlClient = {
      agendaPool: this.pool,
      connections: 1,
      notifiesInline: true,
      announce: () => undefined,
      query: async <R>(text: string, params?: unknown[], options?: QueryOptions) => {
        const config = pgQuery(text, params, options);
        const r = await conn.query(config).catch((err: unknown) => {
          // The failure ended the transaction: the caller's next try prepares the text afresh.
          if (config.name && isStalePlan(err)) preparedAgain(config);
          throw err;
        });
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      },
      exec: async (text: string) => void (await conn.query(text)),
      transaction: (inner) => inner(tx),
      withLock: (_key, fn) => fn(),
      close: async () => undefined,
      listen: () => Promise.reject(new Error('LISTEN inside a transaction')),
      holdSessionLock: () => Promise.reject(new Error('a session lock inside a transaction')),
    };
    try {
      await conn.query('BEGIN');
      const result = await fn(tx);
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  async withLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const conn = await this.pool.connect();
    try {
      await conn.query('SELECT pg_advisory_lock($1)', [key]);
      try {
        return await fn();
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      }
    } finally {
      conn.release();
    }
  }

  /**
   * A connection of its own, outside the pool, set up by `setup` and again after it is lost,
   * for as long as it takes: the waits between attempts double from 250 ms up to
   * `retryMaxMs`. Resolves with whether the first setup succeeded and a function that ends
   * the connection.
   */
  private async dedicated(setup: (c: pg.Client) => Promise<void>, onReconnect: () => void, onError: (err: Error) => void): Promise<{ first: boolean; end: () => Promise<void> }> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let delay = firstRetryMs;
    const connect = async (): Promise<void> => {
      const c = new pg.Client(this.pool.options);
      client = c;
      const lost = (err?: Error) => {
        if (client !== c) return;
        client = undefined;
        c.removeAllListeners('notification');
        c.end().catch(() => undefined);
        if (stopped) return;
        if (err) onError(err);
        retry = setTimeout(() => connect().then(onReconnect, () => undefined), delay);
        retry.unref();
        delay = Math.min(delay * 2, this.options.retryMaxMs);
      };
      c.on('error', lost);
      c.on('end', () => lost());
      try {
        await c.connect();
        await setup(c);
        delay = firstRetryMs;
      } catch (err) {
        lost(err as Error);
        throw err;
      }
    };
    // A first failure is retried like a lost connection.
    const first = await connect().then(
      () => true,
      () => false,
    );
    return {
      first,
      end: async () => {
        stopped = true;
        clearTimeout(retry);
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
      },
    };
  }

  /** The LISTEN is held on a connection of its own; polling covers the time it is lost. */
  async listen(channel: string, onNotify: () => void, onError: (err: Error) => void): Promise<() => Promise<void>> {
    const session = await this.dedicated(
      async (c) => {
        c.on('notification', (msg) => {
          if (msg.channel === channel) onNotify();
        });
        await c.query(`LISTEN "${channel}"`);
      },
      // Notifications sent while the connection was lost are gone: look now.
      onNotify,
      onError,
    );
    return session.end;
  }

  async holdSessionLock(key: string, onError: (err: Error) => void): Promise<SessionLock | false> {
    let taken = false;
    const session = await this.dedicated(
      async (c) => {
        const r = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${sessionLockKeys('$1')}) AS ok`, [key]);
        if (!r.rows[0].ok) {
          taken = true;
          throw new Error(`the session lock '${key}' is held by another session`);
        }
      },
      () => undefined,
      (err) => {
        if (!taken) onError(err);
      },
    );
    if (!session.first) {
      await session.end();
      if (taken) return false;
      throw new Error(`cannot hold the session lock '${key}': the database cannot be reached`);
    }
    return { release: session.end };
  }

  async close() {
    if (!this.pool.ended) await this.pool.end();
  }
}

type PGliteLike = Pick<PGlite, 'query' | 'exec'> | Transaction;

async function pgliteQuery<T>(db: PGliteLike, text: string, params?: unknown[]) {
  // PGlite's query() takes exactly one statement; parameterless text may hold several
  // (a migration does), which only exec() accepts.
  if (!params || params.length === 0) {
    const results = await db.exec(text);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as T[], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
  }
  const r = await db.query<T>(text, params);
  return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) in a data folder: one connection, so queries
 * are serialised by PGlite itself and a transaction holds the connection until it ends.
 */
export class PGliteClient implements SqlClient {
  readonly agendaPool: pg.Pool;
  readonly connections = 1;
  /** One connection: no commit waits for another's, and a statement of its own costs more. */
  readonly notifiesInline = true;
  private readonly closed: Array<() => void> = [];
  /**
   * Storage faults of this client's statements, for readiness. The probe writes and syncs
   * 64 KiB in the data folder: the file system PGlite writes to.
   */
  readonly storage: StorageWatch;

  private noted = (err: unknown): never => {
    this.storage.note(err);
    throw err;
  };

  /** Statements prepared on this database (QueryOptions.prepare), by text: name and parameter types. */
  private readonly statements = new Map<string, { name: string; types: number[] }>();
  /** Names given: a statement whose describe failed is parsed again under another name. */
  private statementSeq = 0;

  constructor(
    private readonly db: PGlite,
    dataDir?: string,
  ) {
    this.storage = new StorageWatch(async () => {
      if (!dataDir) return;
      const file = path.join(dataDir, 'jobs-service.probe');
      try {
        const fh = await fs.open(file, 'w');
        try {
          await fh.write(Buffer.alloc(64 * 1024));
          await fh.sync();
        } finally {
          await fh.close();
        }
      } finally {
        await fs.rm(file, { force: true });
      }
    });
    const query = (text: string, params?: unknown[]) => pgliteQuery(db, text, params).catch(this.noted);
    const client = { query, release: () => undefined };
    // Only the members Agenda's backend calls: query, connect().query/release, end, on.
    this.agendaPool = {
      query,
      connect: async () => client,
      end: async () => undefined,
      on: () => undefined,
    } as unknown as pg.Pool;
  }

  /**
   * PostgreSQL's default shared_buffers (128MB) would be resident in the WebAssembly heap;
   * one process with one connection does well with far less, and the operating system still
   * caches the data files.
   */
  static async open(dataDir: string, sharedBuffers: string): Promise<PGliteClient> {
    const db = await PGlite.create(dataDir, {
      relaxedDurability: false,
      postgresqlconf: [`shared_buffers=${sharedBuffers}`, 'max_connections=8'],
    });
    return new PGliteClient(db, dataDir);
  }

  query<T>(text: string, params?: unknown[], options?: QueryOptions) {
    if (options?.prepare && params?.length && mayPrepare(this.statements.has(text), this.statements.size)) {
      return this.prepared<T>(text, params).catch(this.noted);
    }
    return pgliteQuery<T>(this.db, text, params).catch(this.noted);
  }

  /**
   * PGlite's query() parses and plans every statement (its Parse is unnamed), which on the
   * dispatch path took as long as running it. This sends the same wire messages as query()
   * does, but parses and describes a statement once, under a name, and from then on only
   * binds and executes it; the answer goes through PGlite's own result and type parsers.
   * Like query(), it waits for a transaction in progress and holds the connection meanwhile.
   */
  private async prepared<T>(text: string, params: unknown[]): Promise<{ rows: T[]; rowCount: number }> {
    const db = this.db;
    // As query() does: a closed database says so ("PGlite is closed"), which readiness and
    // the API's 503 recognise.
    await db._checkReady();
    return db._runExclusiveTransaction(() =>
      db._runExclusiveQuery(async () => {
        try {
          return await this.bindAndExecute<T>(text, params);
        } catch (err) {
          // A statement whose result columns changed under it (a column added since it was
          // prepared) or that is gone is prepared again under a new name, once.
          if (!isStalePlan(err) && (err as { code?: unknown }).code !== '26000') throw err;
          this.statements.delete(text);
          return await this.bindAndExecute<T>(text, params);
        }
      }),
    );
  }

  /** One run of a prepared statement (see prepared), preparing it first if it is not yet; the caller holds PGlite's locks. */
  private async bindAndExecute<T>(text: string, params: unknown[]): Promise<{ rows: T[]; rowCount: number }> {
    const db = this.db;
    const send = (message: Uint8Array) => db.execProtocolStream(message, { syncToFs: false });
    const messages = [];
    try {
      let statement = this.statements.get(text);
      if (!statement) {
        const name = `jobs_service_${++this.statementSeq}`;
        await send(protocol.serialize.parse({ name, text }));
        const types = pgliteResults.parseDescribeStatementResults(await send(protocol.serialize.describe({ type: 'S', name })));
        statement = { name, types };
        this.statements.set(text, statement);
      }
      const types = statement.types;
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serialize = db.serializers[types[i]];
        return serialize ? serialize(v) : String(v);
      });
      messages.push(
        ...(await send(protocol.serialize.bind({ statement: statement.name, values }))),
        ...(await send(protocol.serialize.describe({ type: 'P' }))),
        ...(await send(protocol.serialize.execute({}))),
      );
    } finally {
      messages.push(...(await send(protocol.serialize.sync())));
    }
    await db.syncToFs();
    const r = pgliteResults.parseResults(messages, db.parsers)[0];
    return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(text: string) {
    await this.db.exec(text).catch(this.noted);
  }

  /** The write carried its NOTIFY. */
  announce() {}

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    const unsubscribe = await this.db.listen(channel, () => onNotify());
    return async () => {
      if (!this.db.closed) await unsubscribe();
    };
  }

  /** One process owns an embedded database: there is nobody to take turns with. */
  withLock<T>(_key: number, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  /** One process owns an embedded database: no other process needs to tell it is alive. */
  async holdSessionLock(): Promise<null> {
    return null;
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.transact(fn).catch(this.noted);
  }

  private transact<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) => {
      const tx: SqlClient = {
        agendaPool: this.agendaPool,
        connections: 1,
        notifiesInline: true,
        announce: () => undefined,
        query: <R>(text: string, params?: unknown[]) => pgliteQuery<R>(t, text, params),
        exec: async (text: string) => void (await t.exec(text)),
        transaction: (inner) => inner(tx),
        withLock: (_key, fn) => fn(),
        close: async () => undefined,
        listen: () => Promise.reject(new Error('LISTEN inside a transaction')),
        holdSessionLock: () => Promise.reject(new Error('a session lock inside a transaction')),
      };
      return fn(tx);
    });
  }

  /** Calls `fn` once the database is closed. */
  onClose(fn: () => void) {
    this.closed.push(fn);
  }

  async close() {
    if (!this.db.closed) await this.db.close();
    for (const fn of this.closed.splice(0)) fn();
  }
}
