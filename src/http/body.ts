import type Koa from 'koa';
import { Problem } from '../problem.js';

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
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Problem.invalid([{ field: 'body', reason: `is not valid JSON: ${(err as Error).message}` }], `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
