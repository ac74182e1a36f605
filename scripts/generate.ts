/**
 * Rewrites every file generated from openapi.yaml. `--check` writes nothing and exits 1
 * when a committed file differs from what would be generated (the test suite runs it).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { loadOpenApi, openApiPath, operationsOf, type OpenApiDocument, type OpenApiOperation } from '../src/contract/openapi.js';
import { projectRoot } from '../src/config/config.js';

const header = '// Generated from openapi.yaml by `npm run generate`. Do not edit.\n\n';

export async function generatedFiles(): Promise<Record<string, string>> {
  const { doc } = loadOpenApi(openApiPath);
  const ast = await openapiTS(doc as never, { alphabetize: false, exportType: true, defaultNonNullable: false });
  return {
    'src/generated/openapi.ts': header + astToString(ast),
    'src/generated/operations.ts': header + operationsModule(doc),
  };
}

/**
 * The method and path of every operationId, and the operationId of every `x-handler` route:
 * the client calls operations by id with these (the types alone carry no values).
 */
/**
 * How openapi-fetch should read an operation's success body: JSON unless every 2xx answer is
 * of another media type (text for text and YAML, a Blob for anything else).
 */
function parseAsOf(doc: OpenApiDocument, op: OpenApiOperation): 'text' | 'blob' | undefined {
  const responses = (op.responses ?? {}) as Record<string, { $ref?: string; content?: Record<string, unknown> }>;
  const types: string[] = [];
  for (const [code, res] of Object.entries(responses)) {
    if (!code.startsWith('2')) continue;
    const resolved = res.$ref ? ((doc.components?.responses as Record<string, typeof res>)[res.$ref.split('/').pop()!] ?? res) : res;
    types.push(...Object.keys(resolved.content ?? {}));
  }
  if (types.length === 0 || types.includes('application/json')) return undefined;
  return types.every((t) => t.startsWith('text/') || t === 'application/yaml') ? 'text' : 'blob';
}

function operationsModule(doc: OpenApiDocument): string {
  const q = (s: string) => JSON.stringify(s);
  const routes = operationsOf(doc).filter((o) => o.op.operationId);
  const lines = [
    '/**',
    ' * The HTTP method and path (under the server URL) of every operation of openapi.yaml, and how',
    ' * to read its answer when it is not JSON.',
    ' */',
    'export const operationRoutes = {',
  ];
  for (const { method, path: p, op } of routes) {
    const parseAs = parseAsOf(doc, op);
    lines.push(`  ${q(op.operationId!)}: { method: ${q(method)}, path: ${q(p)}${parseAs ? `, parseAs: ${q(parseAs)}` : ''} },`);
  }
  lines.push('} as const;', '', "/** The route of each handler that has one of its own (`x-handler`), by the handler's name. */", 'export const handlerRoutes = {');
  for (const { op } of routes) if (op['x-handler']) lines.push(`  ${q(op['x-handler'])}: ${q(op.operationId!)},`);
  lines.push('} as const;', '');
  return lines.join('\n');
}

async function main() {
  const check = process.argv.includes('--check');
  const files = await generatedFiles();
  let stale = 0;
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(projectRoot, rel);
    const current = await fs.readFile(file, 'utf8').catch(() => null);
    if (current === content) continue;
    if (check) {
      console.error(`${rel} is stale: run npm run generate`);
      stale += 1;
    } else {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content);
      console.log(`wrote ${rel}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
