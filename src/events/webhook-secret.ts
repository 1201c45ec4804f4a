import { randomBytes } from 'node:crypto';
import { PipesError } from '../errors.ts';

/**
 * Webhook endpoint secrets in the Standard Webhooks shape: `whsec_` + base64 of random key bytes.
 *
 * The same string serves both signature schemes we emit: Standard Webhooks keys its HMAC with the base64-decoded
 * bytes, while WorkOS (`WorkOS-Signature`) keys its HMAC with the whole string as UTF-8 — which is what the WorkOS SDKs
 * do with whatever secret the dashboard shows. See `signature.ts`.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Standard Webhooks allows 24–64 key bytes; we generate 32 (the HMAC-SHA256 block-size sweet spot). */
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;
const GENERATED_KEY_BYTES = 32;

// Canonical, padded base64 only: Node's decoder silently skips junk, so a typo would otherwise yield a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

/**
 * The raw HMAC key of a Standard Webhooks secret. Throws `invalid_webhook_secret` for anything that is not
 * `whsec_` + canonical base64 of 24–64 bytes; the message never contains the value, which is a secret.
 */
export function decodeWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw malformed();
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) throw malformed();
  const key = Buffer.from(encoded, 'base64');
  if (key.length < WEBHOOK_SECRET_MIN_BYTES || key.length > WEBHOOK_SECRET_MAX_BYTES) throw malformed();
  // Non-canonical trailing bits (e.g. "QR==" vs "QQ==") decode to the same bytes; reject them so one key has one spelling.
  if (key.toString('base64') !== encoded) throw malformed();
  return key;
}

function malformed(): PipesError {
  return new PipesError(
    'invalid_webhook_secret',
    `Webhook secret is malformed: expected "${WEBHOOK_SECRET_PREFIX}" followed by base64 of ${WEBHOOK_SECRET_MIN_BYTES}–${WEBHOOK_SECRET_MAX_BYTES} bytes.`,
    { status: 422 },
  );
}
