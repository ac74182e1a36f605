/**
 * Fuzzing every operation of openapi.yaml against the real service, with each token state:
 * requests are generated (fast-check, seeded and bounded) from the document's own schemas,
 * valid and invalid: path ids with NUL, lone surrogates, bad percent-encoding and huge
 * lengths; query parameters of the wrong type, out of range or unknown; bodies nested
 * past the limit, with huge numbers, wrong types, bad JSON or another media type.
 *
 * For every answer: no 5xx, every error is application/problem+json with its status, every
 * status is one the document names for the operation, and an error answer changed nothing
 * stored (jobs, runs, failure records, workers and the service state, compared before and
 * after). FUZZ_SEED and FUZZ_RUNS replay or widen a run; a failure prints its seed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadOpenApi, operationsOf } from '../src/contract/openapi.js';
import type { Store } from '../src/store/types.js';
import { noticeSkippedStores, scaled, startService, stores, testDatabase, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const secret = () => randomBytes(24).toString('base64url');
const T = { reader: secret(), writer: secret(), admin: secret() };
const tokenList = `reader:${T.reader}:read, writer:${T.writer}:write, admin:${T.admin}:admin`;
type Who = 'none' | 'unknown' | 'reader' | 'writer' | 'admin';

/** Fixed, so that npm test sends the same requests each time; FUZZ_SEED=random picks a new one (printed). */
const seed = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261129);
const runs = Number(process.env.FUZZ_RUNS ?? 300);

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  nullable?: boolean;
  example?: unknown;
  default?: unknown;
};
type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; $ref?: string };
type Op = {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema; example?: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, unknown>;
};

const { doc } = loadOpenApi();
const deref = <T>(x: T & { $ref?: string }): T => {
  let v = x as unknown as { $ref?: string };
  while (v?.$ref)
    v = v.$ref
      .split('/')
      .slice(1)
      .reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, doc as unknown as Record<string, unknown>);
  return v as T;
};

/** Strings PostgreSQL or the parsers dislike; long ones up to `long` characters. */
const evilStrings = (long: number) =>
  fc.oneof(
    fc.constantFrom('\0', 'a\0b', '\ud800', 'x\udc00y', '\ufffe', '%00', '../../etc/passwd', '', ' ', '\n', '🙂', "'; DROP TABLE job; --", '{"$ne":1}', '$where'),
    fc.string({ maxLength: 20, unit: 'binary' }),
    fc.integer({ min: 201, max: long }).map((n) => 'x'.repeat(n)),
  );
const evilString = evilStrings(70_000);
/** In a URL: short enough that the whole request line stays under Node's 16 KB header limit. */
const evilQueryString = evilStrings(2000);
const evilNumber = fc.constantFrom(-1, 0, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 + 1, 1e308, -1e308, 0.5, -0, 1e-300);
/** Any JSON value, nested a little. */
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    evilNumber,
    fc.integer(),
    evilString,
    fc.string({ maxLength: 10 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(
        fc.string({ maxLength: 8 }),
        evilString.filter((s) => s.length < 100),
      ),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
})).value;

/** Known good values by parameter or field name (ids of the fixtures, well-formed durations, ...), set once the service runs. */
const known: Record<string, string[]> = {};
const knownOf = (name: string) => fc.constant(null).chain(() => (known[name]?.length ? fc.constantFrom(...known[name]) : fc.constant('none')));

/** Values that fit `schema` (mostly), small. */
function valid(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.oneOf ?? s.anyOf;
  if (alts) return fc.oneof(...alts.map((a) => valid(a, depth + 1)));
  if (s.allOf) return valid(s.allOf[0], depth + 1);
  const examples = [s.example, s.default].filter((v) => v !== undefined);
  const withExamples = (a: fc.Arbitrary<unknown>) => (examples.length ? fc.oneof(a, fc.constantFrom(...examples)) : a);
  switch (s.type) {
    case 'integer': {
      const min = s.minimum ?? -1000;
      const max = s.maximum ?? min + 1000;
      return withExamples(fc.oneof(fc.integer({ min, max: Math.min(max, min + 5) }), fc.constantFrom(min, max)));
    }
    case 'number':
      return withExamples(fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true }));
    case 'boolean':
      return fc.boolean();
    case 'string': {
      const base = s.pattern
        ? fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? 200))
        : fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 20, 20) });
      return withExamples(base);
    }
    case 'array': {
      if (depth > 3) return fc.constant([]);
      const minLength = s.minItems ?? 0;
      return withExamples(fc.array(valid(s.items ?? {}, depth + 1), { minLength, maxLength: Math.min(s.maxItems ?? 3, minLength + 3) }));
    }
    default: {
      if (!s.properties && s.type !== 'object') return withExamples(anyJson);
      if (depth > 3) return fc.constant({});
      const props = Object.entries(s.properties ?? {});
      const required = new Set(s.required ?? []);
      const field = (k: string, v: Schema) => (known[k] ? fc.oneof(valid(v, depth + 1), { weight: 3, arbitrary: knownOf(k) }) : valid(v, depth + 1));
      const record = fc.record(Object.fromEntries(props.map(([k, v]) => [k, field(k, v)])), {
        requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)),
      });
      return withExamples(record);
    }
  }
}

