import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureVerificationException, WorkOS } from '@workos-inc/node';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { PipesError } from '../../src/errors.ts';
import {
  buildDeliveryHeaders,
  signStandardWebhooks,
  signWorkOS,
  verifyStandardWebhooks,
  verifyWorkOS,
} from '../../src/events/signature.ts';
import { decodeWebhookSecret, generateWebhookSecret } from '../../src/events/webhook-secret.ts';
import { newId } from '../../src/lib/ids.ts';

// Standard Webhooks' published vector (R-W2), used by the JS, Go, Java and C# reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestampSeconds: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const MINUTE = 60_000;

function workos(): WorkOS {
  return new WorkOS('sk_test_x', { apiHostname: '127.0.0.1', https: false, maxRetries: 0 });
}

/** A `pipes.connected_account.connected` webhook body, serialised once: these are the bytes we send and sign. */
function connectedEventBody(): { eventId: string; body: string } {
  const eventId = newId('event');
  const now = new Date().toISOString();
  const body = JSON.stringify({
    id: eventId,
    event: 'pipes.connected_account.connected',
    data: {
      object: 'connected_account',
      id: newId('connectedAccount'),
      data_integration_id: newId('dataIntegration'),
      provider_slug: 'github',
      user_id: 'user_01HZY3K2J5Q8W9E7R6T5Y4U3I2',
      organization_id: null,
      scopes: ['repo', 'user:email'],
      state: 'connected',
      created_at: now,
      updated_at: now,
    },
    created_at: now,
    object: 'event',
  });
  return { eventId, body };
}

