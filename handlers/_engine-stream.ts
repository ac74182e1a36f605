/**
 * The output of a container without a TTY as the Docker Engine API sends it (attach, logs):
 * frames of an 8-byte header (stream type 1 stdout or 2 stderr, three zero bytes, the
 * payload's length as a big-endian uint32) and the payload.
 */

export type EngineStream = 1 | 2;

/**
 * Splits frames as they come and counts, per stream, the bytes handed on. A header that is not
 * a frame's (an engine that wrote an error of its own into the stream, as Podman's service does
 * when it loses a container's output) stops it: `broken`, and nothing after is handed on.
 */
export class FrameReader {
  readonly delivered: Record<EngineStream, number> = { 1: 0, 2: 0 };
  broken = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly deliver: (stream: EngineStream, bytes: Buffer) => void) {}

  push(chunk: Buffer) {
    if (this.broken) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      if ((type !== 1 && type !== 2) || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        this.broken = true;
        this.pending = Buffer.alloc(0);
        return;
      }
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + length) return;
      const payload = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      this.delivered[type] += length;
      this.deliver(type, payload);
    }
  }

  /** Whether a frame was cut off at the end of the stream. */
  get partial(): boolean {
    return this.pending.length > 0;
  }
}

/**
 * Hands on the bytes of `whole` (every frame of a stopped container's log) that come after
 * the `delivered` bytes of each stream, so output read live and cut short is completed without
 * a byte twice. Returns the bytes handed on, per stream.
 */
export function deliverRest(whole: Buffer, delivered: Record<EngineStream, number>, deliver: (stream: EngineStream, bytes: Buffer) => void): Record<EngineStream, number> {
  const seen: Record<EngineStream, number> = { 1: 0, 2: 0 };
  const added: Record<EngineStream, number> = { 1: 0, 2: 0 };
  new FrameReader((stream, bytes) => {
    const skip = Math.max(0, delivered[stream] - seen[stream]);
    seen[stream] += bytes.length;
    if (skip >= bytes.length) return;
    added[stream] += bytes.length - skip;
    deliver(stream, bytes.subarray(skip));
  }).push(whole);
  return added;
}