/** Values that break `schema` somewhere, or any JSON at all. */
function invalid(schema: Schema): fc.Arbitrary<unknown> {
  const s = deref(schema);
  const wrong = fc.oneof(anyJson, evilString, evilNumber);
  if (!s.properties) return wrong;
  const props = Object.keys(s.properties);
  return fc.oneof(
    wrong,
    // One field of a valid value replaced by something else, or an unknown field added.
    fc.tuple(valid(s), fc.constantFrom(...props, 'unknown_field'), wrong).map(([v, k, w]) => ({ ...(v as object), [k]: w })),
  );
}

/** A path segment as it goes on the wire: encoded, or raw bytes that are not. */
const evilSegment = fc.constantFrom('%00', 'a%00b', 'x%00', '%00%00', '%ED%A0%80', '%FF%FE', '%', '%zz', '%2F', 'x'.repeat(3000), '%E2%82%AC', '-', '%20', 'clean-failed');

/** Valid requests use known or well-formed values only; evil ones anything. */
type Mode = 'valid' | 'evil';

function pathArb(template: string, params: Parameter[], ids: () => Record<string, string[]>, mode: Mode): fc.Arbitrary<string> {
  const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return fc.constant(template);
  const parts = names.map((name) => {
    const p = params.find((x) => x.name === name);
    const known = fc.constant(null).chain(() => {
      const list = ids()[name] ?? [];
      return list.length ? fc.constantFrom(...list) : fc.constant('none');
    });
    const wellFormed = p?.schema ? valid(p.schema).map((v) => encodeURIComponent(String(v))) : fc.constant('x');
    if (mode === 'valid') return fc.oneof({ weight: 4, arbitrary: known.map(encodeURIComponent) }, { weight: 1, arbitrary: wellFormed });
    return fc.oneof(known.map(encodeURIComponent), wellFormed, { weight: 3, arbitrary: evilSegment });
  });
  return fc.tuple(...parts).map((values) => {
    let i = 0;
    return template.replace(/\{[^}]+\}/g, () => values[i++]);
  });
}

const encodeQueryValue = (v: unknown) => {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};

function queryArb(params: Parameter[], ids: () => Record<string, string[]>, mode: Mode): fc.Arbitrary<string> {
  const entries = params.map((p) => {
    const known = fc.constant(null).chain(() => {
      const list = ids()[p.name] ?? [];
      return list.length ? fc.constantFrom(...list) : fc.constant('none');
    });
    const s = deref(p.schema ?? {});
    // A free-form string (no enum or pattern) is well formed only by chance: its known values then.
    const freeForm = s.type === 'string' && !s.enum && !s.pattern;
    const good = fc
      .oneof({ weight: freeForm ? 1 : 4, arbitrary: valid(p.schema ?? {}) }, { weight: ids()[p.name] ? (freeForm ? 6 : 2) : 0, arbitrary: known })
      .map(encodeQueryValue);
    const value =
      mode === 'valid' ? good : fc.oneof(good, { weight: 3, arbitrary: fc.oneof(evilQueryString, evilNumber).map(encodeQueryValue) }, { weight: 1, arbitrary: evilSegment });
    return fc.option(
      value.map((v) => `${p.name}=${v}`),
      { freq: p.required ? 10 : 2, nil: undefined },
    );
  });
  const unknown = mode === 'valid' ? fc.constant(undefined) : fc.option(fc.constantFrom('nope=1', 'job_id%00=1', '%00=%00', 'limit=1&limit=2'), { freq: 4, nil: undefined });
  return fc.tuple(fc.tuple(...entries), unknown).map(([list, extra]) => [...list, extra].filter((x): x is string => x !== undefined).join('&'));
}

