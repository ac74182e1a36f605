/**
 * The live streams on every store: GET /events with its filters and Last-Event-ID, a run's
 * output followed as it runs and resumed, tokens checked, a client that stops reading
 * disconnected, the cap on open streams, and every stream ended when the service stops.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, ProblemError, type Event, type JobsClient, type OutputStreamEvent } from '../src/client/index.js';
import { capturedLogger, noticeSkippedStores, scaled, sleep, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const adminToken = 'streams-admin-token-0123456789';
const readToken = 'streams-read-token-0123456789';

/** Collects what an async iterator yields until `done` says so or the time runs out. */
async function collect<T>(it: AsyncIterable<T>, done: (seen: T[]) => boolean, timeoutMs: number): Promise<T[]> {
  const seen: T[] = [];
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
  const iterator = it[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([iterator.next(), timer]);
    if (next === 'timeout') {
      await iterator.return?.();
      assert.fail(`timed out after ${timeoutMs} ms; seen: ${JSON.stringify(seen).slice(0, 2000)}`);
    }
    if (next.done) return seen;
    seen.push(next.value);
    if (done(seen)) {
      await iterator.return?.();
      return seen;
    }
  }
}

/** Reads a raw HTTP answer's head from a socket; resolves with the status line and what followed. */
function rawRequest(port: number, head: string): Promise<{ socket: net.Socket; status: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        socket.pause();
        resolve({ socket, status: buf.slice(0, buf.indexOf('\r\n')) });
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** `count` job.updated events of about 2 KB each (a long handler name), for jobs `${prefix}-${i}`. */
const largeEvents = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    type: 'job.updated' as const,
    job_id: `${prefix}-${i}`,
    execution_id: null,
    batch_id: null,
    handler: `echo-${'x'.repeat(2000)}`,
    status: null,
    progress: null,
    state: 'running' as const,
  }));

let scripts: string;
before(async () => {
  scripts = await tempDir('stream-scripts');
  await fs.writeFile(path.join(scripts, 'count.sh'), '#!/bin/sh\ni=1\nwhile [ "$i" -le "$1" ]; do echo "line $i"; i=$((i+1)); sleep "$2"; done\n', { mode: 0o755 });
  process.env.JOBS_SCRIPTS_DIR = scripts;
});
after(async () => {
  delete process.env.JOBS_SCRIPTS_DIR;
  await fs.rm(scripts, { recursive: true, force: true });
});

