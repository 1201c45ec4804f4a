export const SANDBOX_SCOPES = {
  profile: 'Read your name, login and e-mail address',
  'items:read': 'List your items',
  'items:write': 'Create items on your behalf',
  offline_access: 'Stay connected when you are away (issues a refresh token)',
} as const;

export type SandboxScope = keyof typeof SANDBOX_SCOPES;

export const DEFAULT_SANDBOX_SCOPES: readonly SandboxScope[] = ['profile', 'items:read', 'offline_access'];

/** Used when an authorization request carries no `scope` (RFC 6749 §3.3 lets the server pick a default). */
export const SCOPES_WHEN_OMITTED: readonly SandboxScope[] = ['profile'];

export function isSandboxScope(value: string): value is SandboxScope {
  return Object.hasOwn(SANDBOX_SCOPES, value);
}

export type ScopeParseResult = { ok: true; scopes: SandboxScope[] } | { ok: false };

/** Parses a space-delimited scope string, de-duplicated, in a stable order; any unknown scope fails the whole set. */
export function parseScopes(raw: string): ScopeParseResult {
  const parts = raw.split(' ').filter((part) => part !== '');
  if (parts.length === 0) return { ok: false };
  const wanted = new Set<string>();
  for (const part of parts) {
    if (!isSandboxScope(part)) return { ok: false };
    wanted.add(part);
  }
  const ordered = (Object.keys(SANDBOX_SCOPES) as SandboxScope[]).filter((scope) => wanted.has(scope));
  return { ok: true, scopes: ordered };
}

export function formatScopes(scopes: readonly SandboxScope[]): string {
  return scopes.join(' ');
}