/** A body as sent: the raw text and its content type, or none. */
type Body = { text: string; type: string } | null;
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const rawBodies = fc.constantFrom<Body>(
  { text: deep(70), type: 'application/json' },
  { text: deep(10_000), type: 'application/json' },
  { text: '{"a":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5001), type: 'application/json' },
  { text: '"\\ud800"', type: 'application/json' },
  { text: '{"kwargs": {"x": "\\u0000"}}', type: 'application/json' },
  { text: '{"x": 1e400}', type: 'application/json' },
  { text: '{', type: 'application/json' },
  { text: 'null', type: 'application/json' },
  { text: '[]', type: 'application/json' },
  { text: '12', type: 'application/json' },
  { text: 'hello', type: 'text/plain' },
  { text: '<a/>', type: 'application/xml' },
  { text: '{}', type: 'application/merge-patch+json' },
  { text: '{}', type: '' },
);

function bodyArb(op: Op, mode: Mode): fc.Arbitrary<Body> {
  const media = op.requestBody?.content?.['application/json'];
  const json = (a: fc.Arbitrary<unknown>) => a.map((v): Body => ({ text: JSON.stringify(v) ?? 'null', type: 'application/json' }));
  if (!media) return mode === 'valid' ? fc.constant(null) : fc.oneof(fc.constant(null), rawBodies, json(anyJson));
  const examples = [media.example, ...Object.values(media.examples ?? {}).map((e) => e.value)].filter((v) => v !== undefined);
  const good = examples.length ? fc.oneof(json(valid(media.schema)), json(fc.constantFrom(...examples))) : json(valid(media.schema));
  if (mode === 'valid') return good;
  return fc.oneof(good, { weight: 3, arbitrary: json(invalid(media.schema)) }, { weight: 2, arbitrary: rawBodies });
}

interface FuzzRequest {
  operationId: string;
  method: string;
  path: string;
  query: string;
  body: Body;
  who: Who;
}

/** Everything an error answer must leave as it was. */
async function snapshot(store: Store): Promise<string> {
  const all = async <T>(page: (after: string | null) => Promise<{ items: T[]; next: string | null }>) => {
    const items: T[] = [];
    let after: string | null = null;
    do {
      const p = await page(after);
      items.push(...p.items);
      after = p.next;
    } while (after);
    return items;
  };
  const [jobs, executions, failures, workers, state, pause] = await Promise.all([
    all((a) => store.listJobs(a, 1000)),
    all((a) => store.listExecutions({}, a, 1000)),
    all((a) => store.listFailures(a, 1000)),
    all((a) => store.listWorkers(a, 1000)),
    store.getServiceState(),
    store.getServicePause(),
  ]);
  // A worker's heartbeat is its own doing, not the request's.
  const workerStates = workers.map((w) => [w.id, w.state]);
  return JSON.stringify({ jobs, executions, failures, workerStates, state, pause });
}

for (const { name, skip } of stores) {
  describe(`fuzzing every operation on ${name}`, { skip, timeout: scaled(240_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    const ids = known;
    const operations = operationsOf(doc).map(({ method, path, op }) => {
      const o = op as unknown as Op;
      const params = [...((doc.paths[path] as { parameters?: Parameter[] }).parameters ?? []), ...(o.parameters ?? [])].map((p) => deref<Parameter>(p));
      return { method, path, op: o, params };
    });

    before(async () => {
      db = await testDatabase(name);
      // No worker: nothing changes the store but the requests themselves; runs stay queued.
      svc = await startService(db, { JOBS_API_TOKENS: tokenList, JOBS_WORKER: 'false' });
      const send = (method: 'post' | 'get', url: string, body?: object) => svc.http[method](`${api}${url}`).set('Authorization', `Bearer ${T.admin}`).send(body);
      await send('post', '/jobs/echo?job_id=fuzz-echo&state=paused', { message: 'fixture' }).expect(201);
      await send('post', '/jobs/http-request?job_id=fuzz-http&when=2099-01-01T00:00:00Z', { url: 'http://127.0.0.1:9/', headers: { Authorization: 'Bearer x' } }).expect(201);
      await send('post', '/jobs/cleanup-executions?job_id=fuzz-cleanup&state=paused', { older_than: '3650 days' }).expect(201);
      const run = await send('post', '/jobs/fuzz-echo/executions', { times: 2 }).expect(202);
      ids.job_id = ['fuzz-echo', 'fuzz-http', 'fuzz-cleanup', 'clean-failed'];
      ids.execution_id = run.body.execution_ids;
      ids.parent_id = run.body.execution_ids;
      ids.batch_id = [run.body.batch_id];
      ids.asset = ['swagger-ui.css', 'index.html', 'swagger-initializer.js'];
      ids.worker_id = ['none'];
      ids.handler = ['echo', 'echo', 'http-request', 'flow-scheduling'];
      // Well-formed values of the free-form parameters, which a schema alone cannot give.
      ids.periodically = ['5 minutes', '1 hour', '30'];
      ids.cron = ['*/5 * * * *', '0 3 * * 1'];
      ids.timezone = ['Europe/Prague', 'UTC'];
      ids.when = ['2099-01-01T00:00:00Z', 'Mon Feb 20, 14:56'];
      ids.misfire_grace_time = ['60', '10 minutes'];
      ids.since = ['2020-01-01T00:00:00Z'];
      ids.until = ['2100-01-01T00:00:00Z'];
      ids.token = ['admin', 'writer'];
      ids.operation = ['runJob', 'createJob'];
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it(`${runs} generated requests (seed ${seed}): no 5xx, problems for errors, documented statuses, nothing changed by an error`, async () => {
      const request: fc.Arbitrary<FuzzRequest> = fc.tuple(fc.constantFrom(...operations), fc.constantFrom<Mode>('valid', 'evil')).chain(([{ method, path, op, params }, mode]) =>
        fc.record({
          operationId: fc.constant(op.operationId),
          method: fc.constant(method),
          path: pathArb(path, params, () => ids, mode),
          query: queryArb(
            params.filter((p) => p.in === 'query'),
            () => ids,
            mode,
          ),
          body: bodyArb(op, mode),
          // Valid requests mostly with a token that may make them.
          who:
            mode === 'valid'
              ? fc.constantFrom<Who>('admin', 'admin', 'writer', 'reader', 'none')
              : fc.constantFrom<Who>('admin', 'admin', 'admin', 'writer', 'reader', 'none', 'unknown'),
        }),
      );
      const documented = new Map(operations.map(({ op }) => [op.operationId, new Set(Object.keys(op.responses))]));
      const seen = new Map<string, number>();
      const statuses = new Map<number, number>();

      let failure = '';
      await fc
        .assert(
          fc.asyncProperty(request, async (r) => {
            try {
              await check(r);
            } catch (err) {
              failure ||= (err as Error).message.slice(0, 3000);
              throw err;
            }
          }),
          { seed, numRuns: runs, endOnFailure: true },
        )
        .catch(() => {
          throw new Error(`fuzzing failed; replay with FUZZ_SEED=${seed} FUZZ_RUNS=${runs}: ${failure}`);
        });
      // Every operation was tried, and the answers were not all of one kind.
      for (const { op } of operations) assert.ok((seen.get(op.operationId) ?? 0) > 0, `${op.operationId} was never called`);
      assert.ok([...statuses.keys()].some((s) => s < 300) && [...statuses.keys()].some((s) => s >= 400), JSON.stringify([...statuses]));
      console.log(`# fuzz seed ${seed}: ${runs} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

      async function check(r: FuzzRequest) {
        const store = svc.service.store;
        const beforeAnswer = await snapshot(store);
        const url = `${api}${r.path}${r.query ? `?${r.query}` : ''}`;
        let req = svc.http[r.method as 'get' | 'post' | 'put' | 'delete'](url);
        if (r.who === 'unknown') req = req.set('Authorization', `Bearer ${secret()}`);
        else if (r.who !== 'none') req = req.set('Authorization', `Bearer ${T[r.who]}`);
        if (r.body) {
          if (r.body.type) req = req.set('Content-Type', r.body.type);
          req = req.send(r.body.text);
        }
        // A stream that answers 200 runs until its run ends or for ever: its head is enough.
        const streaming = r.operationId === 'streamEvents' || (r.operationId === 'getExecutionOutput' && /(^|&)follow=(true|1)/.test(r.query ?? ''));
        if (streaming) {
          req = req.buffer(true).parse((answer, done) => {
            if (/^text\/event-stream/.test(String(answer.headers['content-type']))) {
              done(null, {});
              (answer as unknown as { destroy(): void }).destroy();
              return;
            }
            let text = '';
            (answer as unknown as { setEncoding(e: string): void }).setEncoding('utf8');
            answer.on('data', (c: string) => (text += c));
            answer.on('end', () => {
              try {
                done(null, JSON.parse(text));
              } catch {
                done(null, text);
              }
            });
          });
        }
        const res = await req;
        if (streaming && res.text === undefined) res.text = JSON.stringify(res.body ?? '');
        const where = `${r.who} ${r.method.toUpperCase()} ${url.slice(0, 300)} body ${r.body ? r.body.text.slice(0, 200) : '(none)'}`;
        seen.set(r.operationId, (seen.get(r.operationId) ?? 0) + 1);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${res.status} for ${where}: ${res.text.slice(0, 500)}`);
        // A segment like %2F can make the path another route's, or none: then the operation's list does not apply.
        if (!/no route|is not allowed on/.test(res.body?.detail ?? '')) {
          assert.ok(
            documented.get(r.operationId)!.has(String(res.status)),
            `${r.operationId} answered ${res.status}, which openapi.yaml does not name, for ${where}: ${res.text.slice(0, 300)}`,
          );
        }
        if (res.status >= 400) {
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${res.status} for ${where}`);
          assert.equal(res.body.status, res.status);
          assert.equal(typeof res.body.detail, 'string');
          assert.equal(await snapshot(store), beforeAnswer, `${res.status} for ${where} changed what is stored`);
        }
      }
    });
  });
}
