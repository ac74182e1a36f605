import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { noticeSkippedStores, scaled, sleep, startService, stores, testDatabase, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const token = 'connections-writer-token-0123456789';

/** A raw TCP client: what it received, and when the server closed it. */
interface Raw {
  socket: net.Socket;
  received: () => string;
  closed: Promise<number>;
}

function connect(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Waits, up to `ms`, for what the client received to match `pattern`. */
async function receives(raw: Raw, pattern: RegExp, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  while (!pattern.test(raw.received()) && Date.now() < deadline) await sleep(20);
  return raw.received();
}

/** Resolves with the time of the close, or null when the socket is still open after `ms`. */
const closedWithin = (raw: Raw, ms: number) => Promise.race([raw.closed, sleep(ms).then(() => null)]);

async function liveness(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${api}/liveness`);
  await res.arrayBuffer();
  return res.status;
}

for (const { name, skip } of stores) {
  describe(`connections: closed after early errors, capped, timed out on ${name}`, { skip, timeout: scaled(120_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let port: number;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, { JOBS_API_TOKENS: `ci:${token}:write`, JOBS_HTTP_MAX_CONNECTIONS: '5', JOBS_HTTP_HEADERS_TIMEOUT_MS: '1000' });
      port = await svc.service.listen();
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('closes the connection after a 401 answered before the body, while the client trickles it', async () => {
      const raw = await connect(port);
      raw.socket.write(`POST ${api}/jobs/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"pad": "`);
      const trickle = setInterval(() => raw.socket.writable && raw.socket.write('x'), 100);
      try {
        const closedAt = await closedWithin(raw, scaled(3000));
        assert.match(raw.received(), /^HTTP\/1\.1 401 /);
        assert.match(raw.received(), /\r\nconnection: close\r\n/i);
        assert.ok(closedAt !== null, 'the server closed the connection');
      } finally {
        clearInterval(trickle);
        raw.socket.destroy();
      }
      // And a 413 announced by Content-Length, with a token.
      const big = await connect(port);
      big.socket.write(
        `POST ${api}/jobs/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{`,
      );
      assert.ok((await closedWithin(big, scaled(3000))) !== null, 'closed after the 413');
      assert.match(big.received(), /^HTTP\/1\.1 413 /);
    });

    it('keeps a connection that sent its whole request open for the next one', async () => {
      const raw = await connect(port);
      raw.socket.write(`GET ${api}/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.match(await receives(raw, /^HTTP\/1\.1 401 [^]*\r\n\r\n\{[^]*\}$/, scaled(3000)), /^HTTP\/1\.1 401 /);
      assert.doesNotMatch(raw.received(), /connection: close/i);
      raw.socket.write(`GET ${api}/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.match(await receives(raw, /HTTP\/1\.1 200 /, scaled(3000)), /HTTP\/1\.1 200 /);
      raw.socket.destroy();
    });

    it('cuts a client that trickles its headers (slowloris) at the headers timeout', async () => {
      const raw = await connect(port);
      const t0 = Date.now();
      raw.socket.write(`GET ${api}/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      let n = 0;
      const trickle = setInterval(() => raw.socket.writable && raw.socket.write(`X-Slow-${n++}: 1\r\n`), 200);
      try {
        const closedAt = await closedWithin(raw, scaled(6000));
        assert.ok(closedAt !== null, 'the server cut the connection');
        assert.ok(closedAt - t0 >= 900, `cut after ${closedAt - t0} ms, not before the timeout`);
        assert.doesNotMatch(raw.received(), /HTTP\/1\.1 200/);
      } finally {
        clearInterval(trickle);
        raw.socket.destroy();
      }
    });

    it('refuses connections past JOBS_HTTP_MAX_CONNECTIONS and keeps answering the others', async () => {
      const held: Raw[] = [];
      const keep = setInterval(() => {
        // A request every 300 ms keeps each held connection busy without a headers timeout.
        for (const h of held) if (h.socket.writable) h.socket.write(`GET ${api}/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      }, 300);
      try {
        for (let i = 0; i < 5; i++) held.push(await connect(port));
        await sleep(scaled(500));
        const extra = await connect(port);
        assert.ok((await closedWithin(extra, scaled(2000))) !== null, 'the sixth connection is closed');
        assert.equal(extra.received(), '');
        // The five still answer.
        for (const h of held) assert.match(await receives(h, /HTTP\/1\.1 200 /, scaled(3000)), /HTTP\/1\.1 200 /);
        // Once some go, new ones are taken again.
        held.splice(0, 2).forEach((h) => h.socket.destroy());
        await sleep(scaled(200));
        assert.equal(await liveness(port), 200);
      } finally {
        clearInterval(keep);
        for (const h of held) h.socket.destroy();
      }
    });
  });
}
