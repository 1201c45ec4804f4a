/**
 * Where an error appears, the fix appears beside it: error codes (integration status codes, connect-flow error
 * codes, refresh outcomes, reauthorization reasons, webhook disable reasons) mapped to one line saying what to do,
 * with a link to the dashboard page where it is done.
 */
export interface FixContext {
  providerName?: string | undefined;
  slug?: string | undefined;
  /** The integration's exact redirect URI, when known. */
  redirectUri?: string | undefined;
  userId?: string | null | undefined;
  missingScopes?: readonly string[] | undefined;
}

export interface Fix {
  text: string;
  href?: string;
  linkText?: string;
}

const providerPage = (slug: string | undefined) =>
  slug === undefined ? '/dashboard/providers' : `/dashboard/providers/${encodeURIComponent(slug)}`;

function reauthorize(context: FixContext, why: string): Fix {
  const who = context.userId ? `user ${context.userId}` : 'the owner';
  const slug = context.slug ?? '{slug}';
  return {
    text: `${why} Send ${who} through the connect flow again (POST /data-integrations/${slug}/authorize with the same owner): the new grant replaces this one and keeps the connection's id.`,
  };
}

export function fixFor(code: string | null | undefined, context: FixContext = {}): Fix | null {
  const name = context.providerName ?? 'the provider';
  const page = providerPage(context.slug);
  switch (code) {
    case null:
    case undefined:
      return null;
    case 'redirect_uri_mismatch':
      return {
        text: context.redirectUri
          ? `Register exactly ${context.redirectUri} as a redirect URI of your OAuth app at ${name}, then connect again.`
          : `Register the integration's redirect URI (shown on its provider page) at ${name}, then connect again.`,
        href: page,
        linkText: 'Open the provider',
      };
    case 'missing_scopes':
    case 'insufficient_scopes':
      return reauthorize(
        context,
        `The grant lacks ${context.missingScopes?.length ? context.missingScopes.join(', ') : 'scopes the integration now asks for'}.`,
      );
    case 'invalid_grant':
    case 'refresh_outcome_unknown':
    case 'needs_reauthorization':
      return reauthorize(context, `${name} no longer accepts this connection's refresh token.`);
    case 'token_expired':
      return reauthorize(context, `The access token expired and ${name} gave no refresh token to renew it.`);
    case 'token_revoked':
      return reauthorize(
        context,
        `${name} refused this connection's token, its identity endpoint too, and there is no refresh token to renew it: the user revoked access, or the token expired early.`,
      );
    case 'imported_without_tokens':
      return reauthorize(context, 'The connection was imported without usable tokens.');
    case 'set_by_api':
      return reauthorize(context, 'Your application marked this connection as needing reauthorization.');
    case 'credentials_missing':
      return {
        text: `Enter your OAuth app's client id and secret under Credentials (or choose shared credentials in a sandbox environment).`,
        href: `${page}#credentials`,
        linkText: 'Set credentials',
      };
    case 'shared_credentials_unavailable':
      return {
        text: `Shared credentials are for sandbox environments only (or this installation has none for ${name}). Register your own OAuth app at ${name}${context.redirectUri ? ` with the redirect URI ${context.redirectUri}` : ''} and choose custom credentials.`,
        href: `${page}#credentials`,
        linkText: 'Use custom credentials',
      };
    case 'data_integration_disabled':
      return { text: `Enable ${name} on its provider page.`, href: page, linkText: 'Open the provider' };
    case 'data_integration_not_found':
    case 'provider_not_configured':
      return {
        text: `${name} is not set up in this environment: add it on the Providers page and set its credentials.`,
        href: page,
        linkText: 'Set it up',
      };
    case 'provider_unavailable':
    case 'sandbox_provider_unavailable':
      return {
        text: 'This provider is not served by this installation (a removed catalog file, or the sandbox provider in a production environment or switched off with PIPES_SANDBOX_PROVIDER). Restore it or remove the integration.',
      };
    case 'invalid_client':
      return {
        text: `${name} refused the OAuth client: check the client id and secret under Credentials, and that the app is active at ${name}.`,
        href: `${page}#credentials`,
        linkText: 'Check credentials',
      };
    case 'invalid_scope':
      return {
        text: `${name} does not accept one of the requested scopes: fix the scopes under Credentials.`,
        href: `${page}#credentials`,
        linkText: 'Fix scopes',
      };
    case 'authorization_denied':
      return { text: 'The user declined at the provider. They can connect again whenever they choose.' };
    case 'authorization_code_exchange_error':
      return {
        text: `The code exchange with ${name} failed: check the client secret under Credentials; if it keeps happening, check ${name}'s status.`,
        href: `${page}#credentials`,
        linkText: 'Check credentials',
      };
    case 'transient':
    case 'failed':
    case 'malformed':
      return {
        text: `A temporary failure at ${name}: Pipes retries on its own after a cool-down, and the current token stays usable until it expires.`,
      };
    case 'unauthorized':
    case 'invalid_api_key':
      return {
        text: 'Your app sent a missing, revoked or wrong-environment key: create a key here and set it as your app’s API key (sandbox keys start with sk_test_, production keys with sk_live_).',
        href: '/dashboard/api-keys',
        linkText: 'Create a key',
      };
    case 'gone':
      return {
        text: 'The receiver answered 410 Gone, so Pipes disabled the endpoint. Fix the receiver or its URL, enable the endpoint, then redeliver what it missed.',
      };
    case 'failing':
      return {
        text: 'The receiver kept failing for days, so Pipes disabled the endpoint. Fix the receiver, enable the endpoint, then redeliver what it missed.',
      };
    case 'no_webhook_endpoint':
      return {
        text: 'Create or enable a webhook endpoint subscribed to this event, then redeliver.',
        href: '/dashboard/webhooks',
        linkText: 'Webhooks',
      };
    case 'origin_mismatch':
      return {
        text: 'Open the dashboard at the address in PIPES_PUBLIC_URL (forms are only accepted from that origin), then try again.',
      };
    default:
      return null;
  }
}
