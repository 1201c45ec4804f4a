import type { SandboxRecords } from './records.ts';
import { equalsConstantTime, sha256 } from './secrets.ts';

/** A client application registered with the sandbox (in Pipes: the sandbox integration's credentials). */
export interface SandboxClientRegistration {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /**
   * Also accept redirect URIs matching this (anchored) pattern. Pipes registers its built-in shared client with
   * the pattern of its per-integration callback URLs (`…/data-integrations/sandbox/dik_…/callback`), which are
   * minted when an integration is created and so cannot be listed up front.
   */
  redirect_uri_pattern?: RegExp;
}

export type AuthorizeClientCheck = { ok: true } | { ok: false; title: string; message: string };

export type ClientAuthResult =
  | { ok: true; clientId: string }
  | { ok: false; error: 'invalid_client' | 'invalid_request'; description: string };

interface RegisteredClient {
  secretHash: string;
  redirectUris: ReadonlySet<string>;
  redirectUriPattern: RegExp | undefined;
}

/**
 * Who may use the sandbox.
 *
 * Registered clients are checked strictly: exact redirect URI, exact secret. With `acceptAnyClient`, an unknown
 * client_id is accepted too (so a newcomer can type anything into their integration settings): any absolute
 * http(s) redirect URI without a fragment is allowed for it, and its secret is pinned on first use (trust on first
 * use) at the token endpoint, after which a different secret is rejected. That mode cannot verify redirect URIs, so
 * it is for local development only.
 */
export class ClientRegistry {
  private readonly registered = new Map<string, RegisteredClient>();

  constructor(
    registrations: readonly SandboxClientRegistration[],
    private readonly acceptAnyClient: boolean,
    private readonly records: SandboxRecords,
  ) {
    for (const registration of registrations) {
      this.registered.set(registration.client_id, {
        secretHash: sha256(registration.client_secret),
        redirectUris: new Set(registration.redirect_uris),
        redirectUriPattern: registration.redirect_uri_pattern,
      });
    }
  }

  checkAuthorizeRequest(clientId: string, redirectUri: string): AuthorizeClientCheck {
    const client = this.registered.get(clientId);
    if (client !== undefined) {
      if (client.redirectUris.has(redirectUri)) return { ok: true };
      if (client.redirectUriPattern?.test(redirectUri) === true) return { ok: true };
      return {
        ok: false,
        title: 'Invalid redirect URI',
        message: 'The redirect_uri is not registered for this client.',
      };
    }
    if (!this.acceptAnyClient) {
      return { ok: false, title: 'Unknown client', message: 'No client is registered with this client_id.' };
    }
    if (!isAcceptableRedirectUri(redirectUri)) {
      return {
        ok: false,
        title: 'Invalid redirect URI',
        message: 'The redirect_uri must be an absolute http or https URL without a fragment.',
      };
    }
    return { ok: true };
  }

  /** RFC 6749 §2.3.1: HTTP Basic (client_secret_basic) or form fields (client_secret_post), never both. */
  async authenticate(authorization: string | undefined, form: URLSearchParams): Promise<ClientAuthResult> {
    const bodyId = form.get('client_id');
    const bodySecret = form.get('client_secret');
    let clientId: string;
    let secret: string;
    if (authorization !== undefined && /^basic /i.test(authorization)) {
      if (bodySecret !== null) {
        return {
          ok: false,
          error: 'invalid_request',
          description: 'Use only one client authentication method.',
        };
      }
      const decoded = decodeBasic(authorization.slice(6).trim());
      if (decoded === undefined) {
        return { ok: false, error: 'invalid_client', description: 'Malformed Basic credentials.' };
      }
      if (bodyId !== null && bodyId !== decoded.id) {
        return {
          ok: false,
          error: 'invalid_request',
          description: 'client_id does not match the credentials.',
        };
      }
      clientId = decoded.id;
      secret = decoded.secret;
    } else if (bodyId !== null && bodySecret !== null) {
      clientId = bodyId;
      secret = bodySecret;
    } else {
      return { ok: false, error: 'invalid_client', description: 'Client authentication is required.' };
    }
    if (clientId === '' || secret === '') {
      return { ok: false, error: 'invalid_client', description: 'Client authentication failed.' };
    }
    return (await this.verifySecret(clientId, secret))
      ? { ok: true, clientId }
      : { ok: false, error: 'invalid_client', description: 'Client authentication failed.' };
  }

  private async verifySecret(clientId: string, secret: string): Promise<boolean> {
    const presented = sha256(secret);
    const client = this.registered.get(clientId);
    if (client !== undefined) return equalsConstantTime(presented, client.secretHash);
    if (!this.acceptAnyClient) return false;
    const pinned = await this.records.pinnedClientSecretHash(clientId);
    if (pinned !== undefined) return equalsConstantTime(presented, pinned);
    await this.records.pinClientSecretHash(clientId, presented);
    return true;
  }
}

function isAcceptableRedirectUri(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === '' && !value.includes('#');
}

/** Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1), so `+` means a space. */
function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const decodePart = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: decodePart(text.slice(0, colon)), secret: decodePart(text.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
