import { PipesError } from '../errors.ts';

/** What a sealed secret is. Part of the AAD, so a refresh token cannot be replayed as an access token. */
export const SECRET_KINDS = [
  'access_token',
  'refresh_token',
  'client_secret',
  'api_key',
  'webhook_secret',
  'code_verifier',
] as const;

export type SecretKind = (typeof SECRET_KINDS)[number];

/**
 * Where a secret lives. Every field is bound into the AAD of both the DEK wrap and the data encryption, so a blob
 * copied to another table, row, environment or kind fails to decrypt (R-E3, V2). Secrets that belong to no
 * environment should use a fixed sentinel such as `"global"`, never an empty string.
 */
export interface SecretBinding {
  /** Table (or logical collection) the blob is stored in, e.g. `connected_accounts`. */
  readonly table: string;
  /** Primary key of the row that holds the blob. */
  readonly rowId: string;
  readonly environmentId: string;
  readonly kind: SecretKind;
}

const KINDS: ReadonlySet<string> = new Set(SECRET_KINDS);

/** Rejects bindings that would make the AAD weaker than intended (empty fields) or name an unknown kind. */
export function assertBinding(binding: SecretBinding): void {
  const fields = ['table', 'rowId', 'environmentId', 'kind'] as const;
  for (const field of fields) {
    const value: unknown = binding?.[field];
    if (typeof value !== 'string' || value.length === 0) {
      throw new PipesError(
        'invalid_secret_binding',
        `Secret binding field "${field}" must be a non-empty string.`,
        {
          status: 500,
        },
      );
    }
  }
  if (!KINDS.has(binding.kind)) {
    throw new PipesError('invalid_secret_binding', 'Secret binding has an unknown kind.', { status: 500 });
  }
}
