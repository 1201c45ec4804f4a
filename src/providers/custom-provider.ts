/**
 * Custom providers (§4.5 `CustomProviderDefinition`): OAuth providers an environment defines itself, for services
 * missing from the catalog. A definition is validated here, stored as normalised JSON on the integration row, and
 * converted to the same `ProviderEntry` shape as a catalog entry, so the OAuth client, the connect flow and the
 * token service never need to know which kind they are talking to.
 */
import { z } from 'zod';
import type { ProviderEntry } from './catalog-schema.ts';

/**
 * Pipes additions to §4.5: `issuer` (RFC 9207), so a custom provider that sends `iss` gets the mix-up check;
 * `revocation_url` (RFC 7009), where a deleted connection's grant is revoked; `api_base_url`, where the relay sends
 * calls (otherwise the token endpoint's origin).
 */
export interface CustomProviderDefinition {
  name: string;
  authorization_url: string | null;
  token_url: string | null;
  refresh_token_url: string | null;
  pkce_enabled: boolean;
  request_scope_separator: string;
  scopes_required: boolean;
  client_secret_required: boolean;
  additional_authorization_parameters: Record<string, string>;
  token_body_content_type: 'application/x-www-form-urlencoded' | 'application/json';
  authenticate_via: 'request_body' | 'basic_auth_header';
  issuer: string | null;
  revocation_url: string | null;
  api_base_url: string | null;
}

/** Parameters Pipes sets itself on every authorization request; extra parameters may not override them. */
const RESERVED_AUTHORIZATION_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'request',
  'request_uri',
]);

const PARAMETER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_EXTRA_PARAMETERS = 20;

export interface CustomProviderRules {
  /** Whether `http://` endpoints are allowed (development, or `PIPES_ALLOW_INSECURE_HTTP`). */
  allowHttp: boolean;
}

/** Why `value` is not an acceptable endpoint URL, or undefined. A `base` URL is a prefix and takes no query. */
function endpointProblem(value: string, rules: CustomProviderRules, base: boolean): string | undefined {
  if (!URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && rules.allowHttp)) {
    return rules.allowHttp ? 'must be an http or https URL' : 'must be an https URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('#')) return 'must not contain a fragment';
  // Braces are template syntax in provider URLs (`{config.x}`), which a custom definition has no fields for.
  if (/[{}]/.test(value)) return 'must not contain "{" or "}"';
  if (base && value.includes('?')) return 'must not contain a query';
  return undefined;
}

function endpointField(rules: CustomProviderRules, base = false) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = endpointProblem(value, rules, base);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });
}

