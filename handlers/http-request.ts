import { defineHandler, type Kwargs } from '../src/handlers/index.js';
import { NoAnswerError, outboundPolicy, outboundRequest, PolicyError } from './_outbound.js';

interface HttpRequestKwargs extends Kwargs {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  expected_status?: number | number[];
  /** Seconds to wait for the answer. */
  request_timeout?: number;
  /** Deprecated name of request_timeout, still accepted. */
  timeout?: number;
  /** Log the start of the answer's body in the output. */
  capture_body?: boolean;
}

/*
 * Besides the outbound policy (handlers/_outbound.ts), read at every call:
 *   JOBS_OUTBOUND_MAX_BYTES      body bytes read at most; the rest is not read; default 1048576
 *   JOBS_OUTBOUND_CAPTURE_BYTES  body bytes logged with capture_body; default 2000
 *   JOBS_OUTBOUND_MAX_REDIRECTS  redirects followed at most; default 10
 */
function setting(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  const n = raw ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

class TimeoutError extends Error {}

/** Sends one HTTP request; a status other than the expected one fails the run. */
export default defineHandler<HttpRequestKwargs>({
  name: 'http-request',
  description:
    'Sends an HTTP request under the outbound policy (JOBS_OUTBOUND_*); any status but expected_status (default: any 2xx) fails the run. ' +
    'The body is read up to JOBS_OUTBOUND_MAX_BYTES and logged only with capture_body.',
  kwargsSchema: 'HttpRequestKwargs',
  async execute(kwargs, context) {
    const method = kwargs.method ?? 'GET';
    const timeout = (kwargs.request_timeout ?? kwargs.timeout ?? 30) * 1000;
    const headers: Record<string, string> = { ...(kwargs.headers ?? {}) };
    // The attempt's key and token (README, at-least-once), over any of the same name in kwargs.
    for (const h of Object.keys(headers)) if (/^(idempotency-key|x-jobs-fencing-token)$/i.test(h)) delete headers[h];
    headers['Idempotency-Key'] = context.idempotencyKey;
    headers['X-Jobs-Fencing-Token'] = String(context.fencingToken);
    let body: string | undefined;
    if (kwargs.body !== undefined) {
      if (typeof kwargs.body === 'string') body = kwargs.body;
      else {
        body = JSON.stringify(kwargs.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      }
    }
    const policy = outboundPolicy();
    // The timer is held here for the whole request (AbortSignal.timeout inside AbortSignal.any
    // can be collected with its timer, and then never fires).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError()), timeout);
    const onAbort = () => controller.abort(context.signal.reason);
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener('abort', onAbort, { once: true });
    const started = Date.now();
    const capture = kwargs.capture_body === true;
    const maxBytes = setting('JOBS_OUTBOUND_MAX_BYTES', 1024 * 1024);
    try {
      const res = await outboundRequest({
        url: kwargs.url,
        method,
        headers,
        body,
        signal: controller.signal,
        policy,
        maxBytes,
        keepBytes: capture ? setting('JOBS_OUTBOUND_CAPTURE_BYTES', 2000) : 0,
        maxRedirects: setting('JOBS_OUTBOUND_MAX_REDIRECTS', 10),
      });
      const via = res.redirects ? ` (after ${res.redirects} redirect${res.redirects > 1 ? 's' : ''}, from ${res.url})` : '';
      context.log.info(
        `${method} ${kwargs.url} -> ${res.status} in ${Date.now() - started} ms${via}, ${res.bytes} bytes${res.cut ? ` read, the rest not (JOBS_OUTBOUND_MAX_BYTES=${maxBytes})` : ''}`,
      );
      if (capture && res.kept.length) context.log.info(res.kept.toString('utf8'));
      const expected = kwargs.expected_status;
      const ok = expected === undefined ? res.status >= 200 && res.status < 300 : (Array.isArray(expected) ? expected : [expected]).includes(res.status);
      if (!ok) {
        throw new Error(`${method} ${kwargs.url} answered ${res.status}, expected ${expected === undefined ? 'a 2xx status' : JSON.stringify(expected)}`);
      }
    } catch (err) {
      // The messages say what happened; a cause would be repeated in the run's recorded error.
      /* eslint-disable preserve-caught-error */
      if (err instanceof TimeoutError || (controller.signal.aborted && controller.signal.reason instanceof TimeoutError)) {
        throw new Error(`${method} ${kwargs.url}: no answer within ${timeout / 1000} s`);
      }
      if (err instanceof PolicyError) throw new Error(`${method} ${kwargs.url}: refused by the outbound policy: ${err.message}`);
      if (err instanceof NoAnswerError) throw new Error(`${method} ${kwargs.url}: ${err.message}`);
      if (controller.signal.aborted) {
        const why = controller.signal.reason instanceof Error ? controller.signal.reason.message : String(controller.signal.reason);
        throw new Error(`${method} ${kwargs.url}: stopped${why ? ` (${why})` : ''}`);
      }
      /* eslint-enable preserve-caught-error */
      throw err;
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', onAbort);
    }
  },
});
