/**
 * Typed errors with stable codes.
 *
 * Every error Pipes raises on purpose is a `PipesError`: it carries a stable string `code` (documented in
 * docs/errors.md), the HTTP `status` the API answers with, and an optional list of field errors. The API's error
 * handler turns it into the WorkOS error shape `{ message, code, errors? }`. Anything that is not a `PipesError`
 * is a bug and becomes a 500 with a generic message: internal details never reach the caller.
 */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export interface PipesErrorOptions {
  status?: number;
  errors?: FieldError[];
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class PipesError extends Error {
  readonly code: string;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: string, message: string, options: PipesErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipesError';
    this.code = code;
    this.status = options.status ?? 400;
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export const notFound = (what: string, code = 'not_found'): PipesError =>
  new PipesError(code, `${what} not found.`, { status: 404 });

export const validationFailed = (errors: FieldError[]): PipesError =>
  new PipesError('invalid_request_parameters', 'Validation failed.', { status: 422, errors });
