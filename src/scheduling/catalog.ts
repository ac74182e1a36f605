import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { CatalogView, Handler } from '../handlers/types.js';
import type { OpenApiDocument } from '../contract/openapi.js';
import { allows, roles, type Role } from '../config/tokens.js';
import { RoleError, type FieldError } from './errors.js';
import type { Kwargs } from '../store/types.js';
import { withMarkers } from './run/secrets.js';

export class CatalogError extends Error {}

/**
 * What openapi.yaml declares on a handler's kwargs schema: the role needed to create, change
 * or run its jobs and to start it as a flow child (`x-role`, default write); the kwargs a run
 * may override (`x-run-overridable`, `'*'` for all; default none); for a flow, the field
 * naming the handler of its children and the field holding their kwargs (`x-children`).
 */
export interface HandlerPolicy {
  role: Role;
  overridable: readonly string[] | '*';
  children: { handler: string; kwargs: string } | null;
}

export interface CatalogEntry {
  name: string;
  description: string;
  kwargsSchema: string;
  steps: string[];
  schema: unknown;
}

/** Turns ajv errors into field errors, `at` being the name of the validated value (`kwargs`). */
export function fieldErrors(errors: ErrorObject[] | null | undefined, at: string): FieldError[] {
  return (errors ?? []).map((e) => {
    const pointer = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let field = [at, ...pointer].filter(Boolean).join('.');
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      field = `${field}.${(e.params as { additionalProperty: string }).additionalProperty}`;
      reason = 'is not a known field';
    } else if (e.keyword === 'required') {
      field = `${field}.${(e.params as { missingProperty: string }).missingProperty}`;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return { field, reason };
  });
}

/** The handlers this process knows, loaded by name from the handlers folder at boot. */
export class Catalog implements CatalogView {
  private readonly handlers = new Map<string, Handler>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly policies = new Map<string, HandlerPolicy>();

  private constructor(private readonly doc: OpenApiDocument) {}

  static async load(dir: string, doc: OpenApiDocument): Promise<Catalog> {
    const catalog = new Catalog(doc);
    let files: string[];
    try {
      files = await fs.readdir(dir);
    } catch (err) {
      throw new CatalogError(`handlers folder ${dir} cannot be read: ${(err as Error).message}`);
    }
    const modules = files.filter((f) => /\.(m?js|ts)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_')).sort();
    for (const file of modules) {
      const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: Handler };
      const handler = mod.default;
      const stem = file.replace(/\.(m?js|ts)$/, '');
      if (!handler || typeof handler !== 'object' || typeof handler.name !== 'string') {
        throw new CatalogError(`handler module ${file} has no default export of a handler`);
      }
      if (handler.name !== stem) throw new CatalogError(`handler module ${file} exports a handler named '${handler.name}'; name the file ${handler.name}${path.extname(file)}`);
      if (!handler.execute && !handler.steps?.length) throw new CatalogError(`handler ${handler.name} has neither execute() nor steps`);
      catalog.add(handler);
    }
    return catalog;
  }

  private add(handler: Handler) {
    const schema = this.doc.components?.schemas?.[handler.kwargsSchema];
    if (!schema) {
      throw new CatalogError(`handler ${handler.name} names kwargs schema '${handler.kwargsSchema}', which openapi.yaml lacks under components.schemas`);
    }
    this.handlers.set(handler.name, handler);
    const policy = policyOf(handler.name, handler.kwargsSchema, schema as Record<string, unknown>);
    const role = handler.role?.();
    if (role !== undefined) {
      if (!(roles as unknown[]).includes(role)) throw new CatalogError(`handler ${handler.name}: role() must answer read, write or admin, not '${String(role)}'`);
      policy.role = role;
    }
    this.policies.set(handler.name, policy);
  }

  /** The handler's declared role, overrides and children (see HandlerPolicy). */
  policy(name: string): HandlerPolicy {
    return this.policies.get(name) ?? { role: 'write', overridable: [], children: null };
  }

