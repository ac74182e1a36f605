import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { tempDir } from './helpers.js';

// jobsctl as a global tool from a packed tarball: no root, no rebuild on install.

const run = promisify(execFile);
const version = (JSON.parse(await fs.readFile(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the package, packed and installed as a global tool', { timeout: 600_000 }, () => {
  let tmp: string | undefined;
  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('runs from the checkout as npx jobsctl, npm exec jobsctl and npm run jobsctl', async () => {
    for (const [cmd, args] of [
      ['npx', ['--no-install', 'jobsctl', '--version']],
      ['npm', ['exec', '--no', '--', 'jobsctl', '--version']],
      ['npm', ['run', '-s', 'jobsctl', '--', '--version']],
    ] as const) {
      const { stdout } = await run(cmd, [...args], { cwd: projectRoot });
      assert.equal(stdout.trim(), version, `${cmd} ${args.join(' ')}`);
    }
  });

  it('npm pack carries dist/; npm install -g of the tarball into a prefix gives a working jobsctl', async (t) => {
    // The tarball takes dist/ as built (npm ci builds it through prepare); --ignore-scripts
    // keeps this test from rebuilding it, which `npm pack` alone would do first.
    const built = await fs.stat(path.join(projectRoot, 'dist/src/cli/jobsctl.js')).catch(() => null);
    assert.ok(built, 'dist/ is built (npm ci or npm run build)');
    tmp = await tempDir('pack');
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'openapi.yaml',
      'dist/main.js',
      'dist/src/cli/jobsctl.js',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'default-jobs/self-check.yaml',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('bench/')), 'sources and tests stay out');

    const prefix = path.join(tmp, 'prefix');
    const started = Date.now();
    // --prefer-offline: the dependencies are in npm's cache since npm ci.
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, info.filename)], {
      cwd: tmp,
      maxBuffer: 64 * 1024 * 1024,
    });
    t.diagnostic(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const { stdout } = await run(path.join(prefix, 'bin', 'jobsctl'), ['--version']);
    assert.equal(stdout.trim(), version);
    const help = await run(path.join(prefix, 'bin', 'jobsctl'), ['--help']);
    assert.match(help.stdout, /service/);
  });
});
