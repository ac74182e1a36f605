import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { OpenAPIBackend, type Document, type Operation as OpenApiOperation, type Request } from 'openapi-backend';
import type { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { roles, type Role } from '../config/tokens.js';
import { addDashboardRoutes } from './dashboard.js';
import { defaultBodyMaxDepth } from '../config/config.js';
import { unreachable } from '../db/errors.js';
import type { Logger } from '../observability/log.js';
import type { OpenApiDocument } from '../contract/openapi.js';
import { operationsOf } from '../contract/openapi.js';
import { storageFault } from '../db/storage.js';
import { Problem, type FieldError } from '../operations/problem.js';
import { basePath, ContractError, type Operation, type OperationInput, type OperationResult } from '../operations/types.js';
import type { AuditRecord } from '../store/types.js';
import { Authenticator, type Principal } from './auth.js';
import { readJsonBody } from './body.js';
import { audited, clientAddressOf } from './audit.js';
import { compileRouting } from './routing.js';

export { basePath, ContractError };
export type { Operation, OperationInput, OperationResult };

/**
 * Checks that the document and the implementations match one to one: every operationId has
 * an implementation and every implementation an operationId; every operation says the role it
 * needs (`x-role`) and the bearer scheme the roles are checked through is declared. The
 * service refuses to start otherwise.
 */
export function checkContract(doc: OpenApiDocument, operations: Record<string, Operation>) {
  const declared = new Set<string>();
  const problems: string[] = [];
  const schemes = (doc.components?.securitySchemes ?? {}) as Record<string, { type?: string; scheme?: string }>;
  if (schemes.bearerAuth?.type !== 'http' || schemes.bearerAuth.scheme !== 'bearer') {
    problems.push('components.securitySchemes.bearerAuth must be {type: http, scheme: bearer}');
  }
  for (const { method, path, op } of operationsOf(doc)) {
    const name = `${method.toUpperCase()} ${path}`;
    if (!op.operationId) problems.push(`${name} has no operationId`);
    else declared.add(op.operationId);
    if (!(roles as unknown[]).includes(op['x-role'])) problems.push(`${name} has no x-role (read, write or admin)`);
  }
  for (const id of declared) if (!operations[id]) problems.push(`operationId '${id}' has no implementation`);
  for (const id of Object.keys(operations)) if (!declared.has(id)) problems.push(`implementation '${id}' has no operationId in openapi.yaml`);
  if (problems.length) throw new ContractError(`openapi.yaml and the operations disagree: ${problems.join('; ')}`);
}

/** An X-Request-Id the service takes over from the caller; others get a UUID. */
const requestIdPattern = /^[\w.:-]{1,100}$/;

const locations: Record<string, string> = { requestBody: 'body', query: 'query', path: 'path', header: 'header', cookie: 'cookie' };

/** ajv errors of openapi-backend's request validation as field errors (`body.flow_name`, `query.state`). */
export function requestFieldErrors(errors: ErrorObject[]): FieldError[] {
  return errors.map((e) => {
    const parts = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (parts.length) parts[0] = locations[parts[0]] ?? parts[0];
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      parts.push(missing === 'requestBody' ? '' : missing);
      reason = missing === 'requestBody' ? 'a JSON body is required' : 'is required';
      if (missing === 'requestBody') parts.splice(0, parts.length, 'body');
    } else if (e.keyword === 'additionalProperties') {
      parts.push((e.params as { additionalProperty: string }).additionalProperty);
      reason = 'is not a known field';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'parse') {
      parts.splice(0, parts.length, 'body');
      reason = `is not valid JSON: ${e.message}`;
    }
    return { field: parts.filter(Boolean).join('.') || 'body', reason };
  });
}

function sendProblem(ctx: Koa.Context, p: Problem) {
  ctx.status = p.status;
  ctx.type = 'application/problem+json';
  for (const [k, v] of Object.entries(p.headers ?? {})) ctx.set(k, v);
  ctx.body = {
    type: 'about:blank',
    title: p.title,
    status: p.status,
    detail: p.detail,
    instance: ctx.path,
    ...(p.errors ? { errors: p.errors } : {}),
  };
}

/** Connection failures of the database are the service being unavailable, not a bug. */
function isDatabaseDown(err: unknown): boolean {
  return unreachable(err) || /PGlite is closed/i.test((err as Error)?.message ?? '');
}

