/**
 * How long a change takes to reach a live stream: a job paused and resumed `n` times through
 * the API, each measured from the PUT's start to its event on GET /events, beside the PUT's
 * own round trip. Not part of `npm run bench`:
 *
 *   npx tsx bench/sse-latency.ts [n]            embedded PGlite in a temporary folder
 *   DATABASE_URL=postgres://... npx tsx bench/sse-latency.ts [n]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Event } from '../src/client/index.js';
import { loadConfig } from '../src/config/config.js';
import { createService } from '../src/service/service.js';

const n = Number(process.argv[2] ?? 200);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-sse-bench-'));
const defaults = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-sse-bench-defaults-'));
const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  JOBS_DEFAULT_JOBS_DIR: defaults,
  ...(process.env.DATABASE_URL ? {} : { JOBS_DATA_DIR: dir }),
});
const service = await createService(config);
const port = await service.listen();
const client = createClient({ baseUrl: `http://127.0.0.1:${port}/api/v1` });
const jobId = `sse-bench-${process.pid}`;
await client.jobs.create({ handler: 'echo', job_id: jobId, periodically: '1 hour', kwargs: { message: 'x' } });

const waiting = new Map<string, (e: Event) => void>();
const ac = new AbortController();
const reading = (async () => {
  for await (const e of client.events({ job_id: jobId, types: ['job.paused', 'job.resumed'] }, { signal: ac.signal })) waiting.get(e.type)?.(e);
})();
await new Promise((r) => setTimeout(r, 500));

const toEvent: number[] = [];
const toAnswer: number[] = [];
for (let i = 0; i < n; i++) {
  const type = i % 2 === 0 ? 'job.paused' : 'job.resumed';
  const t0 = performance.now();
  const got = new Promise<number>((resolve) => waiting.set(type, () => resolve(performance.now())));
  await (i % 2 === 0 ? client.jobs.pause(jobId) : client.jobs.resume(jobId));
  toAnswer.push(performance.now() - t0);
  toEvent.push((await got) - t0);
}
ac.abort();
await reading;
await client.jobs.delete(jobId);
const q = (ms: number[], p: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(1);
const line = (ms: number[]) => `p50 ${q(ms, 0.5)} ms, p95 ${q(ms, 0.95)} ms, max ${q(ms, 1)} ms`;
console.log(`store ${config.storeKind}, ${n} changes from the PUT's start: to its answer ${line(toAnswer)}; to its event ${line(toEvent)}`);
await service.close();
await fs.rm(dir, { recursive: true, force: true });
await fs.rm(defaults, { recursive: true, force: true });
