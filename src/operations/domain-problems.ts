import {
  ConflictError,
  GoneError,
  InvalidError,
  NotFoundError,
  QuotaError,
  RoleError,
  StaleVersionError,
  type Conflict,
  type FieldError,
  type Subject,
} from '../scheduling/errors.js';
import { Problem } from './problem.js';

/**
 * The scheduling core's errors as HTTP problems. The core names fields in domain terms
 * (`job_id`, `kwargs.url`, `cursor`); the operation that read the request knows where each
 * sat and passes a `Locate` that turns the name into the request's (`body.kwargs.url`,
 * `query.cursor`, `path.job_id`).
 */
export type Locate = (field: string) => string;

const titles: Record<Subject, string> = { job: 'Job', execution: 'Execution', worker: 'Worker' };

const conflictTitles: Record<Conflict, string> = {
  'job-exists': 'Job exists',
  'run-in-progress': 'Run in progress',
  'run-ended': 'Run has ended',
  'worker-gone': 'Worker gone',
  'job-from-file': 'Job from a file',
};

/** Fields as the API names them: every field somewhere in the request. */
export const inBody: Locate = (f) => `body.${f}`;
export const inQuery: Locate = (f) => `query.${f}`;

/** The `x-handler` routes: the body is the kwargs, the query the scheduling options. */
export const onHandlerRoute: Locate = (f) => (f === 'kwargs' ? 'body' : f.startsWith('kwargs.') ? `body.${f.slice('kwargs.'.length)}` : `query.${f}`);

/** A field as is: for errors that carry none, or whose fields were located already. */
const asIs: Locate = (f) => f;

function located(errors: FieldError[], locate: Locate): FieldError[] {
  return errors.map((e) => ({ field: locate(e.field), reason: e.reason }));
}

/** The Problem for a domain error; anything else comes back unchanged. */
export function problemOf(err: unknown, locate: Locate = asIs): unknown {
  if (err instanceof InvalidError) return Problem.invalid(located(err.errors, locate));
  if (err instanceof NotFoundError) return new Problem(404, `${titles[err.subject]} not found`, err.message);
  if (err instanceof GoneError) return new Problem(410, `${titles[err.subject]} gone`, err.message);
  if (err instanceof QuotaError) return new Problem(429, 'Too many queued runs', err.message, undefined, { 'Retry-After': '60' });
  if (err instanceof ConflictError) {
    return new Problem(409, conflictTitles[err.conflict], err.message, err.errors.length ? located(err.errors, locate) : undefined);
  }
  if (err instanceof StaleVersionError) return new Problem(412, 'Version changed', err.message, undefined, { ETag: `"${err.actual}"` });
  if (err instanceof RoleError) {
    return new Problem(403, 'Forbidden', err.message, undefined, {
      'WWW-Authenticate': 'Bearer realm="jobs-service", error="insufficient_scope"',
    });
  }
  return err;
}

/** Runs a call of the core, turning its errors into Problems whose fields `locate` names. */
export async function locating<T>(locate: Locate, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw problemOf(err, locate);
  }
}
