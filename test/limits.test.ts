import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { limitDefaults, loadConfig, projectRoot } from '../src/config/config.js';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import { planFire } from '../src/scheduling/run/plan.js';
import { blankExecution } from '../src/scheduling/runner.js';
import type { JobRecord } from '../src/store/types.js';
import { pathToFileURL } from 'node:url';
import { noticeSkippedStores, scaled, startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';

interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: Array<{ field: string; reason: string }>;
}

/** A problem answer with `status`, naming `field` (when given) with a reason that matches `reason`. */
function assertProblem(res: { status: number; headers: Record<string, string>; body: Problem }, status: number, field: string | null, reason: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 500));
  assert.match(res.headers['content-type'], /^application\/problem\+json/);
  if (field === null) {
    assert.match(res.body.detail, reason);
    return;
  }
  const e = res.body.errors?.find((x) => x.field === field);
  assert.ok(e, `expected a field error on ${field}, got ${JSON.stringify(res.body.errors)}`);
  assert.match(e.reason, reason);
}

/** A flow of flows `levels` deep, two children each, echo runs at the bottom. */
function nestedFlow(levels: number): Record<string, unknown> {
  if (levels === 1) return { flow_name: 'echo', flow_arguments: [{ n: 1 }, { n: 2 }] };
  return { flow_name: 'flow-scheduling', flow_arguments: [nestedFlow(levels - 1), nestedFlow(levels - 1)] };
}

