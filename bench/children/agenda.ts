/**
 * Raw Agenda 6 on its PostgreSQL backend (LISTEN/NOTIFY) or on PGlite (the in-memory
 * notification channel, as jobs-service's embedded store uses): one definition per bench
 * handler, one-shot rows removed on completion. Its `sql` command serves the row counts and,
 * on PGlite, the ANALYZE after seeding.
 */
import { Agenda, InMemoryNotificationChannel } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import pg from 'pg';
import { pool } from '../lib/proc.js';
import { fatal, ready, recordRun, serveCommands } from './ipc.js';

const env = process.env;
const embedded = env.BENCH_STORE === 'embedded';
const concurrency = Number(env.BENCH_CONCURRENCY ?? 20);
const lockMs = Number(env.BENCH_LOCK_MS || 0) || undefined;

try {
  const started = performance.now();
  let poolLike: pg.Pool;
  let close: () => Promise<void>;
  let query: (text: string, params?: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>;
  if (embedded) {
    const { PGliteClient } = await import('../../src/db/sql-client.js');
    const sql = await PGliteClient.open(env.BENCH_DATA_DIR!, '16MB');
    poolLike = sql.agendaPool;
    query = (t, p) => sql.query(t, p);
    close = () => sql.close();
  } else {
    const p = new pg.Pool({ connectionString: env.BENCH_PG_URL, max: 10, options: `-c search_path="${env.BENCH_SCHEMA}"` });
    poolLike = p;
    query = (t, params) => p.query(t, params);
    close = () => p.end();
  }
  const agenda = new Agenda({
    backend: new PostgresBackend({ pool: poolLike, disableNotifications: embedded }),
    ...(embedded ? { notificationChannel: new InMemoryNotificationChannel() } : {}),
    processEvery: Number(env.BENCH_POLL_MS ?? 200),
    maxConcurrency: concurrency,
    defaultConcurrency: concurrency,
    lockLimit: concurrency * 2,
    defaultLockLimit: concurrency * 2,
    ...(lockMs ? { defaultLockLifetime: lockMs } : {}),
    removeOnComplete: true,
  });
  agenda.on('error', () => undefined);
  await agenda.ready;
  agenda.define<{ id: string; due?: number }>('noop', async (job) => {
    recordRun({ id: job.attrs.data.id, t: Date.now(), due: job.attrs.data.due });
  });
  agenda.define<{ id: string }>(
    'sleep',
    async (job) => {
      recordRun({ id: job.attrs.data.id, t: Date.now(), kind: 'sleep' }, true);
      await new Promise((r) => setTimeout(r, 600_000));
    },
    lockMs ? { lockLifetime: lockMs } : {},
  );
  if (env.BENCH_EVERY) {
    // Startup: N periodic jobs through every(), one name each (every() keeps one row per name).
    const names = Array.from({ length: Number(env.BENCH_EVERY) }, (_, i) => `periodic-${i}`);
    for (const name of names) agenda.define(name, async () => undefined);
    await agenda.every('5 minutes', names, undefined, { skipImmediate: true });
  }
  let processing = false;
  const start = async () => {
    if (processing) return;
    processing = true;
    await agenda.start();
  };
  if (env.BENCH_PROCESSING === '1') await start();
  serveCommands({
    async seed(a) {
      const t0 = performance.now();
      await pool(a.n as number, embedded ? 4 : 16, async (i) => {
        const due = a.dueAt === 'soon' ? Date.now() : (a.dueAt as number);
        await agenda
          .create(a.handler as string, { id: `${a.prefix as string}${i}`, due })
          .schedule(new Date(due))
          .save();
      });
      return { ms: performance.now() - t0 };
    },
    start,
    async stop() {
      processing = false;
      await agenda.stop(false);
    },
    async sql(a) {
      return (await query(a.text as string, (a.params as unknown[]) ?? [])).rows;
    },
    async close() {
      await agenda.stop(false).catch(() => undefined);
      await close();
    },
  });
  ready({ bootMs: performance.now() - started });
} catch (err) {
  fatal(err);
}