function assertPipesError(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PipesError, `expected a PipesError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('webhook secrets', () => {
  it('generates whsec_ + base64 of 32 random bytes, accepted by the reference library', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, b);
    assert.equal(decodeWebhookSecret(a).length, 32);
    assert.deepEqual(decodeWebhookSecret(a), Buffer.from(a.slice('whsec_'.length), 'base64'));
    // The reference library decodes the same key: its signature equals ours.
    const body = '{"a":1}';
    const ours = signStandardWebhooks({
      secrets: [a],
      msgId: 'msg_1',
      timestampSeconds: 1_700_000_000,
      body,
    });
    assert.equal(ours['webhook-signature'], new Webhook(a).sign('msg_1', new Date(1_700_000_000_000), body));
  });

  it('decodes the published vector secret to its 24 key bytes', () => {
    assert.deepEqual(
      decodeWebhookSecret(VECTOR.secret),
      Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
    );
    assert.equal(decodeWebhookSecret(VECTOR.secret).length, 24);
  });

  it('rejects malformed secrets with invalid_webhook_secret and never echoes them', () => {
    const valid = generateWebhookSecret();
    const bad = [
      '',
      'whsec_',
      valid.slice('whsec_'.length), // no prefix
      `wsec_${valid.slice('whsec_'.length)}`,
      `whsec_${Buffer.alloc(16, 7).toString('base64')}`, // 16 bytes: too short
      `whsec_${Buffer.alloc(65, 7).toString('base64')}`, // 65 bytes: too long
      `whsec_${'A'.repeat(31)}!`, // not base64
      `whsec_${valid.slice('whsec_'.length, -1)}`, // padding missing
      `${valid} `, // trailing space
      VECTOR.secret.slice(0, -2), // base64 length not a multiple of 4
      'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAR==', // non-canonical trailing bits
    ];
    for (const secret of bad) {
      assert.throws(
        () => decodeWebhookSecret(secret),
        (error) => {
          assert.ok(error instanceof PipesError);
          assert.equal(error.code, 'invalid_webhook_secret');
          assert.equal(error.status, 422);
          const secretPart = secret.replace(/^whsec_/, '');
          if (secretPart.length > 0)
            assert.ok(!error.message.includes(secretPart), 'message echoes the secret');
          return true;
        },
        `accepted ${JSON.stringify(secret)}`,
      );
    }
  });

  it('signing with a malformed secret fails the same way, without echoing it', () => {
    const secret = 'whsec_not*base64*at*all*but*long*enough';
    for (const sign of [
      () =>
        signStandardWebhooks({
          secrets: [secret],
          msgId: 'msg_1',
          timestampSeconds: 1_700_000_000,
          body: '{}',
        }),
      () => buildDeliveryHeaders({ secrets: [secret], eventId: 'event_1', nowMs: Date.now(), body: '{}' }),
    ]) {
      assert.throws(sign, (error) => {
        assert.ok(error instanceof PipesError);
        assert.equal(error.code, 'invalid_webhook_secret');
        assert.ok(!error.message.includes('not*base64'));
        assert.ok(!String(error.stack).includes('not*base64'));
        return true;
      });
    }
  });
});

describe('Standard Webhooks signing (W1)', () => {
  it('reproduces the published test vector', () => {
    const headers = signStandardWebhooks({
      secrets: [VECTOR.secret],
      msgId: VECTOR.msgId,
      timestampSeconds: VECTOR.timestampSeconds,
      body: VECTOR.body,
    });
    assert.deepEqual(headers, {
      'webhook-id': VECTOR.msgId,
      'webhook-timestamp': '1614265330',
      'webhook-signature': VECTOR.signature,
    });
    // Bytes and string sign identically.
    const fromBytes = signStandardWebhooks({
      secrets: [VECTOR.secret],
      msgId: VECTOR.msgId,
      timestampSeconds: VECTOR.timestampSeconds,
      body: Buffer.from(VECTOR.body),
    });
    assert.equal(fromBytes['webhook-signature'], VECTOR.signature);
    // Our verifier accepts it at the vector's own time.
    assert.deepEqual(
      verifyStandardWebhooks({
        secret: VECTOR.secret,
        headers,
        body: VECTOR.body,
        nowMs: VECTOR.timestampSeconds * 1000,
      }),
      { msgId: VECTOR.msgId, timestampSeconds: VECTOR.timestampSeconds },
    );
  });

  it('rejects ids that would make the signed content ambiguous, and timestamps in milliseconds', () => {
    const base = { secrets: [VECTOR.secret], timestampSeconds: 1_700_000_000, body: '{}' };
    assert.throws(() => signStandardWebhooks({ ...base, msgId: 'msg.1' }), RangeError);
    assert.throws(() => signStandardWebhooks({ ...base, msgId: 'msg 1' }), RangeError);
    assert.throws(() => signStandardWebhooks({ ...base, msgId: '' }), RangeError);
    assert.throws(() => signStandardWebhooks({ ...base, msgId: 'msg_1', secrets: [] }), RangeError);
    assert.throws(
      () => signStandardWebhooks({ ...base, msgId: 'msg_1', timestampSeconds: 1_700_000_000_000 }),
      RangeError,
    );
  });
});

describe('WorkOS-Signature', () => {
  it('has the exact t=<13 digits>, v1=<64 hex> format and matches the SDK computeSignature', async () => {
    const secret = generateWebhookSecret();
    const body = '{"id":"event_1"}';
    const header = signWorkOS({ secret, timestampMs: 1_768_478_400_123, body });
    assert.match(header, /^t=\d{13}, v1=[a-f0-9]{64}$/);
    assert.ok(header.startsWith('t=1768478400123, v1='));
    const sdkSignature = await workos().webhooks.computeSignature(1_768_478_400_123, body, secret);
    assert.equal(header, `t=1768478400123, v1=${sdkSignature}`);
    assert.throws(() => signWorkOS({ secret, timestampMs: 1_768_478_400, body }), RangeError);
    assert.throws(() => signWorkOS({ secret, timestampMs: 1_768_478_400_123.5, body }), RangeError);
  });

  it('is verified by @workos-inc/node constructEvent from the raw body (string and bytes)', async () => {
    const secret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const sigHeader = signWorkOS({ secret, timestampMs: Date.now(), body });
    for (const payload of [body, Buffer.from(body, 'utf8'), new TextEncoder().encode(body)]) {
      const event = await workos().webhooks.constructEvent({ payload, sigHeader, secret });
      assert.equal(event.id, eventId);
      assert.equal(event.event, 'pipes.connected_account.connected');
      assert.ok(event.event === 'pipes.connected_account.connected');
      assert.equal(event.data.providerSlug, 'github');
      assert.deepEqual(event.data.scopes, ['repo', 'user:email']);
    }
    // A pre-parsed object also works, because the SDK re-stringifies it and our body is compact JSON.stringify output.
    const event = await workos().webhooks.constructEvent({ payload: JSON.parse(body), sigHeader, secret });
    assert.equal(event.id, eventId);
  });

  it('is verified over exact bytes, including non-ASCII', async () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ id: 'event_1', event: 'x.y', data: { name: 'Zoë 🚀' }, created_at: 'now' });
    const bytes = Buffer.from(body, 'utf8');
    const nowMs = Date.now();
    assert.equal(
      signWorkOS({ secret, timestampMs: nowMs, body: bytes }),
      signWorkOS({ secret, timestampMs: nowMs, body }),
    );
    const sigHeader = signWorkOS({ secret, timestampMs: nowMs, body: bytes });
    assert.equal(await workos().webhooks.verifyHeader({ payload: bytes, sigHeader, secret }), true);
  });

  it('is rejected by the SDK for a tampered body, a wrong secret and a 10-minute-old timestamp', async () => {
    const secret = generateWebhookSecret();
    const { body } = connectedEventBody();
    const sigHeader = signWorkOS({ secret, timestampMs: Date.now(), body });
    const rejected = { name: SignatureVerificationException.name };

    await assert.rejects(
      workos().webhooks.constructEvent({ payload: body.replace('github', 'gitlab'), sigHeader, secret }),
      rejected,
    );
    await assert.rejects(
      workos().webhooks.constructEvent({ payload: body, sigHeader, secret: generateWebhookSecret() }),
      rejected,
    );
    const stale = signWorkOS({ secret, timestampMs: Date.now() - 10 * MINUTE, body });
    await assert.rejects(
      workos().webhooks.constructEvent({ payload: body, sigHeader: stale, secret }),
      /Timestamp outside the tolerance zone/,
    );
  });

  it('verifyWorkOS accepts our header and rejects tampering, wrong secrets, skew and other formats', () => {
    const secret = generateWebhookSecret();
    const body = '{"id":"event_1"}';
    const nowMs = 1_768_478_400_000;
    const header = signWorkOS({ secret, timestampMs: nowMs, body });
    assert.deepEqual(verifyWorkOS({ secret, header, body, nowMs: nowMs + 2 * MINUTE }), {
      timestampMs: nowMs,
    });

    assert.throws(
      () => verifyWorkOS({ secret, header, body: `${body} `, nowMs }),
      assertPipesError('webhook_signature_mismatch'),
    );
    assert.throws(
      () => verifyWorkOS({ secret: generateWebhookSecret(), header, body, nowMs }),
      assertPipesError('webhook_signature_mismatch'),
    );
    const shifted = header.replace(`t=${nowMs}`, `t=${nowMs + 1}`);
    assert.throws(
      () => verifyWorkOS({ secret, header: shifted, body, nowMs }),
      assertPipesError('webhook_signature_mismatch'),
    );
    assert.throws(
      () => verifyWorkOS({ secret, header, body, nowMs: nowMs + 4 * MINUTE }),
      assertPipesError('webhook_timestamp_outside_tolerance'),
    );
    assert.throws(
      () => verifyWorkOS({ secret, header, body, nowMs: nowMs - 4 * MINUTE }),
      assertPipesError('webhook_timestamp_outside_tolerance'),
    );
    for (const malformed of [undefined, '', header.replace(', ', ','), `${header}, v1=${'0'.repeat(64)}`]) {
      assert.throws(
        () => verifyWorkOS({ secret, header: malformed, body, nowMs }),
        assertPipesError('webhook_signature_missing'),
      );
    }
  });
});

describe('delivery headers', () => {
  it('carries every header; webhook-id is the event id, timestamps and signatures are per attempt', () => {
    const secret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const first = buildDeliveryHeaders({ secrets: [secret], eventId, nowMs: 1_768_478_400_123, body });
    assert.deepEqual(Object.keys(first).sort(), [
      'content-type',
      'user-agent',
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
      'workos-signature',
    ]);
    assert.equal(first['content-type'], 'application/json');
    assert.equal(first['user-agent'], 'Pipes-Webhooks/1');
    assert.equal(first['webhook-id'], eventId);
    assert.equal(first['webhook-timestamp'], '1768478400');
    assert.equal(first['workos-signature'], signWorkOS({ secret, timestampMs: 1_768_478_400_123, body }));

    const retry = buildDeliveryHeaders({ secrets: [secret], eventId, nowMs: 1_768_478_405_456, body });
    assert.equal(retry['webhook-id'], first['webhook-id']);
    assert.equal(retry['webhook-timestamp'], '1768478405');
    assert.notEqual(retry['webhook-signature'], first['webhook-signature']);
    assert.notEqual(retry['workos-signature'], first['workos-signature']);
    assert.ok(retry['workos-signature'].startsWith('t=1768478405456, v1='));
  });

  it('is verified by the standardwebhooks reference library; tampered id, timestamp or body is rejected (W2)', () => {
    const secret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const headers = buildDeliveryHeaders({ secrets: [secret], eventId, nowMs: Date.now(), body });
    const receiver = new Webhook(secret);

    const parsed = receiver.verify(body, headers) as { id: string; event: string };
    assert.equal(parsed.id, eventId);
    assert.equal(parsed.event, 'pipes.connected_account.connected');
    assert.equal(receiver.verify(Buffer.from(body), headers, { jsonParse: false }), undefined);

    const tampered: Array<[string, string, Record<string, string>]> = [
      ['id', body, { ...headers, 'webhook-id': newId('event') }],
      [
        'timestamp',
        body,
        { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) },
      ],
      ['body', body.replace('"github"', '"gitlab"'), headers],
    ];
    for (const [what, tamperedBody, tamperedHeaders] of tampered) {
      assert.throws(() => receiver.verify(tamperedBody, tamperedHeaders), WebhookVerificationError, what);
      assert.throws(
        () =>
          verifyStandardWebhooks({ secret, headers: tamperedHeaders, body: tamperedBody, nowMs: Date.now() }),
        assertPipesError('webhook_signature_mismatch'),
        what,
      );
    }
  });

  it('correctly signed but outside ±5 minutes is rejected by the reference library and by ours (W2)', () => {
    const secret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const receiver = new Webhook(secret);
    for (const skew of [-6 * MINUTE, 6 * MINUTE]) {
      const headers = buildDeliveryHeaders({ secrets: [secret], eventId, nowMs: Date.now() + skew, body });
      assert.throws(() => receiver.verify(body, headers), /Message timestamp too (old|new)/);
      assert.throws(
        () => verifyStandardWebhooks({ secret, headers, body, nowMs: Date.now() }),
        assertPipesError('webhook_timestamp_outside_tolerance'),
      );
    }
    // Within tolerance both accept.
    const headers = buildDeliveryHeaders({
      secrets: [secret],
      eventId,
      nowMs: Date.now() - 4 * MINUTE,
      body,
    });
    assert.equal((receiver.verify(body, headers) as { id: string }).id, eventId);
    assert.equal(verifyStandardWebhooks({ secret, headers, body, nowMs: Date.now() }).msgId, eventId);
  });

  it('verifyStandardWebhooks reads headers case-insensitively and rejects missing or malformed ones', () => {
    const secret = generateWebhookSecret();
    const body = '{}';
    const nowMs = 1_768_478_400_000;
    const headers = signStandardWebhooks({
      secrets: [secret],
      msgId: 'event_1',
      timestampSeconds: nowMs / 1000,
      body,
    });
    const upper = {
      'Webhook-Id': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
    };
    assert.equal(verifyStandardWebhooks({ secret, headers: upper, body, nowMs }).msgId, 'event_1');
    for (const broken of [
      { ...headers, 'webhook-id': undefined },
      { ...headers, 'webhook-signature': undefined },
      { ...headers, 'webhook-timestamp': 'soon' },
      { ...headers, 'webhook-timestamp': ['1768478400'] },
    ]) {
      assert.throws(
        () => verifyStandardWebhooks({ secret, headers: broken, body, nowMs }),
        assertPipesError('webhook_signature_missing'),
      );
    }
    // Only v1 entries count; other schemes and junk are ignored rather than matched.
    const sig = headers['webhook-signature'].slice('v1,'.length);
    const others = { ...headers, 'webhook-signature': `v1a,${sig} v2,${sig} v1, junk` };
    assert.throws(
      () => verifyStandardWebhooks({ secret, headers: others, body, nowMs }),
      assertPipesError('webhook_signature_mismatch'),
    );
  });
});

describe('secret rotation (W9)', () => {
  it('during the overlap both signatures are sent and either secret alone verifies the Standard Webhooks headers', () => {
    const newSecret = generateWebhookSecret();
    const oldSecret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const headers = buildDeliveryHeaders({
      secrets: [newSecret, oldSecret],
      eventId,
      nowMs: Date.now(),
      body,
    });

    const signatures = headers['webhook-signature'].split(' ');
    assert.equal(signatures.length, 2);
    for (const signature of signatures) assert.match(signature, /^v1,[A-Za-z0-9+/]{43}=$/);

    for (const secret of [newSecret, oldSecret]) {
      assert.equal((new Webhook(secret).verify(body, headers) as { id: string }).id, eventId);
      assert.equal(verifyStandardWebhooks({ secret, headers, body, nowMs: Date.now() }).msgId, eventId);
    }
    const stranger = generateWebhookSecret();
    assert.throws(() => new Webhook(stranger).verify(body, headers), WebhookVerificationError);
    assert.throws(
      () => verifyStandardWebhooks({ secret: stranger, headers, body, nowMs: Date.now() }),
      assertPipesError('webhook_signature_mismatch'),
    );
  });

  it('the WorkOS header carries the newest secret only: the SDK verifies it with the new secret, not the old', async () => {
    const newSecret = generateWebhookSecret();
    const oldSecret = generateWebhookSecret();
    const { eventId, body } = connectedEventBody();
    const nowMs = Date.now();
    const headers = buildDeliveryHeaders({ secrets: [newSecret, oldSecret], eventId, nowMs, body });
    const sigHeader = headers['workos-signature'];

    assert.equal(sigHeader, signWorkOS({ secret: newSecret, timestampMs: nowMs, body }));
    assert.match(sigHeader, /^t=\d{13}, v1=[a-f0-9]{64}$/);
    const event = await workos().webhooks.constructEvent({ payload: body, sigHeader, secret: newSecret });
    assert.equal(event.id, eventId);
    await assert.rejects(workos().webhooks.constructEvent({ payload: body, sigHeader, secret: oldSecret }), {
      name: SignatureVerificationException.name,
    });
  });

  it('why: the SDK reads only the first v1, so appending the old secret signature would not help', async () => {
    const newSecret = generateWebhookSecret();
    const oldSecret = generateWebhookSecret();
    const body = '{"id":"event_1","event":"x.y","data":{},"created_at":"now"}';
    const timestampMs = Date.now();
    const newHeader = signWorkOS({ secret: newSecret, timestampMs, body });
    const oldHeader = signWorkOS({ secret: oldSecret, timestampMs, body });
    const oldHex = oldHeader.slice(oldHeader.indexOf('v1=') + 3);
    const sdk = workos().webhooks;

    // Stripe-style "t=…, v1=<new>, v1=<old>": the SDK ignores the second value.
    const appended = `${newHeader}, v1=${oldHex}`;
    assert.deepEqual(sdk.getTimestampAndSignatureHash(appended), [String(timestampMs), newHeader.slice(-64)]);
    assert.equal(await sdk.verifyHeader({ payload: body, sigHeader: appended, secret: newSecret }), true);
    await assert.rejects(sdk.verifyHeader({ payload: body, sigHeader: appended, secret: oldSecret }), {
      name: SignatureVerificationException.name,
    });
    // A space-separated list inside v1 is compared as one value and matches neither secret.
    const listed = `${newHeader} ${oldHex}`;
    for (const secret of [newSecret, oldSecret]) {
      await assert.rejects(sdk.verifyHeader({ payload: body, sigHeader: listed, secret }), {
        name: SignatureVerificationException.name,
      });
    }
  });
});
