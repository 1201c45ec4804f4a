import type { Context } from 'hono';
import type { z } from 'zod';
import { type FieldError, PipesError, validationFailed } from '../errors.ts';

/** Turns zod issues into WorkOS-style field errors. */
export function toFieldErrors(issues: z.core.$ZodIssue[]): FieldError[] {
  return issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    code: issue.code === 'unrecognized_keys' ? 'unknown_field' : issue.code,
    message: issue.message,
  }));
}

/**
 * Reads and validates a JSON body. A wrong content type is 415, malformed JSON 400, a valid JSON value of the
 * wrong shape 422 with one error per field. The size cap (413) is enforced before this by the body-limit middleware.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseJsonBody(c.req.header('content-type'), await c.req.text(), schema);
}

/** The checks of `readJson` on a body already read (the raw vending listener reads its own). */
export function parseJsonBody<S extends z.ZodType>(
  contentType: string | undefined,
  text: string,
  schema: S,
): z.infer<S> {
  const type = contentType ?? '';
  let value: unknown = {};
  if (text.length > 0 || type !== '') {
    if (!JSON_MEDIA_TYPE.test(type)) {
      throw new PipesError(
        'unsupported_media_type',
        'Send the request body as JSON with Content-Type: application/json.',
        { status: 415 },
      );
    }
    try {
      value = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw new PipesError('invalid_json', 'The request body is not valid JSON.', { status: 400 });
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationFailed(toFieldErrors(parsed.error.issues));
  return parsed.data;
}

const JSON_MEDIA_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;

/** Validates query parameters the same way. */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw validationFailed(toFieldErrors(parsed.error.issues));
  return parsed.data;
}
