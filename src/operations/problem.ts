/**
 * An error that is the caller's to fix or to know about, carried up to HTTP as an
 * application/problem+json body. Anything else that escapes is a 500.
 */
export interface FieldError {
  /** Where the bad value is: `body.kwargs.url`, `query.when`, `path.job_id`. */
  field: string;
  reason: string;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'Problem';
  }

  static invalid(errors: FieldError[], detail?: string): Problem {
    return new Problem(400, 'Invalid request', detail ?? errors.map((e) => `${e.field}: ${e.reason}`).join('; '), errors);
  }
}