function extraParameters() {
  return z.record(z.string(), z.string().max(1000)).superRefine((params, ctx) => {
    const names = Object.keys(params);
    if (names.length > MAX_EXTRA_PARAMETERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_EXTRA_PARAMETERS} parameters` });
    }
    for (const name of names) {
      if (!PARAMETER_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid parameter name' });
      } else if (RESERVED_AUTHORIZATION_PARAMETERS.has(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is set by Pipes and cannot be overridden' });
      }
    }
  });
}

/** The fields a client may send, each optional (create fills defaults, update merges onto the stored value). */
function definitionFields(rules: CustomProviderRules) {
  const endpoint = endpointField(rules);
  return {
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .refine((s) => !/[\r\n]/.test(s), 'must be a single line'),
    authorization_url: endpoint.nullable(),
    token_url: endpoint.nullable(),
    refresh_token_url: endpoint.nullable(),
    pkce_enabled: z.boolean(),
    request_scope_separator: z
      .string()
      .min(1)
      .max(3)
      .refine((s) => !/[A-Za-z0-9]/.test(s), 'must not contain letters or digits'),
    scopes_required: z.boolean(),
    client_secret_required: z.boolean(),
    additional_authorization_parameters: extraParameters(),
    token_body_content_type: z.enum(['application/x-www-form-urlencoded', 'application/json']),
    authenticate_via: z.enum(['request_body', 'basic_auth_header']),
    issuer: endpoint.nullable(),
    revocation_url: endpoint.nullable(),
    api_base_url: endpointField(rules, true).nullable(),
  };
}

/** `custom_provider` on create: `name` required, the rest defaulted as §4.5 says. */
export function customProviderCreateSchema(rules: CustomProviderRules) {
  const f = definitionFields(rules);
  return z
    .object({
      name: f.name,
      authorization_url: f.authorization_url.optional(),
      token_url: f.token_url.optional(),
      refresh_token_url: f.refresh_token_url.optional(),
      pkce_enabled: f.pkce_enabled.optional(),
      request_scope_separator: f.request_scope_separator.optional(),
      scopes_required: f.scopes_required.optional(),
      client_secret_required: f.client_secret_required.optional(),
      additional_authorization_parameters: f.additional_authorization_parameters.optional(),
      token_body_content_type: f.token_body_content_type.optional(),
      authenticate_via: f.authenticate_via.optional(),
      issuer: f.issuer.optional(),
      revocation_url: f.revocation_url.optional(),
      api_base_url: f.api_base_url.optional(),
    })
    .strict();
}

/** `custom_provider` on update: every field optional; merged onto the stored definition. */
export function customProviderUpdateSchema(rules: CustomProviderRules) {
  return customProviderCreateSchema(rules).partial().strict();
}

export type CustomProviderInput = z.infer<ReturnType<typeof customProviderUpdateSchema>>;

/** Applies §4.5 defaults (or keeps `base`'s values on update). */
export function normaliseCustomProvider(
  input: CustomProviderInput,
  base?: CustomProviderDefinition,
): CustomProviderDefinition {
  const pick = <K extends keyof CustomProviderDefinition>(
    key: K,
    fallback: CustomProviderDefinition[K],
  ): CustomProviderDefinition[K] => {
    const value = input[key as keyof CustomProviderInput];
    return value === undefined ? (base?.[key] ?? fallback) : (value as CustomProviderDefinition[K]);
  };
  return {
    name: pick('name', ''),
    authorization_url: pick('authorization_url', null),
    token_url: pick('token_url', null),
    refresh_token_url: pick('refresh_token_url', null),
    pkce_enabled: pick('pkce_enabled', true),
    request_scope_separator: pick('request_scope_separator', ' '),
    scopes_required: pick('scopes_required', false),
    client_secret_required: pick('client_secret_required', true),
    additional_authorization_parameters: pick('additional_authorization_parameters', {}),
    token_body_content_type: pick('token_body_content_type', 'application/x-www-form-urlencoded'),
    authenticate_via: pick('authenticate_via', 'request_body'),
    issuer: pick('issuer', null),
    revocation_url: pick('revocation_url', null),
    api_base_url: pick('api_base_url', null),
  };
}

/** True when the definition describes an OAuth provider (both endpoints known). */
export const isOAuthDefinition = (def: CustomProviderDefinition): boolean =>
  def.authorization_url !== null && def.token_url !== null;

/** Reads a stored definition back; fields added since it was stored take their defaults. */
export function parseStoredCustomProvider(json: string): CustomProviderDefinition {
  return normaliseCustomProvider(JSON.parse(json) as CustomProviderInput);
}

/** A lifetime to assume when a custom provider's token response has no `expires_in` (R-T2: unknown, not never). */
const CUSTOM_DEFAULT_LIFETIME_SECONDS = 3600;

/** Converts a definition to a catalog-shaped entry. */
export function customProviderEntry(slug: string, def: CustomProviderDefinition): ProviderEntry {
  const origin = (url: string | null) => (url === null ? null : new URL(url).origin);
  // The relay's allow-list is the origin of `base_url` (and no other): `api_base_url` when given, else the provider's.
  const baseUrl = def.api_base_url ?? origin(def.token_url) ?? origin(def.authorization_url) ?? '';
  const oauth = isOAuthDefinition(def);
  const entry: ProviderEntry = {
    slug,
    name: def.name,
    description: `${def.name} (custom provider).`,
    icon_url: '',
    docs_url: '',
    categories: ['developer-tools'],
    auth_methods: oauth ? ['oauth'] : ['api_key'],
    connect_config: [],
    api: {
      base_url: baseUrl,
      auth_style: 'bearer',
      extra_headers: {},
      allowed_origins: [],
      rate_limit: {},
    },
    metadata_to_config: {},
  };
  if (oauth) {
    entry.oauth = {
      authorization_url: def.authorization_url!,
      token_url: def.token_url!,
      ...(def.refresh_token_url !== null ? { refresh_url: def.refresh_token_url } : {}),
      ...(def.revocation_url !== null ? { revocation_url: def.revocation_url } : {}),
      ...(def.issuer !== null ? { issuer: def.issuer } : {}),
      default_scopes: [],
      scopes: [],
      scope_separator: def.request_scope_separator,
      scope_param: 'scope',
      pkce: def.pkce_enabled,
      authorization_params: { ...def.additional_authorization_parameters },
      token_headers: {},
      client_auth: def.authenticate_via === 'basic_auth_header' ? 'basic' : 'body',
      token_body_content_type: def.token_body_content_type,
      callback_metadata_fields: [],
      token_response: {
        expiry: 'unknown',
        default_lifetime_seconds: CUSTOM_DEFAULT_LIFETIME_SECONDS,
        metadata_fields: [],
        errors_with_200: false,
      },
    };
  } else {
    entry.api_key = {
      header: 'Authorization',
      format: 'Bearer {api_key}',
      instructions: `Paste your ${def.name} API key.`,
    };
  }
  if (def.token_url !== null) {
    // The token endpoint of a custom provider also serves the client-credentials grant (RFC 6749 §4.4), for
    // integrations created with `auth_methods: ['client_credentials']`: each tenant installs its own client id and
    // secret, and the grant authenticates the way `authenticate_via` says.
    entry.auth_methods.push('client_credentials');
    entry.client_credentials = {
      token_url: def.token_url,
      default_scopes: [],
      client_auth: def.authenticate_via === 'basic_auth_header' ? 'basic' : 'body',
    };
  }
  return entry;
}
