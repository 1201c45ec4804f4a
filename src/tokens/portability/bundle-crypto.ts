import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PipesError } from '../../errors.ts';

/**
 * Encryption of export bundles: AES-256-GCM under a key that exists only in the operator's hands (printed once by
 * `pipes export`, never stored). Each record's secrets are sealed separately with the record's id as AAD, so
 * records cannot be swapped inside a bundle. The format is documented in docs/export.md so another system can read it.
 */
export const BUNDLE_FORMAT = 'pipes.export.v1';

export interface SealedRecord {
  iv: string;
  tag: string;
  ciphertext: string;
}

export function generateBundleKey(): string {
  return randomBytes(32).toString('base64url');
}

export function parseBundleKey(value: string): Buffer {
  const key = Buffer.from(value, 'base64url');
  if (key.length !== 32 || key.toString('base64url') !== value.replace(/=+$/, '')) {
    throw new PipesError(
      'invalid_bundle_key',
      'The bundle key must be the 43-character value `pipes export` printed.',
      {
        status: 400,
      },
    );
  }
  return key;
}

export function sealRecord(key: Buffer, recordId: string, secrets: Record<string, string>): SealedRecord {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${BUNDLE_FORMAT}|${recordId}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

export function openRecord(key: Buffer, recordId: string, sealed: SealedRecord): Record<string, string> {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(`${BUNDLE_FORMAT}|${recordId}`, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const plain = Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  } catch {
    throw new PipesError(
      'bundle_unreadable',
      `Record ${recordId} could not be decrypted: wrong key, or the bundle was altered.`,
      {
        status: 400,
      },
    );
  }
}
