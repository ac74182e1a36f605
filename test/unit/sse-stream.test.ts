/**
 * A stream's bursts (SseStream.sendPaced) against what its client takes: a burst made before
 * the answer is under way waits for it, and a client that takes nothing for a heartbeat is
 * disconnected after that heartbeat, not after one per event.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { SseSettings } from '../../src/config/config.js';
import { SseStream } from '../../src/operations/sse.js';
import { capturedLogger } from '../support/captured-log.js';
import { scaled, sleep } from '../support/time.js';

function stream(heartbeatMs: number) {
  const captured = capturedLogger('info');
  const settings: SseSettings = { maxClients: 4, bufferBytes: 4096, heartbeatMs, pollIntervalMs: 200, retentionMs: 60_000 };
  return { sse: new SseStream(settings, captured.log, { stream: 'events' }), tooSlow: () => captured.lines.some((l) => l.includes('too slow')) };
}

/** Sends `count` events of about 130 bytes as one burst; resolves with how many were sent. */
async function burst(sse: SseStream, count: number): Promise<number> {
  for (let i = 0; i < count; i++) if (!(await sse.sendPaced('e', { i, pad: 'x'.repeat(100) }, i))) return i;
  return count;
}

describe('a stream’s bursts', () => {
  it('a burst made before the answer is under way waits for it, for longer than a heartbeat', async () => {
    const heartbeatMs = 50;
    const { sse, tooSlow } = stream(heartbeatMs);
    // 100 events, about 13 KB against a buffer of 4 KB: the burst waits for the client.
    const sent = burst(sse, 100);
    await sleep(heartbeatMs * 6);
    let received = '';
    sse.body.pipe(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          received += chunk.toString();
          done();
        },
      }),
    );
    assert.equal(await sent, 100, 'every event sent');
    assert.equal(tooSlow(), false, 'not disconnected');
    assert.equal(received.match(/^event: e$/gm)?.length, 100);
    await sse.end();
  });

  it('a client that takes nothing is disconnected after a heartbeat, not one per event', async () => {
    const heartbeatMs = 1000;
    const { sse, tooSlow } = stream(heartbeatMs);
    // The client takes the first chunk and never another.
    sse.body.pipe(new Writable({ highWaterMark: 1, write() {} }));
    const t0 = Date.now();
    const sent = await burst(sse, 100);
    const took = Date.now() - t0;
    assert.ok(sent < 100, `sent ${sent} of 100`);
    assert.ok(tooSlow(), 'logged as too slow');
    assert.equal(sse.open, false);
    // A heartbeat per event past half the buffer (about 15) took 15 s or more.
    assert.ok(took < scaled(5000), `disconnected after ${took} ms (heartbeat ${heartbeatMs} ms)`);
  });
});
