/** The errors the client throws: the service said no, it could not be reached, or a wait ran out. */

export interface FieldError {
  /** Where the bad value is: `body.kwargs.url`, `query.when`, `path.job_id`. */
  field: string;
  reason: string;
}

/** An `application/problem+json` body, as every error of the service carries. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

/** The service answered with an error status; `problem` is its problem+json body. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';

  constructor(
    readonly problem: Problem,
    /** The operationId that was called. */
    readonly operationId: string,
  ) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
  }

  get status(): number {
    return this.problem.status;
  }
  get title(): string {
    return this.problem.title;
  }
  get detail(): string {
    return this.problem.detail;
  }
  /** Every failing field with its reason; empty unless the input was invalid. */
  get errors(): FieldError[] {
    return this.problem.errors ?? [];
  }
}

/**
 * No answer from the service: nothing listens at the URL, the host is unknown, the connection
 * broke, or no answer came within the client's timeout.
 */
export class ServiceUnreachableError extends Error {
  override readonly name = 'ServiceUnreachableError';

  constructor(
    readonly baseUrl: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach jobs-service at ${baseUrl}: ${reason}`, options);
  }
}

/** A waitFor helper gave up before the run or batch finished; `last` is what it saw last. */
export class WaitTimeoutError<T> extends Error {
  override readonly name = 'WaitTimeoutError';

  constructor(
    what: string,
    readonly timeoutMs: number,
    readonly last: T,
  ) {
    super(`${what} did not finish within ${timeoutMs} ms`);
  }
}

/** The problem body of an error answer; a body that is not problem+json is described from the status. */
export function problemOf(response: Response, body: unknown): Problem {
  if (body && typeof body === 'object' && typeof (body as Problem).title === 'string') {
    const p = body as Partial<Problem>;
    return { ...p, title: p.title!, status: typeof p.status === 'number' ? p.status : response.status, detail: p.detail ?? '' };
  }
  const text = typeof body === 'string' ? body.trim().slice(0, 500) : '';
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status, detail: text || `the service answered ${response.status}` };
}

/** Why fetch failed, in words: undici puts the socket error (ECONNREFUSED, ENOTFOUND...) in `cause`. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.code && !cause.message.includes(cause.code) ? `${cause.code} ${cause.message}` : cause.message;
  return (err as Error).message ?? String(err);
}
