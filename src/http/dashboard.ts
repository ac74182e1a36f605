import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type Koa from 'koa';
import { projectRoot } from '../config/config.js';
import { Problem } from '../operations/problem.js';
import { StaticAssets } from '../operations/static-assets.js';

/** Where the dashboard is served; `/` redirects here. */
export const dashboardPath = '/dashboard';

/** The dashboard's built files (`ui/`, built by `npm run build:ui` into this folder). */
export const dashboardDir = path.join(projectRoot, 'dist', 'ui');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

// Vite names every file under assets/ by a hash of its content: a new build is a new name, so
// those are kept for a year; the page itself is revalidated at every load (by its ETag).
const hashedAssets = 'public, max-age=31536000, immutable';
const page = 'no-cache';
// The page loads only its own files and talks only to this service.
const contentSecurityPolicy =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/** Every file of the build, relative to its folder with forward slashes; read once. */
function listFiles(dir: string): Set<string> {
  const files = new Set<string>();
  if (!fs.existsSync(dir)) return files;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files.add(path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }
  return files;
}

/**
 * The dashboard: a single-page app from local files, compressed and cached as StaticAssets
 * does. A path that names no file is one of the app's own pages and gets index.html, which
 * routes in the browser. It is public like any static page: every call it makes to the API
 * carries the viewer's token and is checked there.
 */
export function addDashboardRoutes(router: Router, dir = dashboardDir) {
  const files = listFiles(dir);
  const assets = new StaticAssets(page);
  const send = async (ctx: Koa.Context, file: string, cacheControl: string) => {
    const result = await assets.send(file, () => fs.promises.readFile(path.join(dir, file)), types[path.extname(file)] ?? 'application/octet-stream', ctx.headers, cacheControl);
    ctx.status = result.status;
    for (const [k, v] of Object.entries(result.headers ?? {})) ctx.set(k, v);
    ctx.set('Content-Security-Policy', contentSecurityPolicy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (result.type) ctx.type = result.type;
    if (result.body !== undefined) ctx.body = result.body;
  };
  router.get('/', (ctx) => ctx.redirect(`${dashboardPath}/`));
  router.get(`${dashboardPath}{/*file}`, async (ctx) => {
    if (ctx.path === dashboardPath) return ctx.redirect(`${dashboardPath}/`);
    if (!files.has('index.html')) {
      throw new Problem(404, 'Not found', `the dashboard is not built (no ${path.join(dir, 'index.html')}); run npm run build`);
    }
    const file = (ctx.params as { file?: string }).file ?? '';
    if (files.has(file) && file !== 'index.html') return send(ctx, file, file.startsWith('assets/') ? hashedAssets : page);
    // A missing asset is a 404, not the page: a stale tab asking for an old bundle learns so.
    if (file.startsWith('assets/')) throw new Problem(404, 'Not found', `no file '${file}' in the dashboard`);
    return send(ctx, 'index.html', page);
  });
}
