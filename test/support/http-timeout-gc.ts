/**
 * Runs the http-request handler once against a URL that never answers, with a full garbage
 * collection every 50 ms, and prints {error, ms} as JSON. Started by test/outbound.test.ts
 * under `node --expose-gc --import tsx`, on each Node runtime at hand.
 *
 *   node --expose-gc --import tsx test/support/http-timeout-gc.ts URL TIMEOUT_SECONDS
 */
import handler from '../../handlers/http-request.js';
import type { HandlerContext } from '../../src/handlers/types.js';

const [url, seconds] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const collector = setInterval(gc, 50);
const notUsed = (): never => {
  throw new Error('not used');
};
const context: HandlerContext = {
  executionId: 'gc-run',
  jobId: 'gc-job',
  idempotencyKey: 'gc-run',
  fencingToken: 1,
  signal: new AbortController().signal,
  log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  progress: async () => undefined,
  startChild: async () => notUsed(),
  records: { deleteExecutionsBefore: async () => notUsed(), deleteFailuresBefore: async () => notUsed() },
};
const t0 = Date.now();
let error = '';
try {
  await handler.execute!({ url, request_timeout: Number(seconds) }, context);
} catch (err) {
  error = (err as Error).message;
}
clearInterval(collector);
console.log(JSON.stringify({ error, ms: Date.now() - t0, node: process.version }));
process.exit(0);
