/**
 * The container's output as the engine sends it (handlers/_engine-stream.ts): frames split
 * wherever the chunks fall, a stream an engine broke with an error of its own, and the rest
 * of a cut-short read completed from the whole log without a byte twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliverRest, FrameReader, type EngineStream } from '../../handlers/_engine-stream.js';

function frame(stream: EngineStream, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collector() {
  const got: Record<EngineStream, string> = { 1: '', 2: '' };
  return { got, deliver: (stream: EngineStream, bytes: Buffer) => (got[stream] += bytes.toString()) };
}

const whole = Buffer.concat([frame(1, 'hello\n'), frame(2, 'to stderr\n'), frame(1, 'two\nthree\n'), frame(2, 'last\n')]);

describe('engine output frames', () => {
  it('reads frames split at any byte, per stream, and counts what it handed on', () => {
    for (const size of [1, 3, 7, 8, 9, 13, whole.length]) {
      const c = collector();
      const reader = new FrameReader(c.deliver);
      for (let i = 0; i < whole.length; i += size) reader.push(whole.subarray(i, i + size));
      assert.deepEqual(c.got, { 1: 'hello\ntwo\nthree\n', 2: 'to stderr\nlast\n' }, `chunks of ${size}`);
      assert.deepEqual(reader.delivered, { 1: 16, 2: 15 });
      assert.equal(reader.broken, false);
      assert.equal(reader.partial, false);
    }
  });

  it("stops at an engine's own error written into the stream, and the whole log completes the output", () => {
    const c = collector();
    const reader = new FrameReader(c.deliver);
    // What Podman's service sent in place of the output when it lost a container's log.
    reader.push(Buffer.concat([frame(1, 'hello\n'), Buffer.from('{"cause":"no such process","message":"failed to obtain logs","response":500}\n')]));
    reader.push(frame(2, 'never read\n'));
    assert.equal(reader.broken, true);
    assert.deepEqual(c.got, { 1: 'hello\n', 2: '' });
    const added = deliverRest(whole, reader.delivered, c.deliver);
    assert.deepEqual(c.got, { 1: 'hello\ntwo\nthree\n', 2: 'to stderr\nlast\n' });
    assert.deepEqual(added, { 1: 10, 2: 15 });
  });

  it('completes a read cut inside a frame from the byte where it stopped', () => {
    const c = collector();
    const reader = new FrameReader(c.deliver);
    // The live read ended 3 bytes into the third frame's payload: its frame never completed.
    const cut = whole.indexOf('two') + 3;
    reader.push(whole.subarray(0, cut));
    assert.equal(reader.partial, true);
    assert.deepEqual(c.got, { 1: 'hello\n', 2: 'to stderr\n' });
    deliverRest(whole, reader.delivered, c.deliver);
    assert.deepEqual(c.got, { 1: 'hello\ntwo\nthree\n', 2: 'to stderr\nlast\n' });
  });

  it('adds nothing when the live read was whole, and everything when it read nothing', () => {
    const full = collector();
    const reader = new FrameReader(full.deliver);
    reader.push(whole);
    assert.deepEqual(deliverRest(whole, reader.delivered, full.deliver), { 1: 0, 2: 0 });
    assert.deepEqual(full.got, { 1: 'hello\ntwo\nthree\n', 2: 'to stderr\nlast\n' });
    const none = collector();
    assert.deepEqual(deliverRest(whole, { 1: 0, 2: 0 }, none.deliver), { 1: 16, 2: 15 });
    assert.deepEqual(none.got, full.got);
  });
});
