/**
 * npm test, npm run test:unit, npm run test:integration: picks the test files and runs them
 * with node's test runner, each file in a process of its own, three at a time (every suite
 * has its own data folder or schema; the files wait on timers and on the database more than
 * they compute), under the summary reporter.
 *
 *   node --import tsx test/support/run.ts [unit|integration|all] [test files...]
 *
 * The files that took longest last time start first, so that the lanes end together.
 * TEST_CONCURRENCY sets how many files run at once (default 3); TEST_TIME_SCALE stretches
 * every wait in the tests (test/support/time.ts); a file's process still alive after
 * TEST_FILE_DEADLINE_SECONDS (default 300, stretched too) fails (test/support/file-deadline.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pgliteTemplate } from './pglite-template.js';
import summaryReporter, { isUnitFile, readFileTimes } from './summary-reporter.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [which = 'all', ...only] = process.argv.slice(2);
if (!['unit', 'integration', 'all'].includes(which)) {
  console.error(`usage: run.ts [unit|integration|all] [test files...]; not ${which}`);
  process.exit(2);
}

process.chdir(root);
const testFiles = (
  only.length > 0 ? only.map((f) => path.relative(root, path.resolve(f))) : fs.readdirSync('test', { recursive: true, encoding: 'utf8' }).map((f) => path.join('test', f))
)
  .map((f) => f.split(path.sep).join('/'))
  .filter((f) => f.endsWith('.test.ts'));
const files = testFiles.filter((f) => (which === 'all' ? true : (which === 'unit') === isUnitFile(f)));
if (files.length === 0) {
  console.error(`no ${which} test files`);
  process.exit(1);
}
// Longest first (times of the last run here, else of test/support/file-times.json; a file never
// timed counts as long).
const lastTimes = readFileTimes(root);
files.sort((a, b) => (lastTimes[b] ?? Infinity) - (lastTimes[a] ?? Infinity) || a.localeCompare(b));

// The embedded store's template, made once here rather than by the first files at once.
if (files.some((f) => !isUnitFile(f))) await pgliteTemplate();

// Each file's process inherits this one's `--import tsx`, and runs WebAssembly in V8's
// baseline tier only: every suite opens PGlite anew, and compiling its hot functions again in
// the optimising tier cost each process more CPU than it saved (a fifth of the user time of
// the files that use it), and hundreds of MB of memory at a moment no test chose. Each also
// loads file-deadline.ts: a process that outlives its deadline fails instead of holding the run.
const stream = run({
  files: files.map((f) => path.join(root, f)),
  concurrency: Number(process.env.TEST_CONCURRENCY ?? 3),
  execArgv: [...process.execArgv, '--liftoff-only', '--import', path.join(root, 'test/support/file-deadline.ts')],
});
// Any failure, a file that did not load among them, fails the run.
stream.on('test:fail', (data) => {
  if (data.todo === undefined) process.exitCode = 1;
});
stream.on('test:summary', (data) => {
  if (data.file === undefined && !data.success) process.exitCode = 1;
});
stream.compose(summaryReporter).pipe(process.stdout);
