import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { createHttpApp, type Operation } from '../src/http/app.js';
import { createLogger } from '../src/observability/log.js';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import { generatedFiles } from '../scripts/generate.js';
import { startService, tempDir, testDatabase, waitFor, type TestDatabase } from './helpers.js';

const { doc } = loadOpenApi();
const log = createLogger('silent');
const ok: Operation = () => ({ status: 200, body: {} });

function allOperations(): Record<string, Operation> {
  const ops: Record<string, Operation> = {};
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item) as Array<{ operationId?: string }>) if (op.operationId) ops[op.operationId] = ok;
  }
  return ops;
}

describe('the contract between openapi.yaml and the code', () => {
  it('a change (UpdateJobRequest) takes every field a create takes but job_id, and a job read gives each', () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }).components.schemas;
    const create = Object.keys(schemas.CreateJobRequest.properties ?? {}).filter((k) => k !== 'job_id');
    const update = Object.keys(schemas.UpdateJobRequest.properties ?? {});
    assert.deepEqual(
      create.filter((k) => !update.includes(k)),
      [],
      'every create field is patchable',
    );
    assert.deepEqual(
      update.filter((k) => !create.includes(k)),
      ['detach'],
    );
    const job = Object.keys(schemas.Job.properties ?? {});
    assert.deepEqual(
      create.filter((k) => !job.includes(k)),
      [],
      'every field a create sets is read back',
    );
  });

  it('every operation of the document has an operationId', () => {
    assert.ok(Object.keys(allOperations()).length >= 25);
  });

  it('the HTTP app starts when operations and document match one to one, and the document is valid OpenAPI 3', async () => {
    await createHttpApp({ doc, operations: allOperations(), log, bodyLimit: 1024, checkDocument: true });
  });

  it('refuses a document that is not valid OpenAPI 3', async () => {
    const bad = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses?: unknown }>> };
    delete Object.values(bad.paths)[0].get.responses;
    await assert.rejects(createHttpApp({ doc: bad as unknown as typeof doc, operations: allOperations(), log, bodyLimit: 1024, checkDocument: true }));
  });

  it('refuses a document whose parameters the request parser does not handle', async () => {
    for (const [param, reason] of [
      [{ name: 'session', in: 'cookie', schema: { type: 'string' } }, /is a cookie/],
      [{ name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } }, /is an array/],
      [{ name: 'tag', in: 'query', style: 'form', explode: false, schema: { type: 'string' } }, /style or explode/],
      [{ name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } }, /has content/],
    ] as const) {
      const bad = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { parameters?: unknown[] }>> };
      const get = bad.paths['/jobs'].get;
      get.parameters = [...(get.parameters ?? []), param];
      await assert.rejects(createHttpApp({ doc: bad as unknown as typeof doc, operations: allOperations(), log, bodyLimit: 1024 }), reason);
    }
  });

  it('refuses to start when an operationId has no implementation', async () => {
    const ops = allOperations();
    delete ops.getJob;
    await assert.rejects(createHttpApp({ doc, operations: ops, log, bodyLimit: 1024 }), /operationId 'getJob' has no implementation/);
  });

  it('refuses to start when an implementation has no operationId', async () => {
    const ops = { ...allOperations(), purgeEverything: ok };
    await assert.rejects(createHttpApp({ doc, operations: ops, log, bodyLimit: 1024 }), /implementation 'purgeEverything' has no operationId/);
  });

  it('every operation declares the role it needs, and the bearer scheme is declared', () => {
    const { doc: fresh } = loadOpenApi();
    const ops = operationsOf(fresh).map(({ op }) => op);
    assert.ok(ops.length >= 35);
    for (const op of ops) assert.ok(['read', 'write', 'admin'].includes(op['x-role'] as string), `${op.operationId}: x-role ${op['x-role']}`);
    assert.deepEqual((fresh.components as { securitySchemes: unknown }).securitySchemes, {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token from JOBS_API_TOKENS.' },
    });
    assert.deepEqual(fresh.security, [{ bearerAuth: [] }]);
    const open = ops
      .filter((op) => Array.isArray(op.security) && op.security.length === 0)
      .map((op) => op.operationId)
      .sort();
    assert.deepEqual(open, ['getLiveness', 'getMetrics', 'getOpenApiJson', 'getOpenApiYaml', 'getReadiness', 'getSwaggerJson', 'getSwaggerUi', 'getSwaggerUiAsset']);
  });

  it('refuses to start when an operation lacks x-role', async () => {
    const { doc: changed } = loadOpenApi();
    delete (changed.paths['/jobs/{job_id}'] as Record<string, Record<string, unknown>>).delete['x-role'];
    await assert.rejects(createHttpApp({ doc: changed, operations: allOperations(), log, bodyLimit: 1024 }), /DELETE \/jobs\/\{job_id\} has no x-role \(read, write or admin\)/);
    (changed.paths['/jobs/{job_id}'] as Record<string, Record<string, unknown>>).delete['x-role'] = 'owner';
    await assert.rejects(createHttpApp({ doc: changed, operations: allOperations(), log, bodyLimit: 1024 }), /DELETE \/jobs\/\{job_id\} has no x-role/);
  });

  it('refuses to start when the bearer scheme is not declared', async () => {
    const { doc: changed } = loadOpenApi();
    delete (changed.components as Record<string, unknown>).securitySchemes;
    await assert.rejects(createHttpApp({ doc: changed, operations: allOperations(), log, bodyLimit: 1024 }), /components\.securitySchemes\.bearerAuth must be/);
  });

  it('the committed generated types are what openapi.yaml generates (run npm run generate if not)', async () => {
    for (const [rel, content] of Object.entries(await generatedFiles())) {
      const committed = await fs.readFile(path.join(projectRoot, rel), 'utf8');
      assert.ok(committed === content, `${rel} is stale: run npm run generate and commit the result`);
    }
  });
});

