import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 6749 §5.1: token responses and their errors must not be cached. */
export const NO_STORE_HEADERS: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** `{ error, error_description }` as RFC 6749 §5.2 (token, revocation) and RFC 6750 (resource API) describe it. */
export function oauthErrorResponse(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Response {
  return c.json({ error, error_description: description }, status, { ...NO_STORE_HEADERS, ...headers });
}

/** RFC 6749 §3.1/§3.2: a parameter sent more than once makes the request invalid. */
export function findRepeatedParameter(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** Reads an `application/x-www-form-urlencoded` body, or undefined when the request has another content type. */
export async function readFormBody(c: Context): Promise<URLSearchParams | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) return undefined;
  return new URLSearchParams(await c.req.text());
}
