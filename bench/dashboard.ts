/**
 * The dashboard's first load and its bundle size.
 *
 *   npm run bench:dashboard -- [--jobs N] [--runs N] [--store embedded|postgres]
 *
 * Boots the service (the embedded store in a temporary folder by default; `--store postgres`
 * uses BENCH_POSTGRES_URL in a schema of its own), stores N jobs (default 100,000) straight
 * through the store, then opens the dashboard in Debian's Chromium (playwright-core), each
 * time in a new browser profile (nothing cached): the overview, and the jobs list. A load is
 * timed from the navigation until the page shows its data (the service state, the first row of
 * jobs). Prints the figures, median of the runs, and the size of each built file raw, gzip and
 * brotli. Needs a built dashboard (npm run build) and /usr/bin/chromium.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import pg from 'pg';
import { loadConfig, projectRoot } from '../src/config/config.js';
import { createLogger } from '../src/observability/log.js';
import { createService } from '../src/service/service.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const jobs = Number(arg('jobs', '100000'));
const runs = Number(arg('runs', '5'));
const store = arg('store', 'embedded');
const uiDir = path.join(projectRoot, 'dist', 'ui');

function bundleSizes() {
  const rows: Array<{ file: string; raw: number; gzip: number; brotli: number }> = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const raw = fs.readFileSync(p);
        rows.push({
          file: path.relative(uiDir, p),
          raw: raw.length,
          gzip: zlib.gzipSync(raw, { level: 6 }).length,
          // The quality the service compresses with (src/operations/static-assets.ts).
          brotli: zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }).length,
        });
      }
    }
  };
  walk(uiDir);
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (!fs.existsSync(path.join(uiDir, 'index.html'))) throw new Error(`no built dashboard in ${uiDir}: run npm run build`);
  const sizes = bundleSizes();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-service-bench-dashboard-'));
  const schema = `bench_dashboard_${process.pid}`;
  const pgUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const env: Record<string, string> =
    store === 'postgres' ? { DATABASE_URL: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}` } : { JOBS_DATA_DIR: path.join(dir, 'data') };
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', JOBS_DEFAULT_JOBS_DIR: path.join(dir, 'defaults'), ...env });
  fs.mkdirSync(path.join(dir, 'defaults'));
  const service = await createService(config, { log: createLogger('warn') });
  try {
    const port = await service.listen();
    const base = `http://127.0.0.1:${port}`;
    // One job made through the API, then copies of it stored in batches: a year away, so none fires.
    const res = await fetch(`${base}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handler: 'echo', job_id: 'bench-000000', kwargs: { message: 'hello' }, cron: '0 3 * * *', state: 'paused' }),
    });
    if (res.status !== 201) throw new Error(`creating the model job: ${res.status} ${await res.text()}`);
    const model = (await service.store.getJob('bench-000000'))!;
    const started = Date.now();
    for (let i = 1; i < jobs; i += 5000) {
      const batch = Array.from({ length: Math.min(5000, jobs - i) }, (_, k) => ({ ...model, job_id: `bench-${String(i + k).padStart(6, '0')}` }));
      await service.store.insertJobs(batch);
    }
    console.error(`stored ${jobs} jobs in ${Date.now() - started} ms`);

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const pages = [
      { name: 'overview', path: '/dashboard/', ready: '[data-testid="service-state"]:not(:text("…"))' },
      { name: 'jobs', path: '/dashboard/jobs', ready: 'table.jobs tbody tr' },
    ];
    const results: Record<string, { ms: number[]; domContentLoaded: number[]; transferred: number[] }> = {};
    try {
      for (const p of pages) {
        results[p.name] = { ms: [], domContentLoaded: [], transferred: [] };
        for (let r = 0; r < runs + 1; r++) {
          const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
          const page = await context.newPage();
          let transferred = 0;
          page.on('response', async (resp) => {
            const len = Number((await resp.allHeaders())['content-length'] ?? 0);
            transferred += len;
          });
          const t0 = performance.now();
          await page.goto(base + p.path, { waitUntil: 'commit' });
          await page.locator(p.ready).first().waitFor({ timeout: 60_000 });
          const ms = performance.now() - t0;
          const dcl = await page.evaluate(() => {
            const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
            return nav.domContentLoadedEventEnd - nav.startTime;
          });
          await context.close();
          // The first run warms the service (statement plans, compressed files), not the browser.
          if (r === 0) continue;
          results[p.name].ms.push(ms);
          results[p.name].domContentLoaded.push(dcl);
          results[p.name].transferred.push(transferred);
        }
      }
    } finally {
      await browser.close();
    }

    console.log(`dashboard first load, ${jobs} jobs stored (${store}), new browser profile each time, median of ${runs}:`);
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `  ${name.padEnd(9)} data shown ${Math.round(median(r.ms))} ms (min ${Math.round(Math.min(...r.ms))}, max ${Math.round(Math.max(...r.ms))}), DOMContentLoaded ${Math.round(median(r.domContentLoaded))} ms`,
      );
    }
    console.log('bundle (dist/ui):');
    for (const s of sizes) console.log(`  ${s.file.padEnd(34)} ${String(s.raw).padStart(8)} B raw ${String(s.gzip).padStart(7)} B gzip ${String(s.brotli).padStart(7)} B brotli`);
    const total = sizes.reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip, brotli: a.brotli + s.brotli }), { raw: 0, gzip: 0, brotli: 0 });
    console.log(`  ${'total'.padEnd(34)} ${String(total.raw).padStart(8)} B raw ${String(total.gzip).padStart(7)} B gzip ${String(total.brotli).padStart(7)} B brotli`);
  } finally {
    await service.close();
    if (store === 'postgres') {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
