/**
 * Watches a provider's response body for the credential we attached (an endpoint that reflects the `Authorization`
 * header back, an error message quoting the token). A net against *accidental* reflection: a streamed body is cut at
 * the chunk that completes a needle, after the chunks before it. Compressed bodies are scanned as they decode
 * (compressed-body.ts).
 *
 * Chunks are scanned as they stream, with the last `needle.length − 1` bytes of the previous chunk carried over so a
 * needle split across two chunks is still found. Needles shorter than 8 bytes are ignored: too many false positives.
 */
export const MIN_NEEDLE = 8;

/** The needles worth scanning for. */
export function scannable(needles: readonly Buffer[]): Buffer[] {
  return needles.filter((n) => n.length >= MIN_NEEDLE);
}

export class SecretScanner {
  readonly #needles: Buffer[];
  readonly #carryBytes: number;
  #carry: Buffer = Buffer.alloc(0);

  constructor(needles: readonly Buffer[]) {
    this.#needles = scannable(needles);
    let longest = 0;
    for (const needle of this.#needles) longest = Math.max(longest, needle.length);
    this.#carryBytes = Math.max(0, longest - 1);
  }

  get active(): boolean {
    return this.#needles.length > 0;
  }

  /** True when this chunk (with the tail of the previous ones) contains a needle. */
  found(chunk: Buffer): boolean {
    for (const needle of this.#needles) if (chunk.indexOf(needle) !== -1) return true;
    if (this.#carry.length > 0) {
      const seam = Buffer.concat([this.#carry, chunk.subarray(0, this.#carryBytes)]);
      for (const needle of this.#needles) if (seam.indexOf(needle) !== -1) return true;
    }
    const tail = chunk.length >= this.#carryBytes ? chunk.subarray(chunk.length - this.#carryBytes) : chunk;
    this.#carry =
      chunk.length >= this.#carryBytes
        ? Buffer.from(tail)
        : Buffer.concat([this.#carry, chunk]).subarray(-this.#carryBytes);
    return false;
  }
}

/** True when a whole (small, held) body contains a needle. */
export function containsNeedle(chunks: readonly Buffer[], needles: readonly Buffer[]): boolean {
  if (chunks.length === 0) return false;
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  for (const needle of needles) if (needle.length >= MIN_NEEDLE && body.indexOf(needle) !== -1) return true;
  return false;
}

/** True when a header value contains one of the secrets (such headers are dropped). */
export function containsSecret(value: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (secret.length >= MIN_NEEDLE && value.includes(secret)) return true;
  return false;
}
