import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipesError } from '../errors.ts';
import { decodeWebhookSecret } from './webhook-secret.ts';

/**
 * Webhook signing: every delivery carries two signature schemes over the exact bytes we POST.
 *
 * - `WorkOS-Signature: t=<unix ms>, v1=<hex HMAC-SHA256(key = secret string as UTF-8, "<t>.<body>")>` so that apps
 *   using `workos.webhooks.constructEvent` keep working unchanged.
 * - Standard Webhooks v1 (`webhook-id`, `webhook-timestamp`, `webhook-signature`), keyed with the base64-decoded part
 *   of the `whsec_` secret, which supports rotation by listing one `v1,<sig>` per secret.
 *
 * Rotation and the WorkOS header — what `@workos-inc/node` 11.0.0 does (`SignatureProvider.getTimestampAndSignatureHash`
 * in lib/factory-*.mjs): `const [t, v1] = sigHeader.split(",")`, then takes the text after the first "=" of each part.
 * Everything after the second comma is ignored, the scheme name is not checked, and a single value is compared. So
 * `t=…, v1=<new>, v1=<old>` verifies ONLY with the new secret, there is no other spelling that carries two signatures
 * (a space- or comma-joined list breaks the single-value compare), and Go's parser rejects anything but exactly two
 * comma-separated parts (§5.5). Hence: the WorkOS header carries the signature of the NEWEST secret only (`secrets[0]`),
 * in the exact two-part format; the Standard Webhooks header carries one signature per secret. Receivers that verify
 * with a WorkOS SDK must switch to the new secret when it is rotated (or try new, then old, themselves); receivers that
 * use Standard Webhooks get a real overlap.
 */

/** The exact bytes of the request body (a string is signed as its UTF-8 encoding). */
export type WebhookBody = string | Uint8Array;

export const WEBHOOK_USER_AGENT = 'Pipes-Webhooks/1';
/** Default tolerance of the reference Standard Webhooks libraries (±5 minutes). */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;
/** Default tolerance of `@workos-inc/node` `verifyHeader` (3 minutes). */
export const WORKOS_TOLERANCE_MS = 180_000;

export type StandardWebhooksHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export type DeliveryHeaders = StandardWebhooksHeaders & {
  'content-type': 'application/json';
  'user-agent': string;
  'workos-signature': string;
};

/** Header maps as Node's `IncomingHttpHeaders` or a plain object; names are matched case-insensitively. */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

// Signed content is "<id>.<ts>.<body>": an id with a dot (or whitespace/commas) would make it ambiguous.
const MSG_ID = /^[A-Za-z0-9_-]{1,255}$/;
const WORKOS_HEADER = /^t=(\d{13}), v1=([0-9a-f]{64})$/;
const SECONDS = /^\d{1,11}$/;

export function signWorkOS(input: { secret: string; timestampMs: number; body: WebhookBody }): string {
  const { secret, timestampMs, body } = input;
  assertTimestampMs(timestampMs);
  return `t=${timestampMs}, v1=${computeWorkOSSignature(secret, timestampMs, body).toString('hex')}`;
}

export function signStandardWebhooks(input: {
  secrets: readonly string[];
  msgId: string;
  timestampSeconds: number;
  body: WebhookBody;
}): StandardWebhooksHeaders {
  const { secrets, msgId, timestampSeconds, body } = input;
  if (secrets.length === 0) throw new RangeError('At least one webhook secret is required.');
  if (!MSG_ID.test(msgId)) throw new RangeError('Webhook message id must match [A-Za-z0-9_-]{1,255}.');
  assertTimestampSeconds(timestampSeconds);
  const signatures = secrets.map(
    (secret) =>
      `v1,${hmac(decodeWebhookSecret(secret), `${msgId}.${timestampSeconds}.`, body).toString('base64')}`,
  );
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * Every header of one delivery attempt. `secrets` are the endpoint's active secrets, NEWEST FIRST (during a rotation
 * overlap: `[new, old]`). `webhook-id` is the event id, so it stays the same across retries and receivers can dedupe
 * on it; both timestamps (and therefore the signatures) are taken from `nowMs` of this attempt.
 */
export function buildDeliveryHeaders(input: {
  secrets: readonly string[];
  eventId: string;
  nowMs: number;
  body: WebhookBody;
}): DeliveryHeaders {
  const { secrets, eventId, nowMs, body } = input;
  const newest = secrets[0];
  if (newest === undefined) throw new RangeError('At least one webhook secret is required.');
  assertTimestampMs(nowMs);
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    'workos-signature': signWorkOS({ secret: newest, timestampMs: nowMs, body }),
    ...signStandardWebhooks({ secrets, msgId: eventId, timestampSeconds: Math.floor(nowMs / 1000), body }),
  };
}

