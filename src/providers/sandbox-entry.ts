import { sandboxCatalogEntry } from '../sandbox/catalog.ts';
import type { ProviderEntry } from './catalog-schema.ts';

/** A neutral icon that needs no network: the sandbox must work offline. */
const SANDBOX_ICON =
  'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"%3E%3Crect width="16" height="16" rx="3" fill="%231d1d1f"/%3E%3Cpath d="M4 8h8M8 4v8" stroke="%23fff" stroke-width="2"/%3E%3C/svg%3E';

/**
 * The built-in sandbox provider as a catalog entry (slug `sandbox`). It is built in code at start rather than read
 * from `providers/*.json` because its URLs depend on `PIPES_PUBLIC_URL` (and are plain http in development, which
 * the JSON schema rightly refuses for real providers).
 */
export function sandboxProviderEntry(issuer: string): ProviderEntry {
  const sandbox = sandboxCatalogEntry(issuer);
  return {
    slug: 'sandbox',
    name: sandbox.name,
    description: sandbox.description,
    icon_url: SANDBOX_ICON,
    docs_url: `${sandbox.issuer}/.well-known/oauth-authorization-server`,
    categories: ['developer-tools'],
    auth_methods: ['oauth'],
    oauth: {
      authorization_url: sandbox.authorization_url,
      token_url: sandbox.token_url,
      revocation_url: sandbox.revocation_url,
      issuer: sandbox.issuer,
      default_scopes: [...sandbox.default_scopes],
      scopes: sandbox.scopes.map((scope) => ({ name: scope.name, description: scope.description })),
      scope_separator: sandbox.scope_separator,
      scope_param: 'scope',
      pkce: sandbox.pkce,
      authorization_params: {},
      token_headers: {},
      client_auth: 'basic',
      token_body_content_type: 'application/x-www-form-urlencoded',
      refresh_token_rotation: true,
      callback_metadata_fields: [],
      token_response: { expiry: 'expires_in', metadata_fields: [], errors_with_200: false },
    },
    connect_config: [],
    api: {
      base_url: sandbox.api.base_url,
      auth_style: 'bearer',
      extra_headers: {},
      allowed_origins: [],
      rate_limit: {
        retry_after_header: 'retry-after',
        reset_header: 'x-ratelimit-reset',
        remaining_header: 'x-ratelimit-remaining',
        limit_header: 'x-ratelimit-limit',
        reset_unit: 'epoch_seconds',
      },
    },
    account: {
      source: 'userinfo',
      url: sandbox.account_info.url,
      method: 'GET',
      id_path: sandbox.account_info.id_field,
      display_name_path: sandbox.account_info.display_name_field,
      metadata_fields: [],
    },
    metadata_to_config: {},
    notes:
      'Built into Pipes: fake accounts (ada, grace, alan), PKCE S256 and state required, RFC 9207 iss on every ' +
      'authorization response, rotating refresh tokens. Shared credentials are built in for sandbox environments.',
  };
}
