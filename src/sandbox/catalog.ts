import { normalizeIssuer } from './metadata.ts';
import { DEFAULT_SANDBOX_SCOPES, SANDBOX_SCOPES, type SandboxScope } from './scopes.ts';

/** What the provider catalog needs to know about the sandbox; the catalog owner maps it onto its own shape. */
export interface SandboxCatalogEntry {
  slug: 'sandbox';
  name: string;
  description: string;
  issuer: string;
  authorization_url: string;
  token_url: string;
  revocation_url: string;
  token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'];
  pkce: true;
  scope_separator: ' ';
  scopes: { name: SandboxScope; description: string }[];
  default_scopes: SandboxScope[];
  /** Prefix for relayed API calls. */
  api: { base_url: string };
  /** How to learn who connected: `GET account_info.url`, then read the two fields from the JSON body. */
  account_info: {
    method: 'GET';
    url: string;
    path: '/api/user';
    id_field: 'id';
    display_name_field: 'login';
  };
}

export function sandboxCatalogEntry(issuer: string): SandboxCatalogEntry {
  const base = normalizeIssuer(issuer);
  return {
    slug: 'sandbox',
    name: 'Pipes Sandbox',
    description:
      'A built-in OAuth 2.0 provider with fake test accounts, for trying Pipes without a real provider.',
    issuer: base,
    authorization_url: `${base}/oauth/authorize`,
    token_url: `${base}/oauth/token`,
    revocation_url: `${base}/oauth/revoke`,
    token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'],
    pkce: true,
    scope_separator: ' ',
    scopes: (Object.entries(SANDBOX_SCOPES) as [SandboxScope, string][]).map(([name, description]) => ({
      name,
      description,
    })),
    default_scopes: [...DEFAULT_SANDBOX_SCOPES],
    api: { base_url: `${base}/api` },
    account_info: {
      method: 'GET',
      url: `${base}/api/user`,
      path: '/api/user',
      id_field: 'id',
      display_name_field: 'login',
    },
  };
}
