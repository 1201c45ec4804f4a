import type { Vault } from '../vault/vault.ts';
import { type AccountRef, type AccountSecretKind, openAccountSecret } from './account-secrets.ts';

/**
 * Decrypted connection secrets (access tokens, API keys) kept in memory for a short while, so that vending the same
 * valid token again does not unwrap its data key and decrypt it each time (two AES-GCM operations and their AAD).
 *
 * Why it is safe: an entry is keyed by the account id and secret kind, and is used only when the sealed blob just
 * read from the database is byte for byte the one it was decrypted from. A sealed blob is bound (AAD) to its row,
 * environment and kind, so the same bytes always open to the same plaintext; any change in the database — a refresh,
 * a re-authorization, a rotation of the key, a rewrap, a corrupted byte (V1) — misses the cache and goes through the
 * vault again. The row is still read on every request, so a deleted or disabled connection is never served from here.
 *
 * Bounds: an entry lives at most `ttlMs` (60 s) after its decryption, and at most `maxEntries` are kept (the cache is
 * cleared when full), which limits how long and how many plaintexts sit in this process's memory.
 */
export class SecretCache {
  private readonly entries = new Map<string, { blob: Buffer; value: string; until: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  open(vault: Vault, account: AccountRef, kind: AccountSecretKind, blob: Uint8Array | null): string | null {
    if (blob === null) return null;
    const key = `${account.id}\u0000${kind}`;
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry !== undefined && entry.until > now && entry.blob.equals(blob)) return entry.value;
    const value = openAccountSecret(vault, account, kind, blob);
    if (value !== null && this.ttlMs > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { blob: Buffer.from(blob), value, until: now + this.ttlMs });
    }
    return value;
  }
}