/**
 * Verifies a Standard Webhooks delivery with one secret: some `v1` signature must match (constant-time) and the
 * timestamp must be within ±`toleranceSeconds` of `nowMs`. Throws a `PipesError` otherwise.
 */
export function verifyStandardWebhooks(input: {
  secret: string;
  headers: IncomingHeaders;
  body: WebhookBody;
  nowMs: number;
  toleranceSeconds?: number;
}): { msgId: string; timestampSeconds: number } {
  const { secret, headers, body, nowMs } = input;
  const toleranceSeconds = input.toleranceSeconds ?? STANDARD_WEBHOOKS_TOLERANCE_SECONDS;
  const key = decodeWebhookSecret(secret);
  const msgId = readHeader(headers, 'webhook-id');
  const timestamp = readHeader(headers, 'webhook-timestamp');
  const signatureList = readHeader(headers, 'webhook-signature');
  if (!msgId || !timestamp || !signatureList || !SECONDS.test(timestamp)) throw signatureMissing();
  const timestampSeconds = Number(timestamp);
  if (Math.abs(nowMs / 1000 - timestampSeconds) > toleranceSeconds) throw outsideTolerance();

  // Sign the normalised number (as the reference libraries do), not the header text: "0161…" is not "161…".
  const expected = Buffer.from(hmac(key, `${msgId}.${timestampSeconds}.`, body).toString('base64'));
  let matched = false;
  for (const entry of signatureList.split(' ')) {
    const [version, encoded] = entry.split(',', 2);
    if (version !== 'v1' || encoded === undefined) continue;
    // Compare the base64 text itself: Node's base64 decoder is lenient, so decoding first would accept other spellings.
    const candidate = Buffer.from(encoded);
    // Keep looping after a match so the time taken does not reveal which entry matched.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw signatureMismatch();
  return { msgId, timestampSeconds };
}

/**
 * Verifies a `WorkOS-Signature` header (our exact `t=<13 digits>, v1=<64 hex>` format) with one secret. Unlike the
 * WorkOS SDK, which only rejects timestamps that are too old, this also rejects ones too far in the future.
 */
export function verifyWorkOS(input: {
  secret: string;
  header: string | undefined;
  body: WebhookBody;
  nowMs: number;
  toleranceMs?: number;
}): { timestampMs: number } {
  const { secret, header, body, nowMs } = input;
  const toleranceMs = input.toleranceMs ?? WORKOS_TOLERANCE_MS;
  const match = header === undefined ? null : WORKOS_HEADER.exec(header);
  const [, timestamp, hex] = match ?? [];
  if (timestamp === undefined || hex === undefined) throw signatureMissing();
  const timestampMs = Number(timestamp);
  if (Math.abs(nowMs - timestampMs) > toleranceMs) throw outsideTolerance();
  const expected = computeWorkOSSignature(secret, timestampMs, body);
  if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) throw signatureMismatch();
  return { timestampMs };
}

function computeWorkOSSignature(secret: string, timestampMs: number, body: WebhookBody): Buffer {
  // WorkOS keys the HMAC with the whole secret string (prefix included), not with decoded bytes.
  if (secret.length === 0) throw new RangeError('A webhook secret is required.');
  return hmac(Buffer.from(secret, 'utf8'), `${timestampMs}.`, body);
}

function hmac(key: Uint8Array, prefix: string, body: WebhookBody): Buffer {
  // Sign the body as given (bytes stay bytes), so the signed bytes are exactly the sent bytes.
  return createHmac('sha256', key).update(prefix, 'utf8').update(body).digest();
}

function readHeader(headers: IncomingHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function assertTimestampMs(value: number): void {
  // 13 digits: the WorkOS format and emulator tests require it; it also catches seconds passed by mistake.
  if (!Number.isSafeInteger(value) || value < 1e12 || value >= 1e13) {
    throw new RangeError('Webhook timestamp must be an integer of milliseconds since the epoch (13 digits).');
  }
}

function assertTimestampSeconds(value: number): void {
  // Below 1e11 so that milliseconds passed by mistake are caught rather than signed.
  if (!Number.isSafeInteger(value) || value < 0 || value >= 1e11) {
    throw new RangeError('Webhook timestamp must be an integer of seconds since the epoch.');
  }
}

const signatureMissing = (): PipesError =>
  new PipesError('webhook_signature_missing', 'Webhook signature headers are missing or malformed.');
const outsideTolerance = (): PipesError =>
  new PipesError('webhook_timestamp_outside_tolerance', 'Webhook timestamp is outside the tolerance.');
const signatureMismatch = (): PipesError =>
  new PipesError('webhook_signature_mismatch', 'No webhook signature matches the payload.');
