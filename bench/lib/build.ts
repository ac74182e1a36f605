/**
 * The bench measures the service as `npm start` runs it: compiled JavaScript in dist/, with
 * no TypeScript loader in the process (tsx adds tens of MB and slows every module load). The
 * bench's own children and handlers are compiled beside it (tsconfig.bench.json, incremental:
 * a second build with nothing changed takes a moment).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

const run = promisify(execFile);

export async function buildForBench(log: (line: string) => void) {
  const t0 = performance.now();
  const tsc = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: projectRoot, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`the build for the bench failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
  if (!fs.existsSync(path.join(projectRoot, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build (npm ci runs it)');
  log(`built dist/ for the bench in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * The node flags `npm start` runs the service with (package.json scripts.start), so every
 * jobs-service process of the bench runs as a deployment would.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node' || words[words.length - 1] !== 'dist/main.js') {
    throw new Error(`package.json scripts.start is not 'node [flags] dist/main.js': ${pkg.scripts.start}`);
  }
  return words.slice(1, -1);
}
