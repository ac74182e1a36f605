import { randomFillSync } from 'node:crypto';

/** Random bytes drawn ahead, 16 per id: one call into the random source per 256 ids. */
const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

/**
 * A new id for a row that is written often (runs, jobs without a `job_id`, audit records): a UUID of version 7
 * (RFC 9562), its first 48 bits the time in ms, the other 74 random. Ids made one after the
 * other sort nearly in time order, so a B-tree on them takes new ones at its right edge, where
 * random (version 4) ids land on any leaf: once an index outgrows the cache, each insert read
 * and dirtied a page of its own, and wrote it whole to the WAL after every checkpoint.
 */
export function timeOrderedId(now = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