describe('handler loading at boot (embedded store)', () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await testDatabase('embedded');
    dir = await tempDir('handlers');
  });
  after(async () => {
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses to start when a handler route of openapi.yaml has no handler module', async () => {
    await fs.writeFile(path.join(dir, 'echo.mjs'), "export default { name: 'echo', description: 'echo', kwargsSchema: 'EchoKwargs', async execute() {} };\n");
    await assert.rejects(startService(db, { JOBS_HANDLERS_DIR: dir }), /scheduleFlowScheduling\) names handler 'flow-scheduling', which the handlers folder lacks/);
  });

  it('refuses to start when a handler names a kwargs schema the document lacks', async () => {
    for (const f of await fs.readdir(path.join(projectRoot, 'handlers'))) {
      await fs.symlink(path.join(projectRoot, 'handlers', f), path.join(dir, f)).catch(() => undefined);
    }
    await fs.rm(path.join(dir, 'echo.mjs'), { force: true });
    await fs.writeFile(path.join(dir, 'odd.mjs'), "export default { name: 'odd', description: 'x', kwargsSchema: 'OddKwargs', async execute() {} };\n");
    await assert.rejects(startService(db, { JOBS_HANDLERS_DIR: dir }), /handler odd names kwargs schema 'OddKwargs', which openapi.yaml lacks/);
    await fs.rm(path.join(dir, 'odd.mjs'));
  });

  it('refuses a module whose handler name differs from its file name', async () => {
    await fs.writeFile(path.join(dir, 'greet.mjs'), "export default { name: 'hello', description: 'x', kwargsSchema: 'EchoKwargs', async execute() {} };\n");
    await assert.rejects(startService(db, { JOBS_HANDLERS_DIR: dir }), /greet\.mjs exports a handler named 'hello'/);
  });

  it('runs a handler added as a module, through the generic route', async () => {
    await fs.rm(path.join(dir, 'greet.mjs'));
    // A new file name: ES modules are cached by URL for the life of the process.
    await fs.writeFile(
      path.join(dir, 'greeter.mjs'),
      [
        'export default {',
        "  name: 'greeter',",
        "  description: 'Says hello',",
        "  kwargsSchema: 'EchoKwargs',",
        '  async execute(kwargs, context) { context.log.info(`hello ${kwargs.who}`); },',
        '};',
        '',
      ].join('\n'),
    );
    const svc = await startService(db, { JOBS_HANDLERS_DIR: dir });
    try {
      const names = (await svc.http.get('/api/v1/handlers').expect(200)).body.handlers.map((h: { name: string }) => h.name);
      assert.ok(names.includes('greeter'));
      await svc.http
        .post('/api/v1/jobs')
        .send({ handler: 'greeter', job_id: 'greeting', kwargs: { who: 'operator' } })
        .expect(201);
      const run = await waitFor('the greet run', async () => {
        const runs = (await svc.http.get('/api/v1/jobs/greeting/executions').expect(200)).body.executions;
        return runs.find((e: { status: string }) => e.status === 'succeeded');
      });
      const out = (await svc.http.get(`/api/v1/executions/${run.id}/output`).expect(200)).body;
      assert.match(out.lines.join('\n'), /hello operator/);
    } finally {
      await svc.close();
    }
  });
});
