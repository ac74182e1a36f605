/**
 * What the container engine adds to a run: create + start + wait + remove of a container that
 * exits at once, timed phase by phase through the Docker Engine API, 10 times; then the same
 * image run 10 times, one after the other, through the service (a `container` job), beside 10
 * runs of `echo`, so the difference is the engine's share of a run as the service records it.
 *
 *   npm run bench:container [-- --runs N]
 *
 * The engine: JOBS_CONTAINER_ENGINE when set (its image: BENCH_CONTAINER_IMAGE, default
 * busybox:1.36), else TEST_CONTAINER_ENGINE (.ci/run's), else a Podman service the bench starts
 * like the tests do (test/support/podman.ts) with its busybox image. The service runs on a
 * fresh embedded store.
 */
import Docker from 'dockerode';
import { engineOptions } from '../handlers/_container-engine.js';
import { startService, testDatabase, waitFor } from '../test/helpers.js';
import { startTestEngine, TEST_IMAGE } from '../test/support/podman.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (n: number) => n.toFixed(1).padStart(8);

async function engineAndImage(): Promise<{ address: string; image: string; stop(): Promise<void> }> {
  if (process.env.JOBS_CONTAINER_ENGINE)
    return { address: process.env.JOBS_CONTAINER_ENGINE, image: process.env.BENCH_CONTAINER_IMAGE ?? 'busybox:1.36', stop: async () => undefined };
  const started = await startTestEngine();
  if ('skip' in started) throw new Error(`no container engine: ${started.skip}`);
  return { address: started.address, image: TEST_IMAGE, stop: () => started.stop() };
}

async function rawEngine(docker: Docker, image: string) {
  const rows: Array<{ create: number; start: number; wait: number; remove: number; total: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const c = await docker.createContainer({ Image: image, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    const t1 = performance.now();
    await c.start();
    const t2 = performance.now();
    await c.wait();
    const t3 = performance.now();
    await c.remove({ force: true });
    const t4 = performance.now();
    rows.push({ create: t1 - t0, start: t2 - t1, wait: t3 - t2, remove: t4 - t3, total: t4 - t0 });
  }
  return rows;
}

async function main() {
  const engine = await engineAndImage();
  const options = engineOptions(engine.address);
  if ('reason' in options) throw new Error(options.reason);
  const docker = new Docker(options);
  const version = (await docker.version()) as { Version?: string; Components?: Array<{ Name: string; Version: string }> };
  console.log(`engine: ${version.Components?.[0]?.Name ?? 'Docker'} ${version.Version ?? ''} at ${engine.address}; image ${engine.image}; ${RUNS} runs`);
  try {
    const raw = await rawEngine(docker, engine.image);
    console.log('\ncreate + start + wait + remove through the Docker Engine API (ms):');
    console.log('   run   create    start     wait   remove    total');
    raw.forEach((r, i) => console.log(`${String(i + 1).padStart(6)} ${ms(r.create)} ${ms(r.start)} ${ms(r.wait)} ${ms(r.remove)} ${ms(r.total)}`));
    const col = (k: keyof (typeof raw)[number]) => raw.map((r) => r[k]);
    console.log(`median ${ms(median(col('create')))} ${ms(median(col('start')))} ${ms(median(col('wait')))} ${ms(median(col('remove')))} ${ms(median(col('total')))}`);
    console.log(`  mean ${ms(mean(col('create')))} ${ms(mean(col('start')))} ${ms(mean(col('wait')))} ${ms(mean(col('remove')))} ${ms(mean(col('total')))}`);

    // Through the service: the run's duration_ms as recorded, container against echo.
    process.env.JOBS_CONTAINER_ENGINE = engine.address;
    const db = await testDatabase('embedded');
    const svc = await startService(db, { JOBS_CONTAINER_ENGINE: engine.address });
    try {
      const api = '/api/v1';
      await svc.http
        .post(`${api}/jobs`)
        .send({ handler: 'container', job_id: 'c', state: 'paused', kwargs: { image: engine.image, command: ['true'] } })
        .expect(201);
      await svc.http.post(`${api}/jobs`).send({ handler: 'echo', job_id: 'e', state: 'paused', kwargs: {} }).expect(201);
      await waitFor('the image', async () => (await svc.http.get(`${api}/jobs/c`).expect(200)).body.image_status === 'ready', 120_000);
      const durations = async (jobId: string) => {
        const out: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const id = (await svc.http.post(`${api}/jobs/${jobId}/executions`).send({}).expect(202)).body.execution_ids[0];
          const run = await waitFor(
            `run ${id}`,
            async () => {
              const r = (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
              return ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'].includes(r.status) ? r : undefined;
            },
            120_000,
            10,
          );
          if (run.status !== 'succeeded') throw new Error(`run ${id} of ${jobId} ended ${run.status}: ${run.error}`);
          out.push(run.duration_ms);
        }
        return out;
      };
      const container = await durations('c');
      const echo = await durations('e');
      console.log('\nruns through the service, one at a time: duration_ms as recorded');
      console.log(`  container: ${container.join(', ')}`);
      console.log(`  echo:      ${echo.join(', ')}`);
      console.log(`  median container ${median(container)} ms, echo ${median(echo)} ms: the engine adds ${(median(container) - median(echo)).toFixed(1)} ms per run`);
    } finally {
      await svc.close();
      await db.drop();
    }
  } finally {
    await engine.stop();
  }
}

await main();
