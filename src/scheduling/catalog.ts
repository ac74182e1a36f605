import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { CatalogView, Handler } from '../handlers/types.js';
import type { OpenApiDocument } from '../contract/openapi.js';
import type { FieldError } from './errors.js';
import type { Kwargs } from '../store/types.js';
import { withMarkers } from './run/secrets.js';

export class CatalogError extends Error {}

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

/** An Ajv that knows the whole document as `openapi.json`, so schemas can be fetched by pointer. */
export function documentAjv(doc: OpenApiDocument): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, discriminator: false });
  addFormats.default(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  return ajv;
}