/** What one request came to, once its answer is set: for metrics and the audit log. */
export interface RequestOutcome {
  requestId: string;
  /** null when no operation of the document matched. */
  operationId: string | null;
  method: string;
  path: string;
  /** Path parameters of the matched operation. */
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** The request body, when it was read (the caller was allowed). */
  requestBody: unknown;
  status: number;
  /** The answer's body as the operation returned it (a problem body for errors). */
  body: unknown;
  /** The caller; null when the request did not get as far as the security check. */
  principal: Principal | null;
  /** The caller's address (see clientAddressOf); null when the socket has none. */
  clientAddress: string | null;
  seconds: number;
  /** The audit record the operation built to store with its own write, if it did (CallAudit). */
  audit?: WriteAudit;
}

/**
 * A call's audit record built for the operation's own write: `stored` once that write is known
 * to have stored it. A write whose answer was lost may have stored it all the same, so the
 * call's record is written under this record's id whatever happened (SQL insertAudits then
 * gives a stored one the answer's status), and never twice.
 */
export interface WriteAudit {
  record: AuditRecord;
  stored: boolean;
}

export interface HttpAppOptions {
  doc: OpenApiDocument;
  operations: Record<string, Operation>;
  log: Logger;
  bodyLimit: number;
  /** Deepest nesting of objects and arrays accepted in a body (default: JOBS_BODY_MAX_DEPTH's). */
  bodyMaxDepth?: number;
  /** Validates the document against the OpenAPI 3 schema too (the contract test asks for it). */
  checkDocument?: boolean;
  /** Bearer tokens; absent: no checks. */
  auth?: Authenticator;
  /** Called once per request before the answer is sent; its errors are logged, never answered. */
  observe?: (outcome: RequestOutcome) => Promise<void> | void;
  /**
   * The audit record of a call's outcome. Given, each audited call's operation is handed the
   * means to store its record with its own write (OperationInput.audit).
   */
  auditOf?: (outcome: RequestOutcome) => AuditRecord;
  /** Peers whose X-Forwarded-For names the client (JOBS_TRUSTED_PROXIES). */
  trustedProxies?: readonly string[];
  /** Told of a request that failed for want of storage, so that readiness reports it. */
  onStorageFault?: (err: unknown) => void;
}

/**
 * Compiles each operation's request validator, one per turn of the event loop, so the service
 * answers meanwhile (openapi-backend compiles a missing one on first use). Together they take
 * most of a second of CPU: the service starts this once it listens, so the boot does not wait
 * for it and no later first request of an operation pays for its compilation.
 */
function precompileRequestValidators(api: OpenAPIBackend) {
  const ids = api.router
    .getOperations()
    .map((op) => op.operationId!)
    .filter(Boolean);
  const next = () => {
    const id = ids.shift();
    if (id === undefined) return;
    api.validator.getRequestValidatorsForOperation(id);
    setImmediate(next).unref();
  };
  setImmediate(next).unref();
}

export interface HttpApp {
  app: Koa;
  /** Compiles the request validators in the background (see precompileRequestValidators). */
  compileValidators(): void;
}

/** What the middlewares learn of a request as openapi-backend handles it. */
interface RequestState {
  requestId?: string;
  operationId?: string;
  params?: Record<string, string>;
  principal?: Principal;
  body?: unknown;
  audit?: WriteAudit;
}

