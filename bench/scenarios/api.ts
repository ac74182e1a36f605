import os from 'node:os';
import fs from 'node:fs/promises';
/**
 * api: jobs-service's HTTP API with M jobs stored (one-shot, due in a year), 16 connections
 * from autocannon in a process of its own: GET one job (a random stored id each request),
 * list 50 (from a random point: cursors collected beforehand over the whole table), create
 * one (POST /jobs, a generated id each). Each figure: median of the runs after a warm-up.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { distBenchDir, projectRoot } from '../lib/paths.js';
import type { Child } from '../lib/proc.js';
import { emit, progress, row, skipped, withTarget } from '../lib/report.js';
import type { Context } from './context.js';
import { acquire, repetitions, scaled } from './context.js';

const run = promisify(execFile);

/**
 * Jobs per request of the bulk create case. --quick: 100, since a one-second run at 16
 * connections would otherwise often end before any 1,000-job request has been answered.
 */
const bulkSizeOf = (quick: boolean) => (quick ? 100 : 1000);

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  total: number;
}

/** Runs the specs one after the other in one autocannon process. */
async function load(specs: Array<Record<string, unknown>>): Promise<LoadResult[]> {
  // The specs (with 100,000 job ids and cursors) go through a file: argv has a size limit.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-bench-load-'));
  const file = path.join(dir, 'specs.json');
  await fs.writeFile(file, JSON.stringify(specs));
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [path.join(distBenchDir, 'load.js'), `@${file}`], { cwd: projectRoot, maxBuffer: 64 << 20 }));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LoadResult);
}

/** Runs `work` with the service's CPU profile and statement counts taken: FILE.cpuprofile and sql-FILE.json in `dir`. */
async function profiled<T>(dir: string, name: string, server: Child, work: () => Promise<T>): Promise<T> {
  await fs.mkdir(dir, { recursive: true });
  await server.rpc('sqlStats', { reset: true });
  await server.rpc('profile', { action: 'start' });
  const result = await work();
  progress(`  cpu profile: ${await server.rpc<string>('profile', { action: 'stop', file: path.resolve(dir, `${name}.cpuprofile`) })}`);
  const stats = await server.rpc<Array<{ text: string; calls: number; ms: number; avg_ms: number }>>('sqlStats', { reset: true });
  const file = path.resolve(dir, `sql-${name}.json`);
  await fs.writeFile(file, JSON.stringify(stats, null, 2));
  progress(`  ${stats.reduce((a, s) => a + s.calls, 0)} statements; top by client time in ${file}:`);
  for (const s of stats.slice(0, 8)) progress(`    ${String(s.calls).padStart(6)} x ${String(s.avg_ms).padStart(6)} ms  ${s.text.slice(0, 140)}`);
  return result;
}

