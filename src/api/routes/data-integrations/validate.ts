import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { type FieldError, PipesError, validationFailed } from '../../../errors.ts';
import { providerEgressPolicy } from '../../../oauth/http.ts';
import type { ProviderEntry } from '../../../providers/catalog-schema.ts';
import { checkConnectConfig } from '../../../providers/connect-config.ts';
import type { CustomProviderDefinition } from '../../../providers/custom-provider.ts';
import { sharedClientFor } from '../../../providers/resolve.ts';
import { assertUrlAllowed } from '../../../relay/egress/index.ts';
import type { Environment } from '../../../store/environments.ts';
import type { AuthMethod } from '../../../store/schema.ts';
import { toFieldErrors } from '../../body.ts';

/** RFC 6749 §3.3 scope-token characters: printable ASCII except space, `"` and `\`. */
const scopeToken = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope without spaces, quotes or backslashes');

export const scopesField = z
  .array(scopeToken)
  .max(100)
  .refine((a) => new Set(a).size === a.length, 'must not contain duplicates');

export const authMethodsField = z
  .array(z.enum(['oauth', 'api_key', 'client_credentials']))
  .min(1)
  .refine((a) => new Set(a).size === a.length, 'must not contain duplicates');

export const configField = z.record(z.string().min(1).max(64), z.string().max(512));

export const credentialsField = z
  .object({
    type: z.enum(['custom', 'shared', 'organization']),
    client_id: z.string().trim().min(1).max(512).optional(),
    client_secret: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type CredentialsInput = z.infer<typeof credentialsField>;

/** Throws 422 with all the field errors collected, if any. */
export function throwIfErrors(errors: FieldError[]): void {
  if (errors.length > 0) throw validationFailed(errors);
}

/** Validates a nested object with its own schema, reporting its errors under `prefix.`. */
export function parseNested<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string,
  errors: FieldError[],
): z.infer<S> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const e of toFieldErrors(parsed.error.issues)) {
    errors.push({ ...e, field: e.field === '(body)' ? prefix : `${prefix}.${e.field}` });
  }
  return undefined;
}

export function checkAuthMethods(entry: ProviderEntry, methods: readonly AuthMethod[], errors: FieldError[]) {
  methods.forEach((method, i) => {
    if (!entry.auth_methods.includes(method)) {
      errors.push({
        field: `auth_methods.${i}`,
        code: 'unsupported_auth_method',
        message: `${entry.name} does not support "${method}" (it supports ${entry.auth_methods.join(', ')}).`,
      });
    }
  });
}

export function checkScopes(
  custom: CustomProviderDefinition | null,
  scopes: readonly string[] | null,
  errors: FieldError[],
) {
  if (custom?.scopes_required === true && (scopes === null || scopes.length === 0)) {
    errors.push({
      field: 'scopes',
      code: 'required',
      message: 'This custom provider requires scopes (scopes_required is true): list at least one.',
    });
  }
}

/** Integration-level config: see `checkConnectConfig`. */
export const checkConfig = checkConnectConfig;

/** Static checks of a custom provider's endpoints against the egress policy (no DNS: nothing is contacted). */
export function checkCustomEndpoints(ctx: AppContext, def: CustomProviderDefinition, errors: FieldError[]) {
  const policy = providerEgressPolicy(ctx.config);
  const urls = {
    authorization_url: def.authorization_url,
    token_url: def.token_url,
    refresh_token_url: def.refresh_token_url,
    revocation_url: def.revocation_url,
    api_base_url: def.api_base_url,
  };
  for (const [name, url] of Object.entries(urls)) {
    if (url === null) continue;
    try {
      assertUrlAllowed(url, policy, { status: 422 });
    } catch (error) {
      if (!(error instanceof PipesError)) throw error;
      errors.push({ field: `custom_provider.${name}`, code: error.code, message: error.message });
    }
  }
  if ((def.authorization_url === null) !== (def.token_url === null)) {
    errors.push({
      field:
        def.authorization_url === null ? 'custom_provider.authorization_url' : 'custom_provider.token_url',
      code: 'required',
      message: 'An OAuth custom provider needs both authorization_url and token_url.',
    });
  } else if (def.revocation_url !== null && def.token_url === null) {
    // Only OAuth grants are revoked; on an API-key provider the URL would silently never be used.
    errors.push({
      field: 'custom_provider.revocation_url',
      code: 'not_allowed',
      message:
        'revocation_url is only used by an OAuth custom provider (with authorization_url and token_url).',
    });
  }
}

export interface CredentialColumns {
  credentials_type: 'custom' | 'shared' | null;
  client_id: string | null;
  /** Plaintext, sealed by the caller with the row's binding. Null: no secret. */
  clientSecret: string | null;
}

/**
 * Validates `credentials` and turns them into column values. Shared credentials are for sandbox environments only:
 * a production environment must bring its own OAuth app (WorkOS's rule, kept here).
 */
export function checkCredentials(
  ctx: AppContext,
  env: Pick<Environment, 'name' | 'kind'>,
  slug: string,
  entry: ProviderEntry,
  custom: CustomProviderDefinition | null,
  methods: readonly AuthMethod[],
  credentials: CredentialsInput | null,
  errors: FieldError[],
): CredentialColumns | undefined {
  if (credentials === null) return { credentials_type: null, client_id: null, clientSecret: null };
  const fail = (field: string, code: string, message: string) => {
    errors.push({ field, code, message });
    return undefined;
  };
  if (!methods.includes('oauth')) {
    return fail('credentials', 'not_allowed', 'Only OAuth integrations take credentials; omit them.');
  }
  switch (credentials.type) {
    case 'organization':
      return fail(
        'credentials.type',
        'unsupported_credentials_type',
        'Organization-supplied credentials are not supported yet; use "custom" (your own OAuth app).',
      );
    case 'shared':
      if (credentials.client_id !== undefined || credentials.client_secret !== undefined) {
        return fail('credentials', 'not_allowed', 'Shared credentials take no client_id or client_secret.');
      }
      if (env.kind !== 'sandbox') {
        return fail(
          'credentials.type',
          'shared_credentials_unavailable',
          `Shared credentials are only available in sandbox environments, and ${env.name} is a production environment: ` +
            `a production app must use its own OAuth app. Register ${entry.name} OAuth app with the redirect_uri of ` +
            'this integration and send {"type": "custom", "client_id": "…", "client_secret": "…"}.',
        );
      }
      if (sharedClientFor(ctx, slug) === null) {
        return fail(
          'credentials.type',
          'shared_credentials_unavailable',
          `This installation has no shared credentials for ${entry.name}. Add shared_credentials.${slug} ` +
            '(client_id, client_secret) to the config file (PIPES_CONFIG_FILE), or use custom credentials.',
        );
      }
      return { credentials_type: 'shared', client_id: null, clientSecret: null };
    case 'custom': {
      if (credentials.client_id === undefined) {
        return fail('credentials.client_id', 'required', 'client_id is required for custom credentials.');
      }
      const secretRequired = custom === null || custom.client_secret_required;
      if (credentials.client_secret === undefined && secretRequired) {
        return fail(
          'credentials.client_secret',
          'required',
          'client_secret is required for custom credentials.',
        );
      }
      return {
        credentials_type: 'custom',
        client_id: credentials.client_id,
        clientSecret: credentials.client_secret ?? null,
      };
    }
  }
}
