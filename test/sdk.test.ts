/**
 * The handler SDK as a package of its own (`jobs-service/handlers`), and the layering of the
 * parts that ship outside the server: the SDK, the shipped handlers, the client SDK and
 * jobsctl import nothing of the server. Their import graphs are read from the sources.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { projectRoot } from '../src/config/config.js';

interface Graph {
  /** Every source file reached, relative to the project root. */
  files: Set<string>;
  /** Every package named by those files (`node:` builtins included). */
  packages: Set<string>;
}

/** The files and packages reachable from `entries` through imports, re-exports and dynamic imports. */
function importGraph(...entries: string[]): Graph {
  const graph: Graph = { files: new Set(), packages: new Set() };
  const todo = entries.map((e) => path.join(projectRoot, e));
  while (todo.length) {
    const file = todo.pop()!;
    const rel = path.relative(projectRoot, file);
    if (graph.files.has(rel)) continue;
    graph.files.add(rel);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName: spec } of importedFiles) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        assert.ok(fs.existsSync(target), `${rel} imports ${spec}, which is not a source file`);
        todo.push(target);
      } else {
        graph.packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return graph;
}

const isBuiltin = (p: string) => p.startsWith('node:') || builtinModules.includes(p);

/** Files of `graph` outside the folders `allowed`. */
function outside(graph: Graph, allowed: string[]): string[] {
  return [...graph.files].filter((f) => !allowed.some((dir) => f.startsWith(`${dir}/`)));
}

describe('import graphs', () => {
  it('are read from the sources: the scheduling core reaches the store', () => {
    // Proves the reader follows imports, so the empty answers below mean something.
    const core = importGraph('src/scheduling/core.ts');
    assert.ok(core.files.has(path.join('src', 'store', 'types.ts')), [...core.files].join(', '));
    assert.ok(core.packages.has('cron-parser'), [...core.packages].join(', '));
  });

  it('the handler SDK imports nothing but its own files and Node builtins', () => {
    const sdk = importGraph('src/handlers/index.ts');
    assert.ok(sdk.files.has(path.join('src', 'handlers', 'types.ts')));
    assert.ok(sdk.files.has(path.join('src', 'handlers', 'duration.ts')));
    assert.deepEqual(outside(sdk, ['src/handlers']), []);
    assert.deepEqual(
      [...sdk.packages].filter((p) => !isBuiltin(p)),
      [],
    );
  });

  it('the shipped handlers import the service only through the SDK entry point', () => {
    const dir = path.join(projectRoot, 'handlers');
    const modules = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    assert.ok(modules.length >= 5, modules.join(', '));
    for (const file of modules) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(projectRoot, path.resolve(dir, spec));
        const ok = target === path.join('src', 'handlers', 'index.js') || path.dirname(target) === 'handlers';
        assert.ok(ok, `handlers/${file} imports ${spec}: import the SDK from ../src/handlers/index.js`);
      }
      assert.deepEqual(outside(importGraph(`handlers/${file}`), ['handlers', 'src/handlers']), [], `handlers/${file}`);
    }
  });

  it('the client SDK imports only its own files, the generated contract and openapi-fetch', () => {
    const client = importGraph('src/client/index.ts');
    assert.ok(client.files.has(path.join('src', 'generated', 'operations.ts')));
    assert.deepEqual(outside(client, ['src/client', 'src/generated']), []);
    assert.deepEqual(
      [...client.packages].filter((p) => !isBuiltin(p)),
      ['openapi-fetch'],
    );
  });

  it('jobsctl imports only its own files, the client SDK and the generated contract', () => {
    const cli = importGraph('src/cli/jobsctl.ts');
    assert.ok(cli.files.has(path.join('src', 'client', 'index.ts')));
    assert.deepEqual(outside(cli, ['src/cli', 'src/client', 'src/generated']), []);
    assert.deepEqual([...cli.packages].filter((p) => !isBuiltin(p)).sort(), ['cli-progress', 'cli-table3', 'commander', 'openapi-fetch']);
  });
});

describe('jobs-service/handlers', () => {
  it('is exported by package.json from the build, with declarations', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.exports['./handlers'], { types: './dist/src/handlers/index.d.ts', default: './dist/src/handlers/index.js' });
    assert.ok(fs.existsSync(path.join(projectRoot, 'dist/src/handlers/index.d.ts')), 'npm ci builds dist/ (npm run build)');
  });

  it('loads by its package name (the build in dist/, which npm ci makes)', async () => {
    assert.equal(import.meta.resolve('jobs-service/handlers'), pathToFileURL(path.join(projectRoot, 'dist/src/handlers/index.js')).href);
    const sdk = (await import('jobs-service/handlers')) as typeof import('../src/handlers/index.js');
    const handler = sdk.defineHandler<{ note?: string }>({
      name: 'note',
      description: 'logs its note',
      kwargsSchema: 'EchoKwargs',
      async execute(kwargs, context) {
        context.log.info(kwargs.note ?? '');
      },
    });
    assert.equal(handler.name, 'note');
    assert.equal(typeof handler.execute, 'function');
    assert.equal(sdk.parseDuration('1 day, 2:00:00'), 26 * 3600);
    assert.equal(sdk.parseDuration('90'), 90);
    assert.throws(
      () => sdk.parseDuration('soon'),
      (err: unknown) => err instanceof sdk.DurationError && /^cannot read 'soon'/.test(err.reason) && err.message === err.reason,
    );
    assert.throws(
      () => sdk.parseDuration('0 seconds'),
      (err: unknown) => err instanceof sdk.DurationError && err.reason === "must be longer than zero, got '0 seconds'",
    );
  });
});
