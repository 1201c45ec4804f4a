/** Reads a dotted path (`authed_user.access_token`, `accounts.0.base_uri`) from parsed JSON; undefined if absent. */
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return undefined;
      current = current[Number(part)];
    } else {
      if (!Object.hasOwn(current, part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
  }
  return current;
}

/** A scalar as metadata text; objects, arrays and null are not metadata. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** Keys that name secrets in provider responses: dropped from anything kept or logged. */
const SECRET_KEY = /token|secret|password|code|key|assertion/i;
const KEPT_KEYS = new Set(['token_type']);

/**
 * A copy of a JSON value without any field whose name suggests a secret (`access_token`, `id_token`,
 * `refresh_token`, `client_secret`…), at any depth. Used for the identity hints of a token response.
 */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && !KEPT_KEYS.has(key)) continue;
    out[key] = withoutSecrets(child, depth + 1);
  }
  return out;
}
