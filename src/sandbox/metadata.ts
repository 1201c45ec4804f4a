import { PipesError } from '../errors.ts';
import { SANDBOX_SCOPES } from './scopes.ts';

/** RFC 8414 authorization server metadata, limited to what the sandbox implements. */
export interface SandboxServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint: string;
  scopes_supported: string[];
  response_types_supported: ['code'];
  response_modes_supported: ['query'];
  grant_types_supported: ['authorization_code', 'refresh_token'];
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'];
  revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'];
  code_challenge_methods_supported: ['S256'];
  authorization_response_iss_parameter_supported: true;
}

/** Trims trailing slashes and rejects what cannot be an RFC 8414 issuer (no query, no fragment, http(s) only). */
export function normalizeIssuer(issuer: string): string {
  const trimmed = issuer.replace(/\/+$/, '');
  const url = URL.canParse(trimmed) ? new URL(trimmed) : undefined;
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== '' ||
    trimmed.includes('?') ||
    trimmed.includes('#')
  ) {
    throw new PipesError(
      'sandbox_invalid_issuer',
      'The sandbox issuer must be an absolute http(s) URL without query or fragment.',
      { status: 500 },
    );
  }
  return trimmed;
}

export function buildMetadata(issuer: string): SandboxServerMetadata {
  const methods: ['client_secret_basic', 'client_secret_post'] = [
    'client_secret_basic',
    'client_secret_post',
  ];
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    scopes_supported: Object.keys(SANDBOX_SCOPES),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_methods_supported: [...methods],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  };
}

/**
 * Where RFC 8414 §3.1 puts the metadata of an issuer with a path: `/.well-known/oauth-authorization-server` is
 * inserted *before* the path, at the origin's root (`…/.well-known/oauth-authorization-server/sandbox`). That is
 * outside the sandbox's mount, so the host must route it; oauth4webapi's `discoveryRequest` looks there.
 */
export function rfc8414WellKnownPath(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return `/.well-known/oauth-authorization-server${path}`;
}
