/**
 * A node:test reporter: the spec reporter's output, then a summary that says for each store
 * (embedded, postgres, mongodb) and each leg (unit, multi-process, UI end-to-end) whether it
 * ran, with its counts, or was skipped and why; then the slowest files; then one closing line,
 * `N passed, N failed[, N skipped]`. Node's own closing counts are left out: they count a
 * skipped suite as nothing at all, so a run whose PostgreSQL leg did not run read as all passed.
 *
 * A test belongs to the leg of its file (unit, multi-process, UI) or else to the store that
 * the innermost suite around it names ("... on postgres", "into PostgreSQL", "on MongoDB");
 * suites that name no store run on the embedded one or on none.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EventData } from 'node:test';
import { spec, type TestEvent } from 'node:test/reporters';

// Node loads a reporter before any --import hook, by its own type stripping: this file
// imports nothing of the project.

/** The test files that need no database and no server: `npm run test:unit`. */
export const unitFiles = ['test/timespec.test.ts', 'test/timestamps.test.ts', 'test/iso-time.test.ts'];
/** Whether a test file (relative to the project, with /) is a unit test file. */
export const isUnitFile = (file: string) => unitFiles.includes(file) || file.startsWith('test/unit/');

/** Where each file's time of the last run is kept, for the runner to start the longest first. */
const timesFile = (root: string) => path.join(root, 'node_modules', '.cache', 'jobs-service', 'test-times.json');

/**
 * The times of a full run with every leg, kept with the tests: a fresh clone (CI) has no run of
 * its own, and in name order its longest file started last, after the others had ended.
 */
const keptTimesFile = (root: string) => path.join(root, 'test', 'support', 'file-times.json');

const readTimes = (file: string): Record<string, number> => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
};

/** The seconds each test file took in the last run here, else in the kept run, by its path under the project. */
export function readFileTimes(root: string): Record<string, number> {
  return { ...readTimes(keptTimesFile(root)), ...readTimes(timesFile(root)) };
}

function writeFileTimes(root: string, times: Record<string, number>) {
  try {
    fs.mkdirSync(path.dirname(timesFile(root)), { recursive: true });
    fs.writeFileSync(timesFile(root), JSON.stringify({ ...readTimes(timesFile(root)), ...times }, null, 1));
  } catch {
    // Only an order hint: a read-only tree runs the files in name order.
  }
}

type Leg = 'unit' | 'embedded' | 'postgres' | 'mongodb' | 'multi-process' | 'ui';

const legTitles: Record<Leg, string> = {
  unit: 'unit (no database)',
  embedded: 'embedded (and suites without a store)',
  postgres: 'postgres',
  mongodb: 'mongodb',
  'multi-process': 'multi-process (PostgreSQL)',
  ui: 'UI end-to-end (Chromium)',
};

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  reasons: Set<string>;
}

const relative = (file: string | undefined) => (file ? path.relative(process.cwd(), file).split(path.sep).join('/') : '');

function legOfFile(file: string): Leg | undefined {
  if (isUnitFile(file)) return 'unit';
  if (file === 'test/multiprocess.test.ts') return 'multi-process';
  if (file.endsWith('.e2e.test.ts')) return 'ui';
  return undefined;
}

function storeOfSuite(name: string): Leg | undefined {
  if (/\bon postgres\b|PostgreSQL/i.test(name)) return 'postgres';
  if (/\bon mongodb\b|MongoDB/i.test(name)) return 'mongodb';
  if (/\bembedded\b/i.test(name)) return 'embedded';
  return undefined;
}

type Ended = EventData.TestPass | EventData.TestFail;

