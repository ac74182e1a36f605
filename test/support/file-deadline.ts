/**
 * Loaded into each test file's process by run.ts: a file whose process is still alive past
 * TEST_FILE_DEADLINE_SECONDS (default 300, stretched by the time scale) prints what keeps it
 * alive and exits with a failure. node's test runner waits for a file's process to end, so a
 * handle left open after its tests (a timer, a socket, a lock held on a connection) would
 * otherwise hold the whole run until CI gives up on it. The timer itself holds nothing open.
 */
import path from 'node:path';
import { scaled } from './time.js';

const seconds = Number(process.env.TEST_FILE_DEADLINE_SECONDS ?? 300);
const file = process.argv.find((a) => a.endsWith('.test.ts')) ?? 'a test file';

if (Number.isFinite(seconds) && seconds > 0) {
  const ms = scaled(seconds * 1000);
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    console.error(`# ${path.relative(process.cwd(), file)}: still running after ${ms} ms (TEST_FILE_DEADLINE_SECONDS); open: ${open.join(', ') || 'none'}`);
    process.exit(1);
  }, ms).unref();
}
