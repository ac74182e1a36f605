import type { OpenAPIRouter, Operation, ParsedRequest, Request } from 'openapi-backend';
import { Problem } from '../operations/problem.js';

interface Route {
  operation: Operation;
  method: string;
  /** Matches the path relative to the API root; one group per path parameter, in order. */
  pattern: RegExp;
  names: string[];
  /** Length of the path without its parameters: the longer, the more specific. */
  specificity: number;
}

const nulReason = 'must not contain the NUL character (%00)';
const printable = (name: string) => name.replaceAll('\0', '%00');

const escapeRegExp = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compileRoute(operation: Operation): Route {
  const names: string[] = [];
  const source = operation.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (!/^\{[^}]+\}$/.test(part)) return escapeRegExp(part);
      names.push(part.slice(1, -1));
      return '([^/]+)';
    })
    .join('');
  return { operation, method: operation.method, pattern: new RegExp(`^${source}$`), names, specificity: operation.path.replace(/\{.*?\}/g, '').length };
}

/** The request features openapi-backend's own parser handles and this one does not: refused at boot. */
function unsupported(operations: Operation[]): string[] {
  const found: string[] = [];
  for (const op of operations) {
    for (const p of op.parameters ?? []) {
      if ('$ref' in p) continue;
      const where = `${op.method.toUpperCase()} ${op.path} parameter '${p.name}'`;
      if (p.in === 'cookie') found.push(`${where} is a cookie`);
      if (p.content) found.push(`${where} has content`);
      if (p.explode === false || p.style) found.push(`${where} has a style or explode`);
      if (p.in === 'query' && (p.schema as { type?: string } | undefined)?.type === 'array') found.push(`${where} is an array`);
    }
  }
  return found;
}

/**
 * Routing and request parsing for openapi-backend, compiled once from its operation list.
 *
 * openapi-backend's router rebuilds the operation list (lodash over the whole document) and a
 * RegExp per operation on every request, compiles the matched path template again to read its
 * parameters, and deep-clones headers and query three times per request: together more CPU
 * than the rest of a simple request. The document never changes after init, so the same rules
 * are applied here from tables built once: exact paths first, then templates by specificity;
 * 404 when no path matches, 405 when a path matches but no method does. The validators stay
 * openapi-backend's; app.ts runs the steps of a request itself.
 *
 * The parser covers what openapi.yaml uses (path and query parameters of plain types); a
 * document that needs more (cookies, styles, arrays in the query) is refused at boot.
 */
export function compileRouting(router: OpenAPIRouter): void {
  const operations = router.getOperations();
  const problems = unsupported(operations);
  if (problems.length) throw new Error(`the request parser does not handle: ${problems.join('; ')}`);

  const byId = new Map(operations.map((op) => [op.operationId, op]));
  const exact = new Map<string, Operation>();
  const routes: Route[] = [];
  const routeOf = new Map<Operation, Route>();
  for (const op of operations) {
    const route = compileRoute(op);
    routes.push(route);
    routeOf.set(op, route);
    if (!exact.has(`${op.method} ${op.path}`)) exact.set(`${op.method} ${op.path}`, op);
  }
  // Stable: operations of equal specificity keep the document's order, as openapi-backend's orderBy does.
  routes.sort((a, b) => b.specificity - a.specificity);

  const root = router.apiRoot.replace(/\/$/, '');
  // At the API root or below it, on a segment boundary (`/api/v10` is not under `/api/v1`).
  const underRoot = (path: string) => root === '' || path === root || path.startsWith(`${root}/`);
  const normalize = (req: Request) => {
    let path = req.path?.trim() || '';
    if (!path.startsWith('/')) path = `/${path}`;
    const q = path.indexOf('?');
    if (q >= 0) path = path.slice(0, q);
    return { path, method: req.method.trim().toLowerCase() };
  };

  router.getOperations = () => operations;
  router.getOperation = (operationId: string) => byId.get(operationId);

  router.matchOperation = ((req: Request, strict?: boolean) => {
    const { path, method } = normalize(req);
    if (!underRoot(path)) {
      if (strict) throw Error('404-notFound: no route matches request');
      return undefined;
    }
    const relative = router.normalizePath(path);
    const hit = exact.get(`${method} ${relative}`);
    if (hit) return hit;
    let pathMatched = false;
    for (const route of routes) {
      if (!route.pattern.test(relative)) continue;
      pathMatched = true;
      if (route.method === method) return route.operation;
    }
    if (!strict) return undefined;
    throw Error(pathMatched ? '405-methodNotAllowed: this method is not registered for the route' : '404-notFound: no route matches request');
  }) as OpenAPIRouter['matchOperation'];

  const original = router.parseRequest.bind(router);
  router.parseRequest = (req: Request, operation?: Operation): ParsedRequest => {
    if (req.query !== undefined && (typeof req.query !== 'object' || req.query === null)) return original(req, operation);
    let requestBody = req.body;
    if (req.body && typeof req.body !== 'object') {
      try {
        requestBody = JSON.parse(String(req.body));
      } catch {
        // left as it is: validation reports it
      }
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const query: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(req.query ?? {})) query[k] = Array.isArray(v) ? [...v] : v;
    // PostgreSQL text cannot hold NUL: a %00 in a query value is the caller's error, not the database's.
    for (const [k, v] of Object.entries(query)) {
      if ((Array.isArray(v) ? v : [v]).some((x) => typeof x === 'string' && x.includes('\0'))) throw Problem.invalid([{ field: `query.${printable(k)}`, reason: nulReason }]);
    }
    const { path, method } = normalize(req);
    const params: Record<string, string> = {};
    const route = operation && routeOf.get(byId.get(operation.operationId) ?? operation);
    if (route) {
      const m = route.pattern.exec(router.normalizePath(path));
      if (m) {
        route.names.forEach((name, i) => {
          try {
            params[name] = decodeURIComponent(m[i + 1]);
          } catch {
            throw Problem.invalid([{ field: `path.${name}`, reason: 'is not valid percent-encoding' }]);
          }
          if (params[name].includes('\0')) throw Problem.invalid([{ field: `path.${name}`, reason: nulReason }]);
        });
      }
    }
    return { ...req, path, method, params, headers, query, cookies: {}, requestBody } as ParsedRequest;
  };
}