  /**
   * The role a job of `handler` with these kwargs needs: the handler's own and, for a flow,
   * its children's (followed through flows of flows). Throws RoleError when `have`
   * is smaller; null `have` (no checks: no tokens, JOBS_AUTH=off, default jobs) passes.
   */
  checkRole(handler: string, kwargs: unknown, have: Role | null) {
    if (have === null) return;
    const pending: Array<{ handler: string; kwargs: unknown; via: string | null }> = [{ handler, kwargs, via: null }];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (!this.handlers.has(next.handler)) continue;
      const policy = this.policy(next.handler);
      if (!allows(have, policy.role)) throw new RoleError(next.handler, policy.role, next.via, have);
      if (!policy.children || !next.kwargs || typeof next.kwargs !== 'object') continue;
      const k = next.kwargs as Record<string, unknown>;
      const child = k[policy.children.handler];
      const args = k[policy.children.kwargs];
      if (typeof child !== 'string') continue;
      const list = Array.isArray(args) ? args : [undefined];
      for (const a of list) {
        // The same handler with kwargs of no children of their own needs checking once.
        const key = `${child}\0${this.policy(child).children ? JSON.stringify(a) : ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        pending.push({ handler: child, kwargs: a, via: next.via ?? next.handler });
      }
    }
  }

  /** Field errors for run-time kwargs the handler does not let a run override. */
  checkOverrides(handler: string, overrides: Record<string, unknown>, at: string): FieldError[] {
    const allowed = this.policy(handler).overridable;
    if (allowed === '*') return [];
    return Object.keys(overrides)
      .filter((k) => !allowed.includes(k))
      .map((k) => ({
        field: `${at}.${k}`,
        reason: `cannot be overridden at run time; ${handler} lets a run override ${allowed.length ? allowed.join(', ') : 'none of its kwargs'}`,
      }));
  }

  /** Compiles kwargs validators against the document's schemas (shared Ajv, so $refs resolve). */
  compile(ajv: Ajv) {
    for (const handler of this.handlers.values()) {
      this.validators.set(handler.name, ajv.getSchema(`openapi.json#/components/schemas/${handler.kwargsSchema}`)!);
    }
  }

  has(name: string) {
    return this.handlers.has(name);
  }

  get(name: string): Handler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }

  stepsOf(name: string) {
    return this.handlers.get(name)?.steps?.map((s) => s.name);
  }

  entries(): CatalogEntry[] {
    return this.names().map((name) => {
      const h = this.handlers.get(name)!;
      return {
        name,
        description: h.description,
        kwargsSchema: h.kwargsSchema,
        steps: h.steps?.map((s) => s.name) ?? [],
        schema: this.doc.components!.schemas![h.kwargsSchema],
      };
    });
  }

  validateKwargs(name: string, kwargs: unknown, at: string): FieldError[] {
    const validate = this.validators.get(name);
    if (!validate) return [{ field: at, reason: `no handler named '${name}'` }];
    if (validate(kwargs)) {
      const handler = this.handlers.get(name)!;
      // Handlers check strings where a secret reference may stand: they see its marker.
      return handler.check ? handler.check(withMarkers(kwargs as Kwargs), this).map((e) => ({ field: `${at}.${e.field}`, reason: e.reason })) : [];
    }
    return fieldErrors(validate.errors, at);
  }
}

function policyOf(handler: string, schemaName: string, schema: Record<string, unknown>): HandlerPolicy {
  const where = `openapi.yaml components.schemas.${schemaName} (handler ${handler})`;
  const role = schema['x-role'] ?? 'write';
  if (!(roles as unknown[]).includes(role)) throw new CatalogError(`${where}: x-role must be read, write or admin`);
  const raw = schema['x-run-overridable'] ?? [];
  let overridable: HandlerPolicy['overridable'];
  if (Array.isArray(raw) && raw.length === 1 && raw[0] === '*') overridable = '*';
  else if (Array.isArray(raw) && raw.every((f) => typeof f === 'string')) overridable = raw as string[];
  else throw new CatalogError(`${where}: x-run-overridable must be a list of kwargs names, or ['*']`);
  const c = schema['x-children'] as { handler?: unknown; kwargs?: unknown } | undefined;
  if (c !== undefined && (typeof c?.handler !== 'string' || typeof c.kwargs !== 'string')) {
    throw new CatalogError(`${where}: x-children must be {handler: <field>, kwargs: <field>}`);
  }
  return { role: role as Role, overridable, children: c ? { handler: c.handler as string, kwargs: c.kwargs as string } : null };
}

/** An Ajv that knows the whole document as `openapi.json`, so schemas can be fetched by pointer. */
export function documentAjv(doc: OpenApiDocument): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, discriminator: false });
  addFormats.default(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  return ajv;
}