for (const { name, skip } of stores) {
  describe(`live streams on ${name}`, { skip, timeout: scaled(180_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let client: JobsClient;
    let reader: JobsClient;
    let baseUrl: string;
    let port: number;
    const captured = capturedLogger('info');
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(
        db,
        {
          HOST: '127.0.0.1',
          JOBS_API_TOKENS: `ops:${adminToken}:admin,viewer:${readToken}:read`,
          JOBS_SSE_HEARTBEAT: '1',
          JOBS_SSE_POLL_INTERVAL_MS: '200',
          JOBS_SSE_BUFFER_BYTES: '65536',
          JOBS_SSE_MAX_CLIENTS: '4',
          // A run's heartbeat, which writes its output, comes every third of this.
          JOBS_LOCK_LIFETIME_MS: String(scaled(3000)),
        },
        { log: captured.log },
      );
      port = await svc.service.listen();
      baseUrl = `http://127.0.0.1:${port}/api/v1`;
      client = createClient({ baseUrl, token: adminToken });
      reader = createClient({ baseUrl, token: readToken });
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('refuses a stream without a token (401) and takes a read token', async () => {
      for (const url of ['/events', '/executions/nope/output?follow=true']) {
        const res = await fetch(`${baseUrl}${url}`, { headers: { Accept: 'text/event-stream' } });
        assert.equal(res.status, 401, url);
        assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      }
      const e = await reader
        .followOutput('nope', { reconnect: false })
        .next()
        .catch((err: unknown) => err);
      assert.ok(e instanceof ProblemError && e.status === 404, String(e));
    });

    it('answers 400 naming the field for an unknown event type or a bad Last-Event-ID', async () => {
      const bad = await fetch(`${baseUrl}/events?types=job.created,job.exploded`, { headers: { Authorization: `Bearer ${readToken}` } });
      assert.equal(bad.status, 400);
      const body = (await bad.json()) as { errors: Array<{ field: string; reason: string }> };
      assert.equal(body.errors[0].field, 'query.types');
      assert.match(body.errors[0].reason, /job\.exploded/);
      const id = await fetch(`${baseUrl}/events`, { headers: { Authorization: `Bearer ${readToken}`, 'Last-Event-ID': 'abc' } });
      assert.equal(id.status, 400);
      assert.equal(((await id.json()) as { errors: Array<{ field: string }> }).errors[0].field, 'header.last-event-id');
    });

    it('keeps a quiet stream open with heartbeat comments, as text/event-stream without caching', async () => {
      const ac = new AbortController();
      const res = await fetch(`${baseUrl}/events?types=service.paused`, { headers: { Authorization: `Bearer ${readToken}` }, signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const reader = res.body!.getReader();
      let text = '';
      const deadline = Date.now() + scaled(10_000);
      while (!text.includes(': heartbeat\n\n') && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      assert.match(text, /^: heartbeat\n\n/);
    });

    it('streams job and service changes, filtered by type and job, and resumes after Last-Event-ID', async () => {
      const ac = new AbortController();
      const mine = collect(
        reader.events({ types: ['job.created', 'job.paused', 'job.resumed', 'job.deleted'], job_id: 'ev-a' }, { signal: ac.signal }),
        (seen) => seen.some((e) => e.type === 'job.deleted'),
        scaled(20_000),
      );
      const all = collect(reader.events({}, { signal: ac.signal }), (seen) => seen.some((e) => e.type === 'service.resumed'), scaled(20_000));
      await sleep(scaled(300)); // both subscribed
      await client.jobs.create({ handler: 'echo', job_id: 'ev-b', periodically: '1 hour', kwargs: { n: 0 } });
      await client.jobs.create({ handler: 'echo', job_id: 'ev-a', periodically: '1 hour', kwargs: { n: 1 } });
      await client.jobs.pause('ev-a');
      await client.jobs.resume('ev-a');
      await client.jobs.delete('ev-a');
      await client.service.pause();
      await client.service.resume();
      const seen = await mine;
      assert.deepEqual(
        seen.map((e) => e.type),
        ['job.created', 'job.paused', 'job.resumed', 'job.deleted'],
      );
      assert.ok(seen.every((e) => e.job_id === 'ev-a' && e.handler === 'echo'));
      assert.equal(seen[1].state, 'paused');
      const every = await all;
      const types = every.map((e) => e.type);
      for (const t of ['job.created', 'job.paused', 'job.resumed', 'job.deleted', 'service.paused', 'service.resumed'])
        assert.ok(types.includes(t as Event['type']), `${t} in ${types}`);
      assert.ok(every.some((e) => e.job_id === 'ev-b'));
      // Ids grow; resuming after the pause of ev-a gives what followed, in order.
      const ids = every.map((e) => Number(e.id));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
      const pause = every.find((e) => e.type === 'job.paused')!;
      const resumed = await collect(reader.events({ job_id: 'ev-a' }, { lastEventId: pause.id }), (s) => s.some((e) => e.type === 'job.deleted'), scaled(10_000));
      assert.deepEqual(
        resumed.map((e) => e.type),
        ['job.resumed', 'job.deleted'],
      );
      ac.abort();
    });

    it('follows a run’s output while it runs, with its status and its end; resumes from a line', async () => {
      await client.jobs.create({ handler: 'run-script', job_id: 'counter', state: 'paused', kwargs: { script: 'count.sh', args: ['6', String(scaled(600) / 1000)] } });
      const runEvents = collect(
        reader.events({ job_id: 'counter', types: ['execution.created', 'execution.started', 'execution.ended'] }),
        (s) => s.some((e) => e.type === 'execution.ended'),
        scaled(30_000),
      );
      await sleep(scaled(200));
      const { execution_ids } = await client.jobs.run('counter');
      const id = execution_ids[0];
      const followed = await collect<OutputStreamEvent>(reader.followOutput(id), () => false, scaled(30_000));
      // Each line as the output keeps it: its time, its level, the text.
      const lines = followed.flatMap((e) => (e.event === 'output' ? e.data.lines : []));
      assert.deepEqual(
        lines.map((l) => /(line \d)$/.exec(l)?.[1]),
        ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6'],
      );
      // Lines came in more than one event: live, not all at the end.
      assert.ok(followed.filter((e) => e.event === 'output').length > 1, JSON.stringify(followed));
      assert.ok(followed.some((e) => e.event === 'status' && e.data.status === 'running'));
      const last = followed[followed.length - 1];
      assert.equal(last.event, 'end');
      assert.equal(last.event === 'end' && last.data.status, 'succeeded');
      assert.equal(last.event === 'end' && last.data.lines, 6);
      let offset = 0;
      for (const e of followed) {
        if (e.event !== 'output') continue;
        assert.equal(e.data.offset, offset);
        offset += e.data.lines.length;
        assert.equal(e.id, offset);
      }
      const run = await runEvents;
      assert.deepEqual(
        run.map((e) => e.type),
        ['execution.created', 'execution.started', 'execution.ended'],
      );
      assert.ok(run.every((e) => e.execution_id === id && e.handler === 'run-script'));
      assert.equal(run[2].status, 'succeeded');

      // After line 4, an ended run answers the rest and its end at once.
      const rest = await collect<OutputStreamEvent>(reader.followOutput(id, { lastEventId: 4 }), () => false, scaled(10_000));
      assert.deepEqual(
        rest.map((e) => e.event),
        ['output', 'end'],
      );
      assert.deepEqual(rest[0].event === 'output' && rest[0].data, { execution_id: id, offset: 4, lines: lines.slice(4), dropped: 0 });
      // Without follow the route answers JSON as before.
      assert.deepEqual((await reader.executions.output(id)).lines.length, 6);
    });

    it('disconnects a client that stops reading, and caps the open streams', async () => {
      // Many events to replay: far more than the buffer and the sockets hold.
      const events = largeEvents('filler', 4000);
      await svc.service.store.appendEvents(events);
      const { socket, status } = await rawRequest(
        port,
        `GET /api/v1/events?types=job.updated HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${readToken}\r\nLast-Event-ID: 0\r\n\r\n`,
      );
      assert.match(status, / 200 /);
      // The client reads nothing more: the service gives up on it once its socket is full and a
      // heartbeat (1 s here) passed without it taking anything, not a heartbeat per event.
      await waitFor('the slow client to be disconnected', async () => captured.lines.some((l) => l.includes('event stream client too slow')), 6000, 100);
      let received = 0;
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('data', (b: Buffer) => (received += b.length));
      socket.resume();
      await ended;
      const total = events.reduce((n, e) => n + JSON.stringify(e).length, 0);
      assert.ok(received < total, `received ${received} of ${total} bytes`);

      // JOBS_SSE_MAX_CLIENTS=4: a fifth stream answers 503.
      const ac = new AbortController();
      const open = await Promise.all([1, 2, 3, 4].map(() => fetch(`${baseUrl}/events`, { headers: { Authorization: `Bearer ${readToken}` }, signal: ac.signal })));
      assert.deepEqual(
        open.map((r) => r.status),
        [200, 200, 200, 200],
      );
      const fifth = await fetch(`${baseUrl}/events`, { headers: { Authorization: `Bearer ${readToken}` } });
      assert.equal(fifth.status, 503);
      assert.match(((await fifth.json()) as { detail: string }).detail, /JOBS_SSE_MAX_CLIENTS/);
      ac.abort();
      await waitFor(
        'a stream slot free again',
        async () =>
          (await fetch(`${baseUrl}/events`, { headers: { Authorization: `Bearer ${readToken}` }, signal: AbortSignal.timeout(scaled(2000)) })
            .then((r) => (r.body?.cancel(), r.status))
            .catch(() => 0)) === 200,
        scaled(10_000),
        200,
      );
    });

    it('gives a burst whole to a client that reads slowly, pausing less than a heartbeat', async () => {
      const from = await svc.service.store.lastEventId();
      const count = 300;
      await svc.service.store.appendEvents(largeEvents('paced', count));
      // About 600 KB against a buffer of 64 KB: the burst waits for the client many times.
      const res = await fetch(`${baseUrl}/events?types=job.updated`, { headers: { Authorization: `Bearer ${readToken}`, 'Last-Event-ID': String(from) } });
      assert.equal(res.status, 200);
      const body = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let seen = 0;
      const deadline = Date.now() + scaled(30_000);
      while (seen < count && Date.now() < deadline) {
        const { value, done } = await body.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        seen = text.match(/"job_id":"paced-\d+"/g)?.length ?? 0;
        await sleep(200);
      }
      await body.cancel();
      assert.equal(seen, count, 'every event of the burst');
      const ids = [...text.matchAll(/"job_id":"paced-(\d+)"/g)].map((m) => Number(m[1]));
      assert.deepEqual(
        ids,
        Array.from({ length: count }, (_, i) => i),
        'in order',
      );
    });

    it('ends every stream cleanly when the service stops', async () => {
      await client.jobs.create({ handler: 'run-script', job_id: 'long', state: 'paused', kwargs: { script: 'count.sh', args: ['1000', '0.2'] } });
      const { execution_ids } = await client.jobs.run('long');
      const seenRunning = await collect(reader.followOutput(execution_ids[0]), (s) => s.some((e) => e.event === 'output'), scaled(20_000));
      assert.ok(seenRunning.length > 0);
      const follow = collect(reader.followOutput(execution_ids[0], { reconnect: false }), () => false, scaled(30_000));
      const events = collect(reader.events({}, { reconnect: false }), () => false, scaled(30_000));
      await sleep(scaled(500));
      const t0 = Date.now();
      await svc.close();
      // Both iterations end, without an error, once the service is down.
      const [f, e] = await Promise.all([follow, events]);
      assert.ok(Array.isArray(f) && Array.isArray(e));
      assert.ok(Date.now() - t0 < scaled(20_000));
    });
  });
}