export async function api(ctx: Context) {
  const scenario = 'api';
  const stored = ctx.quick ? 200 : scaled(100_000);
  const duration = ctx.quick ? 1 : 10;
  const bulkSize = bulkSizeOf(ctx.quick);
  const { warmup, runs } = repetitions(ctx);
  for (const system of ctx.systems) {
    const supported = system.supports(ctx.store, scenario);
    if (supported !== true) {
      emit(skipped({ scenario, system: system.name, store: ctx.store, metric: 'get_rps', unit: 'req/s' }, supported));
      continue;
    }
    // --profile: a CPU profile and the SQL statements of the service over the last run of each case.
    const profiling = system.name === 'jobs-service' && ctx.profileDir !== undefined;
    const lease = await acquire(ctx, system, { processes: 1, processing: true, concurrency: 20, profile: profiling });
    const d = lease.d;
    try {
      const due = Date.now() + 365 * 86400_000;
      const seedMs = await d.seed({ n: stored, handler: 'noop', prefix: 'api-', dueAt: due });
      progress(`api ${system.name} on ${ctx.store}: ${stored} jobs seeded in ${Math.round(seedMs)} ms`);
      const server = d.children.find((c) => c.exitCode === undefined)!;
      const url = `http://127.0.0.1:${(await server.ready).port as number}`;
      // Cursors spread over the whole table, collected through the API itself.
      const cursors: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await fetch(`${url}/api/v1/jobs?job_type=user&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        const page = (await res.json()) as { next_cursor?: string | null };
        cursor = page.next_cursor ?? null;
        if (cursor) cursors.push(cursor);
      } while (cursor);
      const ids = Array.from({ length: Math.min(stored, 5000) }, () => `/api/v1/jobs/api-${Math.floor(Math.random() * stored)}`);
      const lists = ['/api/v1/jobs?job_type=user&limit=50', ...cursors.map((c) => `/api/v1/jobs?job_type=user&limit=50&cursor=${encodeURIComponent(c)}`)];
      const one = { handler: 'noop', kwargs: {}, when: new Date(due).toISOString() };
      const create = JSON.stringify(one);
      // POST /jobs/bulk, jobs with generated ids: each request creates bulkSize jobs.
      const bulk = JSON.stringify({ jobs: Array.from({ length: bulkSize }, () => one) });
      const all_cases = [
        { name: 'get', method: 'GET', paths: ids, targets: { rps: '>= 3000', p99: '<= 10' } },
        { name: 'list', method: 'GET', paths: lists, targets: { rps: '>= 1500' } },
        { name: 'create', method: 'POST', paths: ['/api/v1/jobs'], body: create, targets: { rps: '>= 2000' } },
        { name: 'bulk_create', method: 'POST', paths: ['/api/v1/jobs/bulk'], body: bulk, targets: {} },
      ] as const;
      // The floor has no bulk route.
      // BENCH_API_CASES=get,create: only those cases (to compare one path between builds).
      const only = process.env.BENCH_API_CASES?.split(',').filter(Boolean);
      const cases = all_cases.filter((c) => (c.name !== 'bulk_create' || system.name === 'jobs-service') && (!only?.length || only.includes(c.name)));
      const specOf = (c: (typeof cases)[number]) => ({ url, connections: 16, duration, method: c.method, paths: c.paths, ...('body' in c ? { body: c.body } : {}) });
      for (const c of cases) {
        const specs = Array.from({ length: warmup + runs }, () => specOf(c));
        let all: LoadResult[];
        if (profiling) {
          all = await load(specs.slice(1));
          all.push(...(await profiled(ctx.profileDir!, `api-${c.name}`, server, () => load(specs.slice(0, 1)))));
        } else all = await load(specs);
        if (all.length !== specs.length) throw new Error(`the load generator returned ${all.length} results for ${specs.length} runs`);
        const results: LoadResult[] = [];
        for (let r = 0; r < warmup + runs; r++) {
          const res = all[r];
          progress(
            `  ${c.name} run ${r}${r < warmup ? ' (warm-up)' : ''}: ${res.total} requests, ${Math.round(res.rps)} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}, errors ${res.errors}`,
          );
          if (r >= warmup) results.push(res.total > 0 ? res : { ...res, rps: NaN, p50: NaN, p99: NaN });
        }
        // A run that answered no request within its time has no rate or latency (not 0): the row says so.
        const empty = results.filter((x) => x.total === 0).length;
        const base = {
          scenario,
          system: system.name,
          store: ctx.store,
          n: stored,
          ...(empty ? { note: `${empty} of ${results.length} runs completed no request in ${duration} s` } : {}),
        };
        const rps = row(
          { ...base, metric: `${c.name}_rps`, unit: 'req/s' },
          results.map((x) => x.rps),
        );
        const p99 = row(
          { ...base, metric: `${c.name}_p99`, unit: 'ms' },
          results.map((x) => x.p99),
          1,
        );
        // The targets are jobs-service's; the floor's rows stand beside them.
        const target = (r: ReturnType<typeof row>, t: string | undefined) => (t && system.name === 'jobs-service' ? withTarget(r, t) : r);
        if (c.name === 'bulk_create') {
          emit(
            target(
              row(
                { ...base, metric: 'bulk_create_jobs_per_second', unit: 'jobs/s', note: [`POST /jobs/bulk, ${bulkSize} jobs per request`, base.note].filter(Boolean).join('; ') },
                results.map((x) => x.rps * bulkSize),
              ),
              '>= 20000',
            ),
          );
        }
        emit(target(rps, 'rps' in c.targets ? c.targets.rps : undefined));
        emit(target(p99, 'p99' in c.targets ? c.targets.p99 : undefined));
        emit(target(row({ ...base, metric: `${c.name}_failed_requests`, unit: 'requests' }, [Math.max(...results.map((x) => x.non2xx + x.errors + x.timeouts))]), '== 0'));
      }
      // The floor writes its rows with one INSERT: no seeding rate to speak of.
      if (system.name !== 'bare-http')
        emit(row({ scenario, system: system.name, store: ctx.store, n: stored, metric: 'seed_jobs_per_second', unit: 'jobs/s' }, [stored / (seedMs / 1000)]));
    } finally {
      await lease.release();
    }
  }
}
