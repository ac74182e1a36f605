/**
 * What the scheduling core refuses, in its own terms. Fields are named as the domain names
 * them (`job_id`, `periodically`, `cursor`, `kwargs.url`), never by where a request carried
 * them: whoever called the core knows that and names the place (src/operations/ maps these
 * errors to HTTP problems, the default jobs to a file and field).
 */

/** One bad input: the field in domain terms and why it was refused. */
export interface FieldError {
  field: string;
  reason: string;
}

/** The kinds of record the core looks up by id. */
export type Subject = 'job' | 'execution' | 'worker';

/** No record of that kind with that id. */
export class NotFoundError extends Error {
  constructor(
    readonly subject: Subject,
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The record is gone (deleted already, or never there) where the caller expected to remove it. */
export class GoneError extends Error {
  constructor(
    readonly subject: Subject,
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'GoneError';
  }
}

/** Why a request conflicts with the state of things. */
export type Conflict =
  /** A job with that job_id exists already. */
  | 'job-exists'
  /** The job forbids concurrent runs and one is active. */
  | 'run-in-progress'
  /** The run has a final status already. */
  | 'run-ended'
  /** The worker is gone and cannot change state. */
  | 'worker-gone'
  /** The job came from a default-jobs file: a change would be undone at the next boot unless it detaches the job. */
  | 'job-from-file';

/** The request is well formed but clashes with what is stored; `errors` names the fields at fault, if any. */
export class ConflictError extends Error {
  constructor(
    readonly conflict: Conflict,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** A change asked for a version of the job (If-Match) that is no longer its version. */
export class StaleVersionError extends Error {
  constructor(
    readonly jobId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`job '${jobId}' is at version ${actual}, not ${expected}: read it again and apply the change to that version`);
    this.name = 'StaleVersionError';
  }
}

/** Bad input: every failing field with its reason. */
export class InvalidError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.reason}`).join('; '));
    this.name = 'InvalidError';
  }
}

/** A request that would pass a quota on what is held (queued runs); `limit` names its setting. */
export class QuotaError extends Error {
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
    this.name = 'QuotaError';
  }
}

/** The caller's role is too small for a job's handler (or a handler its flow starts). */
export class RoleError extends Error {
  constructor(
    readonly handler: string,
    readonly need: 'read' | 'write' | 'admin',
    readonly via: string | null,
    readonly have: 'read' | 'write' | 'admin',
  ) {
    super(`jobs of handler '${handler}'${via ? ` (started by ${via})` : ''} need a token of role ${need} or above; token role ${have}`);
    this.name = 'RoleError';
  }
}
