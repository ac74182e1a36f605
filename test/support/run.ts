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
 * The files' temporary folders are on /dev/shm where it can hold them (see tmpfsFolder).
 */
import fs, { cpSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pgliteTemplate } from './pglite-template.js';
import { processExists } from './processes.js';
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
const template = files.some((f) => !isUnitFile(f)) ? await pgliteTemplate() : undefined;

// The files' temporary folders (every embedded data folder among them) go to a folder of this
// run's own on a RAM-backed tmpfs where the machine has one: the suites create and delete
// hundreds of data folders of a thousand files each, and on this machine's disk a copy of the
// template took 500 to 800 ms, mostly the kernel's, against 40 to 50 on tmpfs (the whole run:
// 120 s of system time against 71). PGlite and PostgreSQL work the same on either.
const runTmp = tmpfsFolder();
if (runTmp) {
  if (template) cpSync(template, path.join(runTmp, path.basename(template)), { recursive: true });
  process.env.TMPDIR = runTmp;
  process.on('exit', () => {
    try {
      fs.rmSync(runTmp, { recursive: true, force: true });
    } catch (err) {
      console.error(`could not remove ${runTmp}: ${(err as Error).message}`);
    }
  });
}

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

/**
 * A new folder under /dev/shm for this run's temporary files, when /dev/shm is a writable
 * tmpfs with 2 GB free (else null: the system's temporary folder is used). Folders of runs
 * whose process is gone are removed first (a run killed before its exit handler ran).
 */
function tmpfsFolder(): string | null {
  const base = '/dev/shm';
  try {
    const { bavail, bsize } = fs.statfsSync(base);
    if (bavail * bsize < 2 * 1024 ** 3) return null;
    for (const name of fs.readdirSync(base)) {
      const pid = /^jobs-service-tests-(\d+)-/.exec(name)?.[1];
      if (pid && !processExists(Number(pid))) fs.rmSync(path.join(base, name), { recursive: true, force: true });
    }
    const dir = fs.mkdtempSync(path.join(base, `jobs-service-tests-${process.pid}-`));
    // Open to every user, as /tmp is: the tests' private PostgreSQL servers run as postgres.
    fs.chmodSync(dir, 0o1777);
    return dir;
  } catch {
    return null;
  }
}
