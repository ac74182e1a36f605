/**
 * Rewrites every file generated from openapi.yaml. `--check` writes nothing and exits 1
 * when a committed file differs from what would be generated (the test suite runs it).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { loadOpenApi, openApiPath } from '../src/openapi.js';
import { projectRoot } from '../src/config.js';

const header = '// Generated from openapi.yaml by `npm run generate`. Do not edit.\n\n';

export async function generatedFiles(): Promise<Record<string, string>> {
  const { doc } = loadOpenApi(openApiPath);
  const ast = await openapiTS(doc as never, { alphabetize: false, exportType: true });
  return { 'src/generated/openapi.ts': header + astToString(ast) };
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
