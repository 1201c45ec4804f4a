import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import * as oauth from 'oauth4webapi';
import { ManualClock } from '../../src/lib/clock.ts';
import {
  createMemorySandboxState,
  createSandboxProvider,
  type SandboxClientRegistration,
  type SandboxProvider,
  type SandboxSettingsPatch,
  type SandboxStateStore,
} from '../../src/sandbox/index.ts';

export const CLIENT: SandboxClientRegistration = {
  client_id: 'pipes-test-client',
  client_secret: 'test-client-secret-0123456789',
  redirect_uris: ['https://app.example/oauth/callback', 'https://app.example/other-callback'],
};
/** A second registered client, to check that one client cannot use or revoke another's codes and tokens. */
export const OTHER_CLIENT: SandboxClientRegistration = {
  client_id: 'other-client',
  client_secret: 'other-client-secret-9876543210',
  redirect_uris: ['https://other.example/callback'],
};
export const REDIRECT_URI = 'https://app.example/oauth/callback';

/** A round start time, so rate-limit windows and expiries are easy to reason about. */
export const START_TIME = Date.UTC(2030, 0, 1, 0, 0, 0);

export interface SandboxHarness {
  origin: string;
  issuer: string;
  provider: SandboxProvider;
  clock: ManualClock;
  state: SandboxStateStore;
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  httpOptions: { [oauth.allowInsecureRequests]: true };
  close(): Promise<void>;
}

export interface HarnessOptions {
  settings?: SandboxSettingsPatch;
  acceptAnyClient?: boolean;
  admin?: boolean;
  /** Wraps the memory state, e.g. to observe what is written. */
  wrapState?: (state: SandboxStateStore) => SandboxStateStore;
}

/**
 * Serves the sandbox over real HTTP the way Pipes will: mounted under `/sandbox` of a root app, with the RFC 8414
 * root well-known path routed to its metadata.
 */
export async function startSandbox(options: HarnessOptions = {}): Promise<SandboxHarness> {
  let root: Hono | undefined;
  const server = await new Promise<Server>((resolve) => {
    const started = serve(
      { fetch: (request, env) => root!.fetch(request, env), port: 0, hostname: '127.0.0.1' },
      () => resolve(started as Server),
    );
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}/sandbox`;
  const clock = new ManualClock(START_TIME);
  const memory = createMemorySandboxState(clock);
  const state = options.wrapState ? options.wrapState(memory) : memory;
  const provider = createSandboxProvider({
    issuer,
    clock,
    state,
    clients: [CLIENT, OTHER_CLIENT],
    admin: options.admin ?? true,
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.acceptAnyClient ? { acceptAnyClient: true } : {}),
  });
  root = new Hono();
  root.get(provider.wellKnownPath, (c) => c.json(provider.metadata()));
  root.route('/sandbox', provider.app);

  const httpOptions = { [oauth.allowInsecureRequests]: true } as const;
  const as = await oauth.processDiscoveryResponse(
    new URL(issuer),
    await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...httpOptions }),
  );
  return {
    origin,
    issuer,
    provider,
    clock,
    state,
    as,
    client: { client_id: CLIENT.client_id },
    clientAuth: oauth.ClientSecretBasic(CLIENT.client_secret),
    httpOptions,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const decodeEntities = (value: string): string =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Reads the consent form the way a browser would see it: its action and the hidden request id. */
export function parseConsentForm(html: string): { action: string; requestId: string } {
  const action = /<form[^>]*\saction="([^"]*)"/.exec(html)?.[1];
  const input = /<input[^>]*name="request_id"[^>]*>/.exec(html)?.[0];
  const requestId = input === undefined ? undefined : /\svalue="([^"]*)"/.exec(input)?.[1];
  assert.ok(action !== undefined, 'consent form has an action');
  assert.ok(requestId !== undefined, 'consent form has a request_id');
  return { action: decodeEntities(action), requestId: decodeEntities(requestId) };
}

export interface AuthorizeOptions {
  scope?: string;
  account?: string;
  decision?: 'allow' | 'deny';
  redirectUri?: string;
  clientId?: string;
}

export interface AuthorizeResult {
  callback: URL;
  verifier: string;
  state: string;
}

/** Builds a PKCE authorization URL (as oauth4webapi users do). */
export async function buildAuthorizeUrl(
  h: SandboxHarness,
  options: AuthorizeOptions = {},
): Promise<{ url: URL; verifier: string; state: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(h.as.authorization_endpoint!);
  url.searchParams.set('client_id', options.clientId ?? CLIENT.client_id);
  url.searchParams.set('redirect_uri', options.redirectUri ?? REDIRECT_URI);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', options.scope ?? 'profile items:read offline_access');
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return { url, verifier, state };
}

/** Drives the browser part: GET the consent page, submit the form, return where the 302 points. */
export async function authorize(h: SandboxHarness, options: AuthorizeOptions = {}): Promise<AuthorizeResult> {
  const { url, verifier, state } = await buildAuthorizeUrl(h, options);
  const page = await fetch(url, { redirect: 'manual' });
  assert.equal(page.status, 200);
  const form = parseConsentForm(await page.text());
  const decision = await fetch(form.action, {
    method: 'POST',
    body: new URLSearchParams({
      request_id: form.requestId,
      account: options.account ?? 'ada',
      decision: options.decision ?? 'allow',
    }),
    redirect: 'manual',
  });
  assert.equal(decision.status, 302);
  const location = decision.headers.get('location');
  assert.ok(location);
  return { callback: new URL(location), verifier, state };
}

/** The client side of the code exchange, entirely through oauth4webapi. */
export async function exchangeCode(
  h: SandboxHarness,
  result: AuthorizeResult,
  redirectUri: string = REDIRECT_URI,
): Promise<oauth.TokenEndpointResponse> {
  const params = oauth.validateAuthResponse(h.as, h.client, result.callback, result.state);
  const response = await oauth.authorizationCodeGrantRequest(
    h.as,
    h.client,
    h.clientAuth,
    params,
    redirectUri,
    result.verifier,
    h.httpOptions,
  );
  return oauth.processAuthorizationCodeResponse(h.as, h.client, response);
}

/** Connect `account` and return its tokens. */
export async function connect(
  h: SandboxHarness,
  options: AuthorizeOptions = {},
): Promise<oauth.TokenEndpointResponse> {
  return exchangeCode(h, await authorize(h, options), options.redirectUri);
}

export async function refresh(h: SandboxHarness, refreshToken: string): Promise<Response> {
  return oauth.refreshTokenGrantRequest(h.as, h.client, h.clientAuth, refreshToken, h.httpOptions);
}

/** A raw token-endpoint POST, for requests oauth4webapi would refuse to build. */
export async function postToken(
  h: SandboxHarness,
  body: Record<string, string>,
  auth: { id: string; secret: string } | 'none' = { id: CLIENT.client_id, secret: CLIENT.client_secret },
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth !== 'none') {
    headers['authorization'] =
      'Basic ' +
      Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64');
  }
  return fetch(h.as.token_endpoint!, { method: 'POST', headers, body: new URLSearchParams(body) });
}

export async function callApi(
  h: SandboxHarness,
  path: string,
  accessToken?: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (accessToken !== undefined) headers.set('authorization', `Bearer ${accessToken}`);
  return fetch(`${h.issuer}/api${path}`, { ...init, headers });
}

export async function admin(h: SandboxHarness, path: string, body?: unknown): Promise<Response> {
  return fetch(`${h.issuer}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

export async function expectOAuthError(response: Response, status: number, error: string): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = (await response.json()) as { error?: string; error_description?: string };
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, 'string');
}
