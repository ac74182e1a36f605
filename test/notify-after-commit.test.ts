/**
 * The event log's readers are woken by a NOTIFY, which on PostgreSQL is sent after the write
 * that it announces has committed, in a statement of its own: a NOTIFY inside a writing
 * transaction holds the server's one notification lock until that transaction's WAL is
 * flushed, so fires and run ends would wait for each other's flushes. On PGlite (one
 * connection) the write carries its NOTIFY. Either way a reader whose poll is a minute away
 * sees a run's events within seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient, type Event, type JobsClient } from '../src/client/index.js';
import { openPostgres } from '../src/db/postgres.js';
import { noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const token = 'notify-admin-token-0123456789';

/** Every statement text a `pg` client sends from now on, until the function returned is called. */
function recordStatements(): { texts: string[]; stop: () => void } {
  const texts: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const text = typeof q === 'string' ? q : (q as { text?: unknown } | null)?.text;
    if (typeof text === 'string') texts.push(text);
    return original.apply(this, args);
  };
  return { texts, stop: () => void (proto.query = original) };
}

for (const { name, skip } of stores) {
  const sqlOnly = name === 'mongodb' ? 'MongoDB has no NOTIFY: its readers poll' : skip;
  describe(`the event log's wake-up on ${name}`, { skip: sqlOnly, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let client: JobsClient;
    let recorded: ReturnType<typeof recordStatements> | undefined;

    before(async () => {
      db = await testDatabase(name);
      recorded = name === 'postgres' ? recordStatements() : undefined;
      // The poll is a minute away: only a NOTIFY can wake the reader in time.
      svc = await startService(db, { HOST: '127.0.0.1', JOBS_API_TOKENS: `ops:${token}:admin`, JOBS_SSE_POLL_INTERVAL_MS: '60000' });
      const port = await svc.service.listen();
      client = createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1`, token });
    });

    after(async () => {
      recorded?.stop();
      await svc?.close();
      await db?.drop();
    });

    it("wakes a stream with a run's start and end within seconds", async () => {
      const ac = new AbortController();
      const seen: Event[] = [];
      const ended = (async () => {
        for await (const e of client.events({ job_id: 'woken' }, { signal: ac.signal })) {
          seen.push(e);
          if (e.type === 'execution.ended') return;
        }
      })();
      // The stream is open once its first read of the log has been made.
      await new Promise((r) => setTimeout(r, scaled(500)));
      await client.jobs.create({ handler: 'echo', job_id: 'woken', periodically: '1 hour', kwargs: {} });
      const startedAt = Date.now();
      await client.runJob('woken');
      const limit = scaled(15_000);
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), limit).unref());
      const outcome = await Promise.race([ended.then(() => 'ended' as const), timer]);
      ac.abort();
      await ended.catch(() => undefined);
      assert.equal(outcome, 'ended', `events seen: ${seen.map((e) => e.type).join(', ')}`);
      assert.ok(Date.now() - startedAt < limit);
      const types = seen.map((e) => e.type);
      assert.ok(types.includes('execution.started'), types.join(', '));
    });

    it(
      'sends the NOTIFY of a fire and of a run end after their writes, not inside them (PostgreSQL)',
      { skip: name === 'postgres' ? false : 'PGlite has one connection: its writes carry their NOTIFY' },
      () => {
        const texts = recorded!.texts;
        const writes = texts.filter((t) => /INSERT INTO event/.test(t));
        assert.ok(writes.length > 0, 'the run wrote events');
        const inside = writes.filter((t) => t.includes('pg_notify'));
        assert.deepEqual(inside, [], 'no statement that writes events also sends a NOTIFY');
        assert.ok(
          texts.some((t) => t.includes('pg_notify') && !/INSERT|UPDATE|DELETE/.test(t)),
          'a NOTIFY was sent in a statement of its own',
        );
      },
    );
  });
}

describe('NOTIFYs sent after writes on PostgreSQL', { skip: stores.find((s) => s.name === 'postgres')!.skip }, () => {
  it('go one at a time per channel, at most one per JOBS_ANNOUNCE_GAP_MS, the last after the last write asked for', async () => {
    const db = await testDatabase('postgres');
    const gapMs = 200;
    const sql = await openPostgres(db.env.DATABASE_URL, { retryMaxMs: 1000, announceGapMs: gapMs });
    const received: number[] = [];
    const channel = `announce_test_${process.pid}`;
    const stop = await sql.listen(
      channel,
      () => received.push(Date.now()),
      () => undefined,
    );
    try {
      const started = Date.now();
      let lastAsk = 0;
      for (let i = 0; i < 60; i++) {
        sql.announce(channel);
        lastAsk = Date.now();
        await new Promise((r) => setTimeout(r, 20));
      }
      await waitFor('a NOTIFY after the last ask', async () => received.some((t) => t >= lastAsk), 10_000);
      const elapsed = Date.now() - started;
      // 60 asks over at least 1.2 s: without the gap, about one per ask.
      assert.ok(received.length >= 2, `NOTIFYs received: ${received.length}`);
      assert.ok(received.length <= Math.ceil(elapsed / gapMs) + 1, `${received.length} NOTIFYs in ${elapsed} ms with a gap of ${gapMs} ms`);
    } finally {
      await stop();
      await sql.close();
      await db.drop();
    }
  });
});
