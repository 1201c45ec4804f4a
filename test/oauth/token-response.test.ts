import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTokenResponse, type RawTokenResponse } from '../../src/oauth/token-response.ts';
import { TokenEndpointError, type TokenFailureKind } from '../../src/oauth/types.ts';

const STANDARD = {
  scope_separator: ' ',
  token_response: { expiry: 'expires_in' as const, metadata_fields: [], errors_with_200: false },
};

const json = (body: unknown, status = 200): RawTokenResponse => ({
  status,
  contentType: 'application/json',
  text: typeof body === 'string' ? body : JSON.stringify(body),
  retryAfter: null,
});

const failure = (raw: RawTokenResponse, kind: TokenFailureKind) => (error: unknown) => {
  assert.ok(error instanceof TokenEndpointError, `got ${String(error)}`);
  assert.equal(error.kind, kind);
  assert.equal(error.code, kind === 'malformed' ? 'provider_malformed_response' : `provider_${kind}`);
  // The message may name fields, never echo a token.
  assert.doesNotMatch(error.message, /secret-token-value/);
  void raw;
  return true;
};

describe('token response parsing (R-T1, R-T2, O14–O16)', () => {
  const malformed: [string, RawTokenResponse][] = [
    ['not JSON', { status: 200, contentType: 'text/html', text: '<html>oops</html>', retryAfter: null }],
    ['empty body', { status: 200, contentType: 'application/json', text: '', retryAfter: null }],
    ['null', json('null')],
    ['an array', json('[]')],
    ['a string', json('"secret-token-value"')],
    ['access_token missing', json({ token_type: 'bearer' })],
    ['access_token not a string', json({ access_token: 123, token_type: 'bearer' })],
    ['access_token empty', json({ access_token: '', token_type: 'bearer' })],
    ['token_type mac', json({ access_token: 'secret-token-value', token_type: 'mac' })],
    ['token_type not a string', json({ access_token: 'secret-token-value', token_type: 1 })],
    ['expires_in "x"', json({ access_token: 'secret-token-value', token_type: 'bearer', expires_in: 'x' })],
    [
      'expires_in "3600" in JSON',
      json({ access_token: 'secret-token-value', token_type: 'bearer', expires_in: '3600' }),
    ],
    ['expires_in -1', json({ access_token: 'secret-token-value', token_type: 'bearer', expires_in: -1 })],
    ['expires_in 0', json({ access_token: 'secret-token-value', token_type: 'bearer', expires_in: 0 })],
    ['expires_in 1e20', json({ access_token: 'secret-token-value', token_type: 'bearer', expires_in: 1e20 })],
    [
      'refresh_token 123',
      json({ access_token: 'secret-token-value', token_type: 'bearer', refresh_token: 123 }),
    ],
    ['scope 42', json({ access_token: 'secret-token-value', token_type: 'bearer', scope: 42 })],
    ['a redirect', { status: 302, contentType: '', text: '', retryAfter: null }],
  ];
  for (const [name, raw] of malformed) {
    test(`malformed: ${name}`, () => {
      assert.throws(() => parseTokenResponse(raw, STANDARD), failure(raw, 'malformed'));
    });
  }

  test('lenient but valid: token_type "bearer", no expires_in, no scope', () => {
    const tokens = parseTokenResponse(json({ access_token: 'at', token_type: 'bearer' }), STANDARD);
    assert.equal(tokens.accessToken, 'at');
    assert.equal(tokens.expiresIn, null);
    assert.equal(tokens.scopes, null);
    assert.equal(tokens.refreshToken, null);
  });

  test('token_type in any case, no token_type at all, scope split on the separator and spaces', () => {
    assert.equal(
      parseTokenResponse(json({ access_token: 'a', token_type: 'BEARER' }), STANDARD).accessToken,
      'a',
    );
    assert.equal(parseTokenResponse(json({ access_token: 'a' }), STANDARD).accessToken, 'a');
    const comma = { ...STANDARD, scope_separator: ',' };
    assert.deepEqual(parseTokenResponse(json({ access_token: 'a', scope: 'x,y z' }), comma).scopes, [
      'x',
      'y',
      'z',
    ]);
    assert.deepEqual(parseTokenResponse(json({ access_token: 'a', scope: ['p', 'q'] }), STANDARD).scopes, [
      'p',
      'q',
    ]);
  });

  test('a full response is read, and the identity hints carry no secret', () => {
    const tokens = parseTokenResponse(
      json({
        access_token: 'secret-token-value',
        refresh_token: 'secret-refresh',
        id_token: 'secret-id-token',
        token_type: 'Bearer',
        expires_in: 3599.7,
        scope: 'a b',
        user: { id: 'u1' },
      }),
      STANDARD,
    );
    assert.equal(tokens.refreshToken, 'secret-refresh');
    assert.equal(tokens.expiresIn, 3599);
    assert.deepEqual(tokens.scopes, ['a', 'b']);
    assert.deepEqual(tokens.identity, {
      token_type: 'Bearer',
      expires_in: 3599.7,
      scope: 'a b',
      user: { id: 'u1' },
    });
  });

  test('form-encoded responses (GitHub without Accept: application/json)', () => {
    const tokens = parseTokenResponse(
      {
        status: 200,
        contentType: 'application/x-www-form-urlencoded; charset=utf-8',
        text: 'access_token=gho_abc&scope=repo%2Cuser&token_type=bearer&expires_in=28800',
        retryAfter: null,
      },
      { ...STANDARD, scope_separator: ',' },
    );
    assert.equal(tokens.accessToken, 'gho_abc');
    assert.deepEqual(tokens.scopes, ['repo', 'user']);
    assert.equal(tokens.expiresIn, 28800);
    const errorBody = {
      status: 200,
      contentType: 'application/x-www-form-urlencoded',
      text: 'error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.',
      retryAfter: null,
    };
    assert.throws(() => parseTokenResponse(errorBody, STANDARD), failure(errorBody, 'invalid_grant'));
  });

  const errors: [string, RawTokenResponse, TokenFailureKind][] = [
    ['400 invalid_grant', json({ error: 'invalid_grant' }, 400), 'invalid_grant'],
    ['200 with an error body (GitHub)', json({ error: 'bad_verification_code' }), 'invalid_grant'],
    ['200 ok:false (Slack)', json({ ok: false, error: 'invalid_code' }), 'invalid_grant'],
    ['Slack bad secret', json({ ok: false, error: 'bad_client_secret' }), 'invalid_client'],
    ['401 invalid_client', json({ error: 'invalid_client' }, 401), 'invalid_client'],
    ['401 without a body', { status: 401, contentType: '', text: '', retryAfter: null }, 'invalid_client'],
    ['400 invalid_scope', json({ error: 'invalid_scope' }, 400), 'rejected'],
    ['400 redirect_uri_mismatch', json({ error: 'redirect_uri_mismatch' }, 400), 'rejected'],
    ['503', { status: 503, contentType: 'text/plain', text: 'down', retryAfter: '7' }, 'transient'],
    ['429', json({ error: 'slow_down' }, 429), 'transient'],
    ['500 invalid_grant is still transient', json({ error: 'invalid_grant' }, 500), 'transient'],
    ['400 temporarily_unavailable', json({ error: 'temporarily_unavailable' }, 400), 'transient'],
  ];
  for (const [name, raw, kind] of errors) {
    test(`error: ${name} → ${kind}`, () => {
      assert.throws(() => parseTokenResponse(raw, STANDARD), failure(raw, kind));
    });
  }

  test('Retry-After is kept, provider error fields are reported', () => {
    const raw = {
      ...json({ error: 'temporarily_unavailable', error_description: 'later' }, 503),
      retryAfter: '7',
    };
    assert.throws(
      () => parseTokenResponse(raw, STANDARD),
      (error: unknown) =>
        error instanceof TokenEndpointError &&
        error.retryAfterMs === 7000 &&
        error.providerError === 'temporarily_unavailable' &&
        error.providerErrorDescription === 'later',
    );
  });

  test('Slack: the user token is read from authed_user, with its metadata', () => {
    const slack = {
      scope_separator: ',',
      token_response: {
        access_token_path: 'authed_user.access_token',
        refresh_token_path: 'authed_user.refresh_token',
        scope_path: 'authed_user.scope',
        expires_in_path: 'authed_user.expires_in',
        expiry: 'never' as const,
        metadata_fields: ['team.id', 'team.name', 'authed_user.id'],
        errors_with_200: true,
      },
    };
    const tokens = parseTokenResponse(
      json({
        ok: true,
        app_id: 'A1',
        token_type: 'bot',
        authed_user: { id: 'U1', scope: 'users:read,chat:write', access_token: 'xoxp-1', token_type: 'user' },
        team: { id: 'T1', name: 'Acme' },
      }),
      slack,
    );
    assert.equal(tokens.accessToken, 'xoxp-1');
    assert.equal(tokens.expiresIn, null);
    assert.deepEqual(tokens.scopes, ['users:read', 'chat:write']);
    assert.deepEqual(tokens.metadata, { 'team.id': 'T1', 'team.name': 'Acme', 'authed_user.id': 'U1' });
    assert.equal((tokens.identity.authed_user as Record<string, unknown>).id, 'U1');
    assert.equal((tokens.identity.authed_user as Record<string, unknown>).access_token, undefined);
  });
});