describe('the limits are settings with documented defaults', () => {
  it('has the defaults the README and docs/security.md give', () => {
    const c = loadConfig({});
    assert.deepEqual(c.limits, {
      maxKwargsBytes: 65536,
      maxKwargsDepth: 32,
      maxFlowDepth: 3,
      maxFlowRuns: 10000,
      maxQueuedRunsPerJob: 1000,
      maxQueuedRuns: 10000,
      minIntervalSeconds: 1,
      maxRetries: 100,
      maxRetryBackoffSeconds: 86400,
      pageMaxBytes: 1048576,
      ledgerMaxFires: 1000,
      ledgerMaxRangeSeconds: 2678400,
    });
    assert.deepEqual(c.http, { maxConnections: 1000, headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 5000 });
    assert.deepEqual(c.sse, { maxClients: 100, bufferBytes: 1048576, heartbeatMs: 15000, pollIntervalMs: 1000, retentionMs: 3600000 });
    assert.deepEqual(c.audit, { retentionDays: 90, deniedWindowSeconds: 60, pathMaxLength: 1000, trustedProxies: [] });
    assert.throws(() => loadConfig({ JOBS_MAX_RETRIES: '101' }), /JOBS_MAX_RETRIES/);
    assert.throws(() => loadConfig({ JOBS_TRUSTED_PROXIES: '10.0.0.1, proxy.local' }), /JOBS_TRUSTED_PROXIES/);
  });

  it('README and docs/security.md give every limit with its default', () => {
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const security = fs.readFileSync(path.join(projectRoot, 'docs', 'security.md'), 'utf8');
    for (const [name, value] of Object.entries(limitDefaults)) {
      assert.ok(readme.includes(`| \`${name}\` | \`${value}\` |`), `README's settings table lists ${name} with ${value}`);
      const row = security.split('\n').find((l) => l.includes(`\`${name}\``));
      assert.ok(row?.includes(`\`${value}\``), `docs/security.md lists ${name} with ${value}`);
    }
    assert.ok(security.includes('`JOBS_TRUSTED_PROXIES`') && readme.includes('`JOBS_TRUSTED_PROXIES`'));
  });

  it('every string a request can carry has a maxLength, every number a maximum, every array a maxItems', () => {
    const { doc } = loadOpenApi();
    const resolve = (ref: string) =>
      ref
        .replace('#/', '')
        .split('/')
        .reduce((o: Record<string, unknown>, k) => o[k] as Record<string, unknown>, doc as unknown as Record<string, unknown>);
    const seen = new Set<unknown>();
    const unbounded: string[] = [];
    type Schema = {
      $ref?: string;
      type?: string;
      enum?: unknown[];
      maxLength?: number;
      maximum?: number;
      maxItems?: number;
      properties?: Record<string, Schema>;
      additionalProperties?: unknown;
      items?: Schema;
      oneOf?: Schema[];
      anyOf?: Schema[];
      allOf?: Schema[];
    };
    const walk = (s: Schema | undefined, at: string) => {
      if (!s || typeof s !== 'object' || seen.has(s)) return;
      if (s.$ref) return walk(resolve(s.$ref) as Schema, at);
      seen.add(s);
      if (s.type === 'string' && s.maxLength === undefined && !s.enum) unbounded.push(`${at} (string)`);
      if ((s.type === 'integer' || s.type === 'number') && s.maximum === undefined) unbounded.push(`${at} (number)`);
      if (s.type === 'array' && s.maxItems === undefined) unbounded.push(`${at} (array)`);
      for (const k of ['oneOf', 'anyOf', 'allOf'] as const) (s[k] ?? []).forEach((x, i) => walk(x, `${at}.${k}.${i}`));
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${at}.${k}`);
      if (typeof s.additionalProperties === 'object') walk(s.additionalProperties as Schema, `${at}.*`);
      walk(s.items, `${at}[]`);
    };
    let checked = 0;
    for (const { method, path, op } of operationsOf(doc)) {
      const params = [
        ...(((doc.paths[path] as { parameters?: unknown[] }).parameters ?? []) as Array<Record<string, unknown>>),
        ...(((op as { parameters?: unknown[] }).parameters ?? []) as Array<Record<string, unknown>>),
      ];
      for (const p of params) {
        const param = (p.$ref ? resolve(p.$ref as string) : p) as { in: string; name: string; schema: Schema };
        walk(param.schema, `${method} ${path} ${param.in}.${param.name}`);
        checked += 1;
      }
      const body = (op as { requestBody?: { content?: Record<string, { schema?: Schema }> } }).requestBody;
      walk(body?.content?.['application/json']?.schema, `${method} ${path} body`);
    }
    for (const [name, schema] of Object.entries(doc.components!.schemas!)) if (name.endsWith('Kwargs')) walk(schema as Schema, name);
    assert.ok(checked > 50, `walked ${checked} parameters`);
    assert.deepEqual(unbounded, []);
  });
});

describe('default-job files are held to the configured limits before the store opens', () => {
  it('stops the boot naming the file, the field and the setting', async () => {
    const db = await testDatabase('embedded');
    const dir = await tempDir('defaults');
    try {
      await fs.promises.writeFile(path.join(dir, 'fast.yaml'), 'job_id: too-fast\nhandler: echo\nperiodically: 30 seconds\n');
      await assert.rejects(startService(db, { JOBS_DEFAULT_JOBS_DIR: dir, JOBS_MIN_INTERVAL_SECONDS: '60' }), (err: Error) => {
        assert.match(err.message, /fast\.yaml: periodically: must be at least 60 seconds \(JOBS_MIN_INTERVAL_SECONDS\)/);
        return true;
      });
    } finally {
      await db.drop();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a handler that starts child runs without declaring them is stopped at JOBS_MAX_FLOW_RUNS', () => {
  it('fails the run at the limit, with the children started until then', async () => {
    const db = await testDatabase('embedded');
    const dir = await tempDir('handlers');
    const sdk = pathToFileURL(path.join(projectRoot, 'src', 'handlers', 'index.ts')).href;
    let svc: Running | undefined;
    try {
      for (const f of await fs.promises.readdir(path.join(projectRoot, 'handlers'))) {
        const text = await fs.promises.readFile(path.join(projectRoot, 'handlers', f), 'utf8');
        await fs.promises.writeFile(path.join(dir, f), text.replaceAll("'../src/handlers/index.js'", `'${sdk}'`));
      }
      await fs.promises.writeFile(
        path.join(dir, 'spawner.ts'),
        `import { defineHandler } from '${sdk}';
export default defineHandler({
  name: 'spawner',
  description: 'Starts kwargs.n echo runs, declaring none',
  kwargsSchema: 'EchoKwargs',
  async execute(kwargs, context) {
    for (let i = 0; i < Number(kwargs.n); i++) await context.startChild('echo', { i });
  },
});
`,
      );
      svc = await startService(db, { JOBS_HANDLERS_DIR: dir, JOBS_MAX_FLOW_RUNS: '5' });
      const { execution_ids } = (await svc.http
        .post(`${api}/jobs`)
        .send({ job_id: 'spawn', handler: 'spawner', kwargs: { n: 8 }, state: 'paused' })
        .expect(201),
      await svc.http.post(`${api}/jobs/spawn/executions`).send({}).expect(202)).body;
      const run = await waitFor('the spawner run to end', async () => {
        const e = (await svc!.http.get(`${api}/executions/${execution_ids[0]}`).expect(200)).body;
        return e.finished_at ? e : undefined;
      });
      assert.equal(run.status, 'failed');
      assert.match(run.error, /a run may start at most 5 child runs \(JOBS_MAX_FLOW_RUNS\)/);
      const children = (await svc.http.get(`${api}/executions?parent_id=${run.id}`).expect(200)).body.executions;
      assert.equal(children.length, 5);
    } finally {
      await svc?.close();
      await db.drop();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a fire past the job queue is recorded missed, naming the limit', () => {
  it('plans a missed fire when the job has its limit of queued runs', () => {
    const now = new Date('2027-03-01T12:00:00Z');
    const job = {
      job_id: 'busy',
      handler: 'echo',
      state: 'running',
      interval_seconds: 60,
      cron: null,
      timezone: null,
      misfire_grace_time: null,
      concurrency_policy: 'allow',
      next_run_at: now,
    } as unknown as JobRecord;
    const queued = Array.from({ length: 3 }, (_, i) => ({ ...blankExecution(), id: `q${i}`, job_id: 'busy', handler: 'echo', status: 'queued' as const }));
    assert.equal(planFire(job, queued.slice(0, 2), now, 3).action, 'run');
    const plan = planFire(job, queued, now, 3);
    assert.equal(plan.action, 'missed');
    assert.match((plan as { reason: string }).reason, /^missed: 3 runs of this job were queued, the limit \(JOBS_MAX_QUEUED_RUNS_PER_JOB\)$/);
  });
});

for (const { name, skip } of stores) {
  describe(`quotas and bounded parsing on ${name}`, { skip }, () => {
    let db: TestDatabase;
    let svc: Running;
    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, {
        JOBS_MIN_INTERVAL_SECONDS: '60',
        JOBS_MAX_RETRIES: '5',
        JOBS_MAX_RETRY_BACKOFF_SECONDS: '600',
        JOBS_MAX_QUEUED_RUNS_PER_JOB: '20',
        JOBS_MAX_QUEUED_RUNS: '50',
        JOBS_MAX_KWARGS_BYTES: '300000',
      });
      // Paused: queued runs stay queued, so the queue quotas can be seen.
      await svc.http.put(`${api}/service/state?state=paused`).expect(200);
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('answers a 60 KB older_than with a 400 at once, and /liveness stays responsive meanwhile', async () => {
      // Separators the old clock regex rescanned from every position: seconds of CPU for 60 KB.
      const older = `1${' '.repeat(60_000)}x`;
      const t0 = Date.now();
      const bad = svc.http.post(`${api}/jobs/cleanup-executions?state=paused`).send({ older_than: older });
      const generic = svc.http.post(`${api}/jobs`).send({ handler: 'cleanup-executions', kwargs: { older_than: older }, state: 'paused' });
      const live = (async () => {
        const s = Date.now();
        await svc.http.get(`${api}/liveness`).expect(200);
        return Date.now() - s;
      })();
      const [badRes, genericRes, liveMs] = await Promise.all([bad, generic, live]);
      assertProblem(badRes, 400, 'body.older_than', /must NOT have more than 100 characters/);
      assertProblem(genericRes, 400, 'body.kwargs.older_than', /must NOT have more than 100 characters/);
      assert.ok(liveMs < scaled(1500), `liveness took ${liveMs} ms`);
      assert.ok(Date.now() - t0 < scaled(3000), `the three calls took ${Date.now() - t0} ms`);
    });

    it('refuses a cron expression that never fires, naming cron', async () => {
      const res = await svc.http.post(`${api}/jobs`).send({ handler: 'echo', cron: '0 0 31 4,6,9,11 *' });
      assertProblem(res, 400, 'body.cron', /never fires: April, June, September, November have no day 31/);
      assertProblem(await svc.http.post(`${api}/jobs/echo?cron=0%200%2030%202%20*`).send({}), 400, 'query.cron', /never fires: February has no day 30/);
    });

    it('refuses a nested flow past JOBS_MAX_FLOW_DEPTH when it is created', async () => {
      // The attack: a small nested flow whose runs multiply at every level.
      const attack = nestedFlow(8);
      const res = await svc.http.post(`${api}/jobs/flow-scheduling?job_id=flow-bomb&state=paused`).send(attack);
      assertProblem(res, 400, 'body', /nests flows more than 3 levels deep \(JOBS_MAX_FLOW_DEPTH\)/);
      await svc.http.get(`${api}/jobs/flow-bomb`).expect(404);
      // Three levels are within the limit.
      await svc.http.post(`${api}/jobs/flow-scheduling?job_id=flow-ok&state=paused`).send(nestedFlow(3)).expect(201);
    });

    it('refuses a run request whose flow runs, times over, pass JOBS_MAX_FLOW_RUNS', async () => {
      // 10 flows of 100 echo runs: 1,010 child runs per run; 10 such runs pass 10,000.
      const inner = { flow_name: 'echo', flow_arguments: Array.from({ length: 100 }, (_, i) => ({ i })) };
      const outer = { flow_name: 'flow-scheduling', flow_arguments: Array.from({ length: 10 }, () => inner) };
      await svc.http.post(`${api}/jobs/flow-scheduling?job_id=fan-out&state=paused`).send(outer).expect(201);
      const res = await svc.http.post(`${api}/jobs/fan-out/executions`).send({ times: 10 });
      assertProblem(res, 400, 'body.times', /would start more than 10000 child runs over 10 runs; the limit is 10000 \(JOBS_MAX_FLOW_RUNS\)/);
      const runs = (await svc.http.get(`${api}/jobs/fan-out/executions`).expect(200)).body.executions;
      assert.equal(runs.length, 0, 'nothing was queued');
      await svc.http.post(`${api}/jobs/fan-out/executions`).send({ times: 9 }).expect(202);
    });

    it('refuses kwargs past JOBS_MAX_KWARGS_BYTES or JOBS_MAX_KWARGS_DEPTH, at create and at run', async () => {
      const big = { pad: 'x'.repeat(400_000) };
      assertProblem(await svc.http.post(`${api}/jobs/echo?state=paused`).send(big), 400, 'body', /is 4000\d\d bytes as JSON; the limit is 300000 \(JOBS_MAX_KWARGS_BYTES\)/);
      assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', kwargs: big }), 400, 'body.kwargs', /JOBS_MAX_KWARGS_BYTES/);
      let deep: unknown = 1;
      for (let i = 0; i < 40; i++) deep = { d: deep };
      assertProblem(await svc.http.post(`${api}/jobs/echo?state=paused`).send({ deep }), 400, 'body', /nests objects and arrays deeper than 32 levels \(JOBS_MAX_KWARGS_DEPTH\)/);
      await svc.http.post(`${api}/jobs/echo?job_id=small&state=paused`).send({ n: 1 }).expect(201);
      assertProblem(await svc.http.post(`${api}/jobs/small/executions`).send({ kwargs: big }), 400, 'body.kwargs', /JOBS_MAX_KWARGS_BYTES/);
      assertProblem(await svc.http.post(`${api}/jobs/small/executions`).send({ kwargs: { deep } }), 400, 'body.kwargs', /JOBS_MAX_KWARGS_DEPTH/);
    });

    it('refuses intervals under JOBS_MIN_INTERVAL_SECONDS and retries past JOBS_MAX_RETRIES', async () => {
      assertProblem(
        await svc.http.post(`${api}/jobs/echo?periodically=30%20seconds`).send({}),
        400,
        'query.periodically',
        /must be at least 60 seconds \(JOBS_MIN_INTERVAL_SECONDS\), got '30 seconds'/,
      );
      // cron too: every 30 seconds, or two fires 30 seconds apart once an hour; five minutes apart is fine.
      assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', cron: '*/30 * * * * *' }), 400, 'body.cron', /30 seconds apart.*\(JOBS_MIN_INTERVAL_SECONDS\)/);
      assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', cron: '0,30 0 * * * *' }), 400, 'body.cron', /30 seconds apart/);
      await svc.http.post(`${api}/jobs`).send({ handler: 'echo', cron: '0 */5 * * * *', state: 'paused' }).expect(201);
      assertProblem(await svc.http.post(`${api}/jobs`).send({ handler: 'echo', retries: 6 }), 400, 'body.retries', /from 0 to 5 \(JOBS_MAX_RETRIES\)/);
      assertProblem(
        await svc.http.post(`${api}/jobs`).send({ handler: 'echo', retry_backoff: 601 }),
        400,
        'body.retry_backoff',
        /from 0 to 600 \(JOBS_MAX_RETRY_BACKOFF_SECONDS\)/,
      );
      await svc.http.post(`${api}/jobs`).send({ handler: 'echo', periodically: '1 minute', retries: 5, retry_backoff: 600, state: 'paused' }).expect(201);
    });

    it('pages lists of large rows by bytes: fewer rows and the cursor, never megabytes', async () => {
      // The attack: a job with 200 KB kwargs and a 12-byte run request; one list call answered 10 MB.
      await svc.http
        .post(`${api}/jobs/echo?job_id=wide&state=paused`)
        .send({ pad: 'w'.repeat(200_000) })
        .expect(201);
      await svc.http.post(`${api}/jobs/wide/executions`).send({ times: 12 }).expect(202);
      const ids = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { text: string; body: { executions: Array<{ id: string }>; next_cursor: string | null } } = await svc.http
          .get(`${api}/executions?job_id=wide&limit=100${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        assert.ok(res.text.length <= 1_048_576 + 1000, `a page of ${res.text.length} bytes`);
        for (const e of res.body.executions as Array<{ id: string }>) ids.add(e.id);
        cursor = res.body.next_cursor;
        pages += 1;
        assert.ok(pages <= 12);
      } while (cursor);
      assert.equal(ids.size, 12, 'every run is listed once');
      assert.ok(pages >= 3, `${pages} pages`);
      // Jobs too: five more jobs of 200 KB.
      for (let i = 0; i < 5; i++)
        await svc.http
          .post(`${api}/jobs/echo?job_id=wide-${i}&state=paused`)
          .send({ pad: 'w'.repeat(200_000) })
          .expect(201);
      const jobs = new Set<string>();
      cursor = null;
      do {
        const res: { text: string; body: { jobs: Array<{ job_id: string }>; next_cursor: string | null } } = await svc.http
          .get(`${api}/jobs?job_type=all&limit=100${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        assert.ok(res.text.length <= 1_048_576 + 1000, `a page of ${res.text.length} bytes`);
        for (const j of res.body.jobs as Array<{ job_id: string }>) jobs.add(j.job_id);
        cursor = res.body.next_cursor;
      } while (cursor);
      for (const id of ['wide', 'wide-0', 'wide-4', 'fan-out', 'small']) assert.ok(jobs.has(id), id);
    });
    it('answers 429 naming the limit past the queued runs of a job and in all', async () => {
      await svc.http.post(`${api}/jobs/echo?job_id=q1&state=paused`).send({}).expect(201);
      await svc.http.post(`${api}/jobs/q1/executions`).send({ times: 15 }).expect(202);
      const res = await svc.http.post(`${api}/jobs/q1/executions`).send({ times: 6 });
      assertProblem(res, 429, null, /job 'q1' has 15 queued runs; 6 more would pass the limit of 20 \(JOBS_MAX_QUEUED_RUNS_PER_JOB\)/);
      assert.equal(res.headers['retry-after'], '60');
      await svc.http.post(`${api}/jobs/q1/executions`).send({ times: 5 }).expect(202);
      // 9 runs of fan-out, 12 of wide, 20 of q1 and 8 of q2: 49 queued in all; 50 is the limit.
      await svc.http.post(`${api}/jobs/echo?job_id=q2&state=paused`).send({}).expect(201);
      await svc.http.post(`${api}/jobs/q2/executions`).send({ times: 8 }).expect(202);
      assertProblem(
        await svc.http.post(`${api}/jobs/q2/executions`).send({ times: 2 }),
        429,
        null,
        /49 runs are queued; 2 more would pass the limit of 50 \(JOBS_MAX_QUEUED_RUNS\)/,
      );
    });
  });
}
