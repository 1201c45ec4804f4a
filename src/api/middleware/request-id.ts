import type { MiddlewareHandler } from 'hono';
import { newId } from '../../lib/ids.ts';
import type { ApiEnv } from '../env.ts';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-ID` when it is sane (echoed back and logged), otherwise undefined. */
export function callerRequestId(incoming: string | string[] | undefined): string | undefined {
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : undefined;
}

/**
 * Every response carries `X-Request-ID`: the caller's own value when it is sane, otherwise a fresh `req_…`. The
 * WorkOS SDK copies it into every exception it raises, so support can find the request in the logs.
 */
export function requestId(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const id = callerRequestId(c.req.header('x-request-id')) ?? newId('request');
    c.set('requestId', id);
    c.header('X-Request-ID', id);
    await next();
    // Error responses are built later by onError; make sure they carry the id too.
    c.res.headers.set('X-Request-ID', id);
  };
}
