import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import { chooseEncoding } from '../src/operations/static-assets.js';
import { startService, testDatabase, type Running, type TestDatabase } from './helpers.js';

// The document as Swagger UI shows it, and how the UI's files are sent.

const api = '/api/v1';
const { doc } = loadOpenApi();
const uiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/absolute-path.js'));

/** Every `description` string anywhere in the document, with where it is. */
function descriptions(node: unknown, at = '', out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(node)) node.forEach((v, i) => descriptions(v, `${at}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'description' && typeof v === 'string') out.push([at, v]);
      else descriptions(v, `${at}/${k}`, out);
    }
  }
  return out;
}

describe('the document in Swagger UI', () => {
  it('every operation has a description that ends with the role it requires', () => {
    for (const { op, path: p } of operationsOf(doc)) {
      const text = (op.description as string | undefined) ?? '';
      const last = text.trim().split('\n\n').at(-1) ?? '';
      if (Array.isArray(op.security) && op.security.length === 0) assert.match(last, /^Open to anyone/, `${op.operationId} (${p})`);
      else assert.equal(last, `Requires the \`${op['x-role'] as string}\` role (or a higher one) when API tokens are configured.`, `${op.operationId}`);
      assert.ok(text.trim().split('\n\n').length >= 2, `${op.operationId} says more than its role`);
    }
  });

  it('no description starts a line with a number and a dot (Markdown would make it a numbered list)', () => {
    const all = descriptions(doc);
    assert.ok(all.length > 50);
    for (const [at, text] of all) assert.doesNotMatch(text, /^\s*\d+\.(\s|$)/m, at);
  });

  it('concurrency_policy is described, as a parameter and as a schema', () => {
    const params = (doc.components as { parameters: Record<string, { name: string; description?: string }> }).parameters;
    const param = Object.values(params).find((p) => p.name === 'concurrency_policy');
    assert.match(param?.description ?? '', /forbid/);
    const schemas = (doc.components as { schemas: Record<string, { description?: string }> }).schemas;
    assert.match(schemas.ConcurrencyPolicy.description ?? '', /missed/);
  });

  it('every problem answer has a real example whose status is the answer code', () => {
    const responses = (doc.components as { responses: Record<string, { content?: Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }> }> })
      .responses;
    let checked = 0;
    for (const { op } of operationsOf(doc)) {
      for (const [code, r] of Object.entries(op.responses as Record<string, { $ref?: string }>)) {
        const name = r.$ref?.split('/').at(-1);
        const media = name ? responses[name].content?.['application/problem+json'] : undefined;
        if (!media) continue;
        const examples = media.examples ? Object.values(media.examples).map((e) => e.value) : [media.example];
        assert.ok(examples.length > 0 && examples.every(Boolean), `${op.operationId} ${code}: ${name} has an example`);
        for (const e of examples as Array<{ status: number; title: string; detail: string }>) {
          assert.equal(e.status, Number(code), `${op.operationId} ${code}: ${name}`);
          assert.ok(e.title && e.detail, `${op.operationId} ${code}: ${name} has a title and a detail`);
        }
        checked++;
      }
    }
    assert.ok(checked > 60, `${checked} problem answers checked`);
  });

  it('http-request names its request timeout request_timeout; timeout is its deprecated alias', () => {
    const props = (doc.components as { schemas: Record<string, { properties: Record<string, { deprecated?: boolean; default?: unknown }> }> }).schemas.HttpRequestKwargs.properties;
    assert.equal(props.request_timeout.default, 30);
    assert.equal(props.timeout.deprecated, true);
  });

  it('chooses brotli, then gzip, and honours q=0', () => {
    assert.equal(chooseEncoding('gzip, deflate, br'), 'br');
    assert.equal(chooseEncoding('gzip'), 'gzip');
    assert.equal(chooseEncoding('br;q=0, gzip;q=0.5'), 'gzip');
    assert.equal(chooseEncoding('*'), 'br');
    assert.equal(chooseEncoding(undefined), 'identity');
    assert.equal(chooseEncoding('identity'), 'identity');
  });
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET whose body comes back as sent, not decompressed. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('the document and Swagger UI, served', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let svc: Running;
  let base: string;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1' });
    base = `http://127.0.0.1:${await svc.service.listen()}${api}`;
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('serves the document at /swagger.json too, where the Python service had it, to anyone', async () => {
    const swagger = await svc.http
      .get(`${api}/swagger.json`)
      .expect(200)
      .expect('content-type', /application\/json/);
    const openapi = await svc.http.get(`${api}/openapi.json`).expect(200);
    assert.deepEqual(swagger.body, openapi.body);
    assert.ok(swagger.body.paths['/swagger.json'].get);
  });

  it('sends the Swagger UI bundle compressed as Accept-Encoding allows, with ETag and Cache-Control; 304 on a match', async () => {
    const original = fs.readFileSync(path.join(uiDir, 'swagger-ui-bundle.js'));
    const br = await rawGet(`${base}/ui/swagger-ui-bundle.js`, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.match(br.headers['content-type'] ?? '', /javascript/);
    assert.match(br.headers['cache-control'] ?? '', /max-age=\d+/);
    assert.ok(br.body.length < original.length / 3, `${br.body.length} bytes compressed of ${original.length}`);
    assert.ok(zlib.brotliDecompressSync(br.body).equals(original));

    const gz = await rawGet(`${base}/ui/swagger-ui-bundle.js`, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(gz.body).equals(original));

    const plain = await rawGet(`${base}/ui/swagger-ui-bundle.js`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.equals(original));

    const tags = new Set([br.headers.etag, gz.headers.etag, plain.headers.etag]);
    assert.equal(tags.size, 3, 'one entity tag per encoding');
    const again = await rawGet(`${base}/ui/swagger-ui-bundle.js`, { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, br.headers.etag);
    const stale = await rawGet(`${base}/ui/swagger-ui-bundle.js`, { 'Accept-Encoding': 'br', 'If-None-Match': '"something-else"' });
    assert.equal(stale.status, 200);
  });

  it('sends the page and its initializer with an ETag, revalidated at every load', async () => {
    for (const url of [`${base}/ui`, `${base}/ui/swagger-initializer.js`]) {
      const first = await rawGet(url, { 'Accept-Encoding': 'gzip' });
      assert.equal(first.status, 200, url);
      assert.equal(first.headers['cache-control'], 'no-cache', url);
      assert.ok(first.headers.etag, url);
      assert.equal((await rawGet(url, { 'Accept-Encoding': 'gzip', 'If-None-Match': first.headers.etag! })).status, 304, url);
    }
    // Images are compressed already: sent as they are.
    const png = await rawGet(`${base}/ui/favicon-32x32.png`, { 'Accept-Encoding': 'br' });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.ok(png.body.equals(fs.readFileSync(path.join(uiDir, 'favicon-32x32.png'))));
  });
});