export default async function* summaryReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string, void> {
  const started = Date.now();
  const tallies = new Map<Leg, Tally>();
  const fileTimes = new Map<string, number>();
  // Lineage by test id. An event's `file` is where its test was declared (a helper or a shared
  // suite module as well as the test file), so it cannot tell files apart, and ids are unique
  // only within one file's process. But the runner reports the starts, passes and failures of
  // one file together, in order (only enqueues and completions of files that run at once
  // arrive mixed), and a suite starts before its tests: the latest start of an id is the one
  // of the file being reported.
  const tests = new Map<number, { name: string; parentId: number | undefined }>();
  // Node before 24 gives no test ids: then the names of the suites open around the test.
  const open: string[] = [];

  const legOf = (file: string, data: Ended): Leg => {
    const byFile = legOfFile(file);
    if (byFile) return byFile;
    if (data.testId === undefined) {
      const names = open.slice(0, data.details.type === 'suite' ? data.nesting + 1 : data.nesting);
      for (const name of names.reverse()) {
        const store = storeOfSuite(name);
        if (store) return store;
      }
      return 'embedded';
    }
    // The innermost suite that names a store; the event's own name counts when it is a suite.
    let at: { name: string; parentId: number | undefined } | undefined = data.details.type === 'suite' ? data : undefined;
    let parentId = data.details.type === 'suite' ? undefined : data.parentId;
    if (at) {
      const store = storeOfSuite(at.name);
      if (store) return store;
      parentId = at.parentId;
    }
    while (parentId !== undefined) {
      at = tests.get(parentId);
      if (!at) break;
      const store = storeOfSuite(at.name);
      if (store) return store;
      parentId = at.parentId;
    }
    return 'embedded';
  };
  const tally = (leg: Leg) => {
    let t = tallies.get(leg);
    if (!t) tallies.set(leg, (t = { passed: 0, failed: 0, skipped: 0, reasons: new Set() }));
    return t;
  };

  const out: string[] = [];
  const specOut = spec();
  specOut.on('data', (chunk: Buffer | string) => out.push(String(chunk)));

  for await (const event of source) {
    const data = event.data as Partial<EventData.TestStart> | undefined;
    const file = relative(data?.file);
    // The runner reports each file as a test of its own, named by its path, whose duration is
    // that of the file's process. (Events of files that ran at once arrive one file after the
    // other, so their arrival times tell nothing.)
    if (event.type === 'test:complete' && file && event.data.nesting === 0 && path.resolve(event.data.name) === event.data.file) {
      fileTimes.set(file, event.data.details.duration_ms);
    }
    if (event.type === 'test:start' && data?.name !== undefined && data.nesting !== undefined) {
      open.length = data.nesting;
      open.push(data.name);
      if (data.testId !== undefined) tests.set(data.testId, { name: data.name, parentId: data.parentId });
    }
    if (event.type === 'test:pass' || event.type === 'test:fail') {
      const d = event.data;
      const leg = legOf(file, d);
      const isSuite = d.details.type === 'suite';
      if (d.skip !== undefined || d.todo !== undefined) {
        // A skipped suite stands for all its tests, which the runner never lists.
        const t = tally(leg);
        t.skipped++;
        const why = d.skip ?? d.todo;
        t.reasons.add(typeof why === 'string' && why !== '' ? why : d.todo !== undefined ? 'todo' : 'skipped');
      } else if (event.type === 'test:fail') {
        // A suite that failed only because tests in it failed is counted through those tests.
        const error = event.data.details.error as Error & { failureType?: string };
        if (!isSuite || error.failureType !== 'subtestsFailed') tally(leg).failed++;
      } else if (!isSuite) {
        tally(leg).passed++;
      }
    }
    // Node's closing counts (diagnostics of no file) are replaced by the summary below.
    const nodeTotals = event.type === 'test:diagnostic' && !event.data.file && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(event.data.message);
    if (!nodeTotals) specOut.write(event);
    while (out.length > 0) yield out.shift()!;
  }
  specOut.end();
  await new Promise<void>((resolve) => specOut.once('end', resolve).resume());
  while (out.length > 0) yield out.shift()!;

  const order: Leg[] = ['unit', 'embedded', 'postgres', 'mongodb', 'multi-process', 'ui'];
  const width = Math.max(...order.map((l) => legTitles[l].length));
  const lines = ['', 'summary by store and leg:'];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const leg of order) {
    const t = tallies.get(leg);
    if (!t) continue;
    passed += t.passed;
    failed += t.failed;
    skipped += t.skipped;
    const reasons = [...t.reasons].join('; ');
    const state =
      t.passed + t.failed === 0
        ? `skipped (${t.skipped} suite${t.skipped === 1 ? '' : 's'} or tests): ${reasons}`
        : `ran: ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped (${reasons})` : ''}`;
    lines.push(`  ${legTitles[leg].padEnd(width)}  ${state}`);
  }
  const slowest = [...fileTimes].sort((a, b) => b[1] - a[1]);
  writeFileTimes(process.cwd(), Object.fromEntries(slowest.map(([file, ms]) => [file, Math.round(ms / 100) / 10])));
  lines.push('slowest files (s, each in its own process):');
  for (const [file, ms] of slowest.slice(0, 10)) lines.push(`  ${(ms / 1000).toFixed(1).padStart(6)}  ${file}`);
  lines.push(`totals: ${passed} passed, ${failed} failed, ${skipped} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  lines.push(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  yield lines.join('\n') + '\n';
}
