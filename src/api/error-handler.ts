import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PipesError } from '../errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ApiEnv } from './env.ts';

/** The WorkOS error body: `{ message, code?, errors? }`. Every non-2xx response has one, 401 included. */
export interface ErrorBody {
  message: string;
  code?: string;
  errors?: { field: string; code: string; message: string }[];
}

/** An error as the API shows it: status, WorkOS body, extra headers. Unexpected errors are logged, never shown. */
export interface ShownError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

export function showError(error: unknown, requestId: string, log: Logger): ShownError {
  if (error instanceof PipesError) {
    const body: ErrorBody = { message: error.message, code: error.code };
    if (error.errors) body.errors = error.errors;
    if (error.status >= 500) log.error({ err: error, requestId }, error.message);
    return { status: error.status, body, headers: error.headers ?? {} };
  }
  if (error instanceof HTTPException) {
    return {
      status: error.status,
      body: { message: error.message || 'Bad request.', code: 'bad_request' },
      headers: {},
    };
  }
  log.error({ err: error, requestId }, 'unhandled error');
  return {
    status: 500,
    body: {
      message: `Internal error. Quote request id ${requestId} when reporting it.`,
      code: 'server_error',
    },
    headers: {},
  };
}

export function errorResponse(
  c: Context<ApiEnv>,
  status: number,
  body: ErrorBody,
  headers?: Record<string, string>,
) {
  const response = c.json(body, status as ContentfulStatusCode);
  for (const [name, value] of Object.entries(headers ?? {})) response.headers.set(name, value);
  response.headers.set('X-Request-ID', c.get('requestId') ?? '');
  response.headers.set('Cache-Control', 'no-store');
  return response;
}

export function handleError(log: Logger) {
  return (error: Error, c: Context<ApiEnv>) => {
    const shown = showError(error, c.get('requestId') ?? '', log);
    return errorResponse(c, shown.status, shown.body, shown.headers);
  };
}

export function handleNotFound(c: Context<ApiEnv>) {
  return errorResponse(c, 404, {
    message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`,
    code: 'route_not_found',
  });
}
