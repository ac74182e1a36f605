import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { OperationResult } from './types.js';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

type Encoding = 'br' | 'gzip' | 'identity';

/** Smaller than this, compressing saves less than its headers cost. */
const minCompressBytes = 1024;

/**
 * Content types worth compressing; images are compressed already.
 */
const compressible = /^(text\/|application\/(javascript|json))/;

/**
 * The encoding to send for an Accept-Encoding header: brotli before gzip, `q=0` refuses one.
 */
export function chooseEncoding(acceptEncoding: string | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    accepted.set(name, q ? Number(q[1]) : 1);
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return 'identity';
}

/** One file as sent: its bytes in each encoding asked for so far, compressed once and kept. */
class Asset {
  private readonly variants = new Map<Encoding, Promise<Buffer>>();
  readonly tag: string;

  constructor(
    private readonly raw: Buffer,
    readonly type: string,
  ) {
    this.variants.set('identity', Promise.resolve(raw));
    this.tag = createHash('sha256').update(raw).digest('base64url').slice(0, 27);
  }

  encodings(): boolean {
    return this.raw.length >= minCompressBytes && compressible.test(this.type);
  }

  bytes(encoding: Encoding): Promise<Buffer> {
    let v = this.variants.get(encoding);
    if (!v) {
      // Brotli quality 5 compresses the 1.7 MB Swagger UI bundle in tens of milliseconds to
      // about the size of quality 11, which takes seconds.
      v = encoding === 'br' ? brotli(this.raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }) : gzip(this.raw, { level: 6 });
      this.variants.set(encoding, v);
    }
    return v;
  }
}

/** Does If-None-Match name this entity tag (or `*`)? Weak tags compare as strong ones here. */
function matches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/**
 * Static files served from memory: read once (by `load`), compressed with brotli or gzip as the
 * request's Accept-Encoding allows (each encoding once, at its first request), sent with an
 * ETag per encoding and Cache-Control; a matching If-None-Match answers 304 without a body.
 */
export class StaticAssets {
  private readonly assets = new Map<string, Promise<Asset>>();

  constructor(private readonly cacheControl: string) {}

  async send(
    key: string,
    load: () => Promise<Buffer> | Buffer,
    type: string,
    headers: Record<string, string | string[] | undefined>,
    cacheControl = this.cacheControl,
  ): Promise<OperationResult> {
    let pending = this.assets.get(key);
    if (!pending) {
      pending = Promise.resolve()
        .then(load)
        .then((raw) => new Asset(raw, type));
      this.assets.set(key, pending);
      pending.catch(() => this.assets.delete(key));
    }
    const asset = await pending;
    const encoding = asset.encodings() ? chooseEncoding(headers['accept-encoding'] as string | undefined) : 'identity';
    const etag = `"${asset.tag}${encoding === 'identity' ? '' : `-${encoding}`}"`;
    const common: Record<string, string> = { ETag: etag, 'Cache-Control': cacheControl };
    if (asset.encodings()) common.Vary = 'Accept-Encoding';
    if (matches(headers['if-none-match'], etag)) return { status: 304, headers: common };
    const body = await asset.bytes(encoding);
    return {
      status: 200,
      body,
      type,
      headers: encoding === 'identity' ? common : { ...common, 'Content-Encoding': encoding },
    };
  }
}
