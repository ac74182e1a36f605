import type Koa from 'koa';
import { Problem } from '../operations/problem.js';

/** The status recorded (in metrics, the log and the audit) for a request whose client left before its body was read; nothing is sent. */
export const clientClosedRequest = 499;

const clientClosed = (size: number) => new Problem(clientClosedRequest, 'Client closed request', `the client closed the connection after ${size} bytes of the body`);

function hasBody(ctx: Koa.Context): boolean {
  const len = ctx.get('content-length');
  return (len !== '' && len !== '0') || ctx.get('transfer-encoding') !== '';
}

/**
 * Reads a JSON request body: 413 past `limit` bytes, 415 for another media type, 400 for
 * JSON that does not parse, that nests deeper than `maxDepth` objects and arrays, or whose
 * strings PostgreSQL cannot store. Returns undefined when there is no body.
 */
export async function readJsonBody(ctx: Koa.Context, limit: number, maxDepth: number): Promise<unknown> {
  if (!hasBody(ctx)) return undefined;
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new Problem(413, 'Body too large', `the request body has ${declared} bytes; the limit is ${limit}`);
  const type = (ctx.get('content-type') || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new Problem(415, 'Unsupported media type', `send the body as application/json, not '${type || 'no content type'}'`, undefined, { Accept: 'application/json' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new Problem(413, 'Body too large', `the request body is over the limit of ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof Problem || !ctx.req.destroyed) throw err;
    // The client went away mid-body: its doing, not the database's (ECONNRESET would read as an outage).
    throw clientClosed(size);
  }
  // A connection closed mid-body can also just end the stream early.
  if (!ctx.req.complete) throw clientClosed(size);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw Problem.invalid([{ field: 'body', reason: `is not valid JSON: ${(err as Error).message}` }], `the request body is not valid JSON: ${(err as Error).message}`);
  }
  const bad = badValue(value, maxDepth);
  if (bad) throw Problem.invalid([bad]);
  return value;
}

/**
 * The first place in a parsed body the service refuses, if any: nesting deeper than
 * `maxDepth`, or a string or key PostgreSQL cannot store (U+0000, or a lone UTF-16
 * surrogate, which JSON's \u escapes can make). A walk with its own stack, not recursion: a
 * body nested thousands deep must cost a 400, not the call stack.
 */
function badValue(root: unknown, maxDepth: number): { field: string; reason: string } | null {
  const stack: Array<{ value: unknown; at: string; depth: number }> = [{ value: root, at: 'body', depth: 0 }];
  while (stack.length > 0) {
    const { value, at, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const reason = badString(value);
      if (reason) return { field: at, reason };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) return { field: at, reason: `nests objects and arrays deeper than ${maxDepth} levels (JOBS_BODY_MAX_DEPTH)` };
    const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, v] = entries[i];
      const reason = badString(key);
      if (reason) return { field: `${at}.${printable(key)}`, reason };
      stack.push({ value: v, at: `${at}.${key}`, depth: depth + 1 });
    }
  }
  return null;
}

/** A high surrogate without a low one after it, or a low one without a high one before it (code units: no `u` flag). */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function badString(text: string): string | null {
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
  if (text.includes('\0')) return 'must not contain the NUL character (\\u0000)';
  loneSurrogate.lastIndex = 0;
  if (loneSurrogate.test(text)) return 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  return null;
}

/** A key as a field name can show it: NUL and lone surrogates written as escapes. */
function printable(key: string): string {
  return key.replaceAll('\0', '\\u0000').replace(loneSurrogate, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
