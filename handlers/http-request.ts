import { defineHandler, type Kwargs } from '../src/handlers/index.js';

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
}

/** Sends one HTTP request; a status other than the expected one fails the run. */
export default defineHandler<HttpRequestKwargs>({
  name: 'http-request',
  description: 'Sends an HTTP request; any status but expected_status (default: any 2xx) fails the run.',
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
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(timeout)]);
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(kwargs.url, { method, headers, body, signal, redirect: 'follow' });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') throw new Error(`${method} ${kwargs.url}: no answer within ${timeout / 1000} s`, { cause: err });
      // The message carries fetch's error and its cause already; as a cause too, the log's
      // error would say both twice and differ from the run's recorded error.
      // eslint-disable-next-line preserve-caught-error -- the cause is in the message
      throw new Error(`${method} ${kwargs.url}: ${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`);
    }
    const text = await response.text();
    context.log.info(`${method} ${kwargs.url} -> ${response.status} in ${Date.now() - started} ms`);
    if (text) context.log.info(text.length > 2000 ? `${text.slice(0, 2000)}... (${text.length} bytes)` : text);
    const expected = kwargs.expected_status;
    const ok = expected === undefined ? response.status >= 200 && response.status < 300 : (Array.isArray(expected) ? expected : [expected]).includes(response.status);
    if (!ok) {
      throw new Error(`${method} ${kwargs.url} answered ${response.status}, expected ${expected === undefined ? 'a 2xx status' : JSON.stringify(expected)}`);
    }
  },
});
