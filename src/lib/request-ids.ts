import { randomBytes } from 'node:crypto';

/**
 * Request ids for the hot paths (the relay, token vending), in the same shape as `newId('request')` (`req_` + 26 Crockford base32
 * characters: 10 of time, then 16 more) but without asking the CSPRNG for 80 bits on every request, which showed up in
 * profiles. The last 16 characters are a random per-relay prefix and a counter: unique and unguessable enough for a
 * correlation id, which is all this is (it authorises nothing).
 */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encode(value: number, length: number): string {
  let out = '';
  let n = value;
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[n % 32]! + out;
    n = Math.floor(n / 32);
  }
  return out;
}

export function createRequestIds(): () => string {
  const bytes = randomBytes(5);
  const prefix = encode(bytes.readUIntBE(0, 5), 8);
  let counter = 0;
  // Many requests share a millisecond: encode its time part once.
  let lastMs = -1;
  let head = '';
  return () => {
    counter = (counter + 1) % 32 ** 8;
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      head = `req_${encode(now, 10)}${prefix}`;
    }
    return head + encode(counter, 8);
  };
}
