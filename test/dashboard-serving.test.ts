/**
 * How the service serves the built dashboard (dist/ui, made by npm run build): `/` redirects to
 * it, hashed assets are cached for good and the page is revalidated, both compressed, any page
 * path gets the app; and GET /service/caller, which tells the dashboard the viewer's role.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../src/client/index.js';
import { dashboardDir } from '../src/http/dashboard.js';
import { startService, testDatabase, type Running, type TestDatabase } from './helpers.js';

const api = '/api/v1';
/** A GET as sent on the wire: the body as the service wrote it, compressed or not (supertest and fetch would decode it). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('the dashboard as served (embedded)', () => {
  let db: TestDatabase;
  let svc: Running;
  let script: string;
  let port: number;

  before(async () => {
    assert.ok(fs.existsSync(path.join(dashboardDir, 'index.html')), `the dashboard is built in ${dashboardDir} (npm run build)`);
    script = fs.readdirSync(path.join(dashboardDir, 'assets')).find((f) => f.endsWith('.js'))!;
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1' });
    port = await svc.service.listen();
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('/ and /dashboard redirect to /dashboard/; Swagger UI stays at /api/v1/ui', async () => {
    assert.equal((await svc.http.get('/').expect(302)).headers.location, '/dashboard/');
    assert.equal((await svc.http.get('/dashboard').expect(302)).headers.location, '/dashboard/');
    const ui = await svc.http.get(`${api}/ui`).expect(200);
    assert.match(ui.text, /swagger-ui/);
  });

  it('the page: no-cache, its own origin only, naming its hashed script; revalidated by ETag', async () => {
    const res = await rawGet(port, '/dashboard/', { 'Accept-Encoding': 'br' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-cache');
    // Half a kilobyte: smaller than compressing is worth (static-assets.ts), so sent as it is.
    assert.equal(res.headers['content-encoding'], undefined);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(res.headers['content-security-policy']), /connect-src 'self'/);
    const html = res.body.toString();
    assert.equal(html, fs.readFileSync(path.join(dashboardDir, 'index.html'), 'utf8'));
    assert.ok(html.includes(`/dashboard/assets/${script}`), html);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from another host');
    // Revalidated by its ETag.
    assert.equal((await rawGet(port, '/dashboard/', { 'Accept-Encoding': 'br', 'If-None-Match': res.headers.etag! })).status, 304);
  });

  it('hashed assets: cached for a year and immutable, gzip or brotli as asked, identical once decoded', async () => {
    const raw = fs.readFileSync(path.join(dashboardDir, 'assets', script));
    const gz = await rawGet(port, `/dashboard/assets/${script}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.match(String(gz.headers['content-type']), /^application\/javascript/);
    const br = await rawGet(port, `/dashboard/assets/${script}`, { 'Accept-Encoding': 'br, gzip' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.deepEqual(zlib.brotliDecompressSync(br.body), raw);
    assert.ok(gz.body.length < raw.length / 2, `${gz.body.length} of ${raw.length} bytes`);
    assert.deepEqual(zlib.gunzipSync(gz.body), raw);
    const plain = await rawGet(port, `/dashboard/assets/${script}`, { 'Accept-Encoding': 'identity' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, raw);
  });

  it('a page path gets the app (routed in the browser); a missing asset is a 404 problem, not the page', async () => {
    const page = await svc.http.get('/dashboard/jobs/some-job').expect(200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.ok(page.text.includes(`/dashboard/assets/${script}`));
    const missing = await svc.http.get('/dashboard/assets/index-00000000.js').expect(404);
    assert.match(missing.headers['content-type'], /application\/problem\+json/);
    assert.match(missing.body.detail, /no file 'assets\/index-00000000.js'/);
    // A path out of the folder names no file of the build: it is a page of the app, never the file.
    const outside = await rawGet(port, '/dashboard/../package.json');
    assert.doesNotMatch(outside.body.toString(), /"name": "jobs-service"/);
  });

  it('GET /service/caller without tokens: anyone on loopback, as admin', async () => {
    const res = await svc.http.get(`${api}/service/caller`).expect(200);
    assert.deepEqual(res.body, { name: null, role: 'admin', tokens_checked: false });
  });
});

describe('GET /service/caller with tokens (embedded)', () => {
  const tokens = { viewer: randomBytes(24).toString('base64url'), ops: randomBytes(24).toString('base64url') };
  let db: TestDatabase;
  let svc: Running;
  let port: number;

  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_API_TOKENS: `viewer:${tokens.viewer}:read,ops:${tokens.ops}:write` });
    port = await svc.service.listen();
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
  });

  it("names the token and its role; without one, 401; the dashboard's files need none", async () => {
    const base = `http://127.0.0.1:${port}${api}`;
    assert.deepEqual(await createClient({ baseUrl: base, token: tokens.viewer }).service.caller(), { name: 'viewer', role: 'read', tokens_checked: true });
    assert.deepEqual(await createClient({ baseUrl: base, token: tokens.ops }).service.caller(), { name: 'ops', role: 'write', tokens_checked: true });
    const anonymous = await svc.http.get(`${api}/service/caller`).expect(401);
    assert.match(anonymous.headers['content-type'], /application\/problem\+json/);
    await svc.http.get(`${api}/service/caller`).set('Authorization', 'Bearer not-a-token-of-this-service').expect(401);
    await svc.http.get('/dashboard/').expect(200);
  });
});
