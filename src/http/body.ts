import type Koa from 'koa';
import { Problem } from '../operations/problem.js';

function hasBody(ctx: Koa.Context): boolean {
  const len = ctx.get('content-length');
  return (len !== '' && len !== '0') || ctx.get('transfer-encoding') !== '';
}

/**
 * Reads a JSON request body: 413 past `limit` bytes, 415 for another media type, 400 for
 * JSON that does not parse. Returns undefined when there is no body.
 */
export async function readJsonBody(ctx: Koa.Context, limit: number): Promise<unknown> {
  if (!hasBody(ctx)) return undefined;
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new Problem(413, 'Body too large', `the request body has ${declared} bytes; the limit is ${limit}`);
  const type = (ctx.get('content-type') || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new Problem(415, 'Unsupported media type', `send the body as application/json, not '${type || 'no content type'}'`, undefined, { Accept: 'application/json' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Problem(413, 'Body too large', `the request body is over the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw Problem.invalid([{ field: 'body', reason: `is not valid JSON: ${(err as Error).message}` }], `the request body is not valid JSON: ${(err as Error).message}`);
  }
  const nul = findNul(value, 'body');
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
  if (nul) throw Problem.invalid([{ field: nul, reason: 'must not contain the NUL character (\\u0000)' }]);
  return value;
}

/** Where in a JSON value a string (or key) holds U+0000, if anywhere. */
function findNul(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? at : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${at}.${i}`);
      if (hit) return hit;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\0')) return `${at}.${k.replaceAll('\0', '\\u0000')}`;
      const hit = findNul(v, `${at}.${k}`);
      if (hit) return hit;
    }
  }
  return null;
}