export async function createHttpApp(opts: HttpAppOptions): Promise<HttpApp> {
  checkContract(opts.doc, opts.operations);
  const api = new OpenAPIBackend({
    definition: structuredClone(opts.doc) as unknown as Document,
    apiRoot: basePath,
    strict: true,
    validate: true,
    coerceTypes: true,
    // Quick mode skips checking the document against the OpenAPI schema (the contract test
    // does that) and compiling a validator for every response (never used here): together
    // most of the boot. Request validators are compiled after the boot, see below.
    quick: true,
    customizeAjv: (ajv) => {
      ajv.opts.allErrors = true;
      addFormats.default(ajv);
      return ajv;
    },
  });

  const auth = opts.auth ?? new Authenticator('open');
  const state = (ctx: Koa.Context) => ctx.state as RequestState;
  const notFound = (ctx: Koa.Context) => new Problem(404, 'Not found', `no route ${ctx.method} ${ctx.path} in ${basePath}; see ${basePath}/openapi.json`);
  const methodNotAllowed = (ctx: Koa.Context, path: string) => {
    const allowed = api.router
      .getOperations()
      .filter((op) => api.router.matchOperation({ method: op.method, path, headers: {} }) === op)
      .map((op) => op.method.toUpperCase());
    return new Problem(405, 'Method not allowed', `${ctx.method} is not allowed on ${ctx.path}`, undefined, { Allow: [...new Set(allowed)].join(', ') });
  };
  /** Whether an operation's security requirements (any one of them, each scheme of it) are met; bearerAuth is the only scheme. */
  const satisfied = (security: Array<Record<string, unknown>>, bearer: boolean) =>
    security.some((requirement) => Object.keys(requirement).every((scheme) => scheme === 'bearerAuth' && bearer));

  /** What a request came to, answered with `status` and `body`. */
  const outcomeOf = (ctx: Koa.Context, status: number, body: unknown, seconds: number): RequestOutcome => {
    const st = state(ctx);
    return {
      requestId: st.requestId!,
      operationId: st.operationId ?? null,
      method: ctx.method,
      path: ctx.path,
      params: st.params ?? {},
      query: ctx.query,
      requestBody: st.body,
      status,
      body,
      principal: st.principal ?? null,
      // Worked out only when asked for: only audited calls record it.
      get clientAddress() {
        return clientAddressOf(ctx.req.socket.remoteAddress, ctx.get('x-forwarded-for') || undefined, opts.trustedProxies ?? []);
      },
      seconds,
      audit: st.audit,
    };
  };

  /**
   * One request to the API, in openapi-backend's order: routing (404, 405), the caller's token
   * (the body is read only once the caller is known to be allowed), 401 or 403, validation of
   * the parameters and body against the operation's compiled validators (400, values coerced
   * to their types), then the operation. openapi-backend's own handleRequest parses the
   * request four times and goes through lodash and a chain of promises on every call; the
   * router (routing.ts), the validators and the order of the checks are the same here.
   */
  const handle = async (ctx: Koa.Context, req: Request) => {
    const st = state(ctx);
    let operation: OpenApiOperation;
    try {
      operation = api.router.matchOperation(req, true);
    } catch (err) {
      // A bad query value is answered as such, on any path, before routing.
      const { path } = api.router.parseRequest(req);
      throw err instanceof Error && err.message.startsWith('405') ? methodNotAllowed(ctx, path) : notFound(ctx);
    }
    const operationId = operation.operationId!;
    const parsed = api.router.parseRequest(req, operation);
    st.operationId = operationId;
    st.params = parsed.params as Record<string, string>;

    const security = (operation.security ?? []) as Array<Record<string, unknown>>;
    let rejected: unknown;
    let bearer = false;
    if (security.some((requirement) => 'bearerAuth' in requirement)) {
      try {
        const principal = auth.authorize(ctx.get('authorization') || undefined, (operation as unknown as { 'x-role': Role })['x-role'], operationId, (p) => {
          st.principal = p;
        });
        st.principal = principal;
        bearer = true;
      } catch (err) {
        rejected = err;
      }
    }
    if (security.length > 0 && !satisfied(security, bearer)) {
      throw rejected instanceof Problem
        ? rejected
        : new Problem(401, 'Unauthorized', 'this operation needs a token', undefined, { 'WWW-Authenticate': 'Bearer realm="jobs-service"' });
    }
    const body = (st.body = await readJsonBody(ctx, opts.bodyLimit, opts.bodyMaxDepth ?? defaultBodyMaxDepth));

    // The path parameters are validated (and coerced) on a copy: operations take them as the path wrote them.
    const parameters: Record<string, unknown> = { path: { ...parsed.params }, query: parsed.query, header: parsed.headers, cookie: parsed.cookies };
    const contentType = ctx.get('content-type').split(';')[0].trim().toLowerCase();
    if (typeof body === 'object' || contentType === 'application/json') parameters.requestBody = body;
    const errors: ErrorObject[] = [];
    for (const validate of api.validator.getRequestValidatorsForOperation(operationId) ?? []) {
      if (!validate(parameters) && validate.errors) errors.push(...validate.errors);
    }
    if (errors.length) throw Problem.invalid(requestFieldErrors(errors));

    const auditOf = opts.auditOf;
    const result = await opts.operations[operationId]({
      params: parsed.params as Record<string, string>,
      query: parameters.query as Record<string, unknown>,
      body,
      headers: ctx.headers,
      operationId,
      caller: st.principal?.name ?? null,
      role: auth.enforced ? (st.principal?.role ?? null) : null,
      audit:
        auditOf && audited({ operationId, method: ctx.method })
          ? {
              of: (r) => (st.audit = { record: auditOf(outcomeOf(ctx, r.status, r.body, 0)), stored: false }).record,
              stored: (record) => void (st.audit = { record, stored: true }),
            }
          : undefined,
    });
    ctx.status = result.status;
    for (const [k, v] of Object.entries(result.headers ?? {})) ctx.set(k, v);
    if (result.type) ctx.type = result.type;
    if (result.body !== undefined) ctx.body = result.body;
  };
  await api.init();
  compileRouting(api.router);
  if (opts.checkDocument) {
    // Outside quick mode, init() checks the document against the OpenAPI 3 schema and throws (strict).
    await new OpenAPIBackend({ definition: structuredClone(opts.doc) as unknown as Document, strict: true, validate: false }).init();
  }

  const app = new Koa();
  app.proxy = false;
  // Errors of an answer already under way (a streamed body): a client that went away, or a
  // stream ended for being too slow, is no fault of the service.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    opts.log.error({ err }, 'answer failed');
  });
  const router = new Router();

  // Problems, request ids, metrics and audit, and one log line per request.
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const asked = ctx.get('x-request-id');
    const requestId = (asked && requestIdPattern.test(asked) && asked) || randomUUID();
    ctx.set('X-Request-Id', requestId);
    const st = state(ctx);
    st.requestId = requestId;
    try {
      await next();
    } catch (err) {
      if (err instanceof Problem) sendProblem(ctx, err);
      else if (storageFault(err)) {
        opts.log.error({ err, request_id: requestId }, 'database cannot write');
        opts.onStorageFault?.(err);
        sendProblem(ctx, new Problem(503, 'Storage unavailable', `the database cannot write: ${storageFault(err)}; try again once it is fixed`));
      } else if (isDatabaseDown(err)) {
        opts.log.warn({ err, request_id: requestId }, 'database unavailable');
        sendProblem(ctx, new Problem(503, 'Service unavailable', 'the database cannot be reached; try again shortly'));
      } else {
        opts.log.error({ err, request_id: requestId }, 'request failed');
        sendProblem(ctx, new Problem(500, 'Internal error', `the request failed unexpectedly; quote request id ${requestId} when reporting it`));
      }
    }
    // An answer given before the request's body was read (401, 403, 413, ...): the connection
    // closes after it, rather than wait for a body the client may trickle for minutes.
    if (ctx.status >= 400 && !ctx.req.complete) ctx.set('Connection', 'close');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (opts.observe) {
      try {
        await opts.observe(outcomeOf(ctx, ctx.status, ctx.body, seconds));
      } catch (err) {
        opts.log.error({ err, request_id: requestId }, 'recording the request failed');
      }
    }
    // The line's fields are gathered only when it is written (LOG_LEVEL info or finer).
    if (opts.log.isLevelEnabled('info'))
      opts.log.info(
        {
          request_id: requestId,
          operation: st.operationId ?? null,
          token: st.principal?.name ?? null,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: seconds * 1000,
        },
        'request',
      );
  });

  // Before routing: without tokens, only loopback Host names (see Authenticator.checkHost).
  app.use(async (ctx, next) => {
    auth.checkHost(ctx.get('host') || undefined);
    await next();
  });

  // The API's paths by a prefix test rather than a route of @koa/router, which matches every
  // route's pattern and decodes its parameters on each request (some 2% of a GET's CPU).
  app.use((ctx, next) => {
    const path = ctx.path;
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return next();
    return handle(ctx, {
      method: ctx.method,
      path,
      query: ctx.query as Record<string, string | string[]>,
      headers: ctx.headers as Record<string, string | string[]>,
    });
  });
  addDashboardRoutes(router);
  app.use(router.routes());
  app.use(async (ctx) => {
    throw new Problem(404, 'Not found', `no route ${ctx.method} ${ctx.path}; the API lives under ${basePath}`);
  });
  return { app, compileValidators: () => precompileRequestValidators(api) };
}
