/**
 * The shape of one provider entry in `providers/<slug>.json`.
 *
 * Providers are data, not code: one generic OAuth client, token store and relay read these entries. Quirks are
 * named fields (`errors_with_200`, `token_response.access_token_path`, `scope_param`…) rather than per-provider
 * classes. Every object is strict so a typo in a JSON file fails loudly at boot instead of silently dropping a
 * setting. Cross-field rules (a template may only use declared config fields, every URL must resolve to https…)
 * live in `checkEntry` below so the schema alone is the single source of truth for what a valid entry is.
 */
import { z } from 'zod';
import {
  compileFieldPattern,
  findTemplateProblem,
  listTemplateFields,
  resolveTemplate,
} from './templates.ts';

/** A provider slug: words of lower-case letters and digits joined by single hyphens. The one definition. */
export const SLUG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const FIELD_NAME = /^[a-z][a-z0-9_]*$/;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Dotted path into a JSON response, e.g. `authed_user.access_token` or `accounts.0.base_uri`. */
const DOTTED_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export const PROVIDER_CATEGORIES = [
  'accounting',
  'ai',
  'calendar',
  'cms',
  'communication',
  'crm',
  'data',
  'design',
  'developer-tools',
  'documents',
  'ecommerce',
  'email',
  'file-storage',
  'forms',
  'knowledge-base',
  'marketing',
  'monitoring',
  'payments',
  'productivity',
  'project-management',
  'scheduling',
  'support',
  'video',
] as const;

const oneLine = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\r\n]/.test(s), 'must be a single line');

const httpsUrl = z.url({ protocol: /^https$/, error: 'Invalid URL (must be an absolute https URL)' });
/**
 * A URL that may contain `{config.<field>}` placeholders. Plain URLs are checked here; templated ones are
 * resolved with the connect_config examples and checked in `checkEntry`, which knows the fields.
 */
const urlTemplateOf = (kind: UrlKind) =>
  z
    .string()
    .min(1)
    .max(2048)
    .superRefine((value, ctx) => {
      const message = describeUrlFieldProblem(value, kind);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });
const urlTemplate = urlTemplateOf('absolute');
const dottedPath = z.string().regex(DOTTED_PATH, 'must be a dotted path like "team.id"');
const headerName = z.string().regex(HEADER_NAME, 'must be a valid HTTP header name');
const headerValue = z
  .string()
  .max(1024)
  .refine((s) => !/[\r\n\0]/.test(s), 'must not contain CR, LF or NUL');
const headerMap = z.record(headerName, headerValue);
const stringMap = z.record(z.string().min(1), z.string());
const regexSource = z
  .string()
  .min(1)
  .refine((s) => compiles(s), 'must be a valid regular expression');
const uniqueStrings = <T extends z.ZodType<string>>(item: T) =>
  z.array(item).refine((a) => new Set(a).size === a.length, 'must not contain duplicates');

const scopeSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: oneLine(160),
});

const tokenResponseSchema = z.strictObject({
  /** Where the access token sits when it is not the top-level `access_token` (Slack user tokens). */
  access_token_path: dottedPath.optional(),
  refresh_token_path: dottedPath.optional(),
  scope_path: dottedPath.optional(),
  expires_in_path: dottedPath.optional(),
  /**
   * What to assume about lifetime. An `expires_in` in a response always wins; this says what to do without one:
   * `expires_in` = the provider always sends it; `never` = tokens do not expire (GitHub OAuth apps, Notion);
   * `unknown` = tokens expire but the provider does not say when, so refresh after `default_lifetime_seconds`.
   */
  expiry: z.enum(['expires_in', 'never', 'unknown']),
  default_lifetime_seconds: z.number().int().min(60).max(31_536_000).optional(),
  /** Non-secret fields to keep as connection metadata (Salesforce `instance_url`, Slack `team.id`). */
  metadata_fields: uniqueStrings(dottedPath).default([]),
  /** The token endpoint reports errors with HTTP 200 (`{ ok: false }`, `{ error: … }`); check the body. */
  errors_with_200: z.boolean().default(false),
});

const oauthSchema = z.strictObject({
  authorization_url: urlTemplate,
  token_url: urlTemplate,
  /** Defaults to `token_url`. */
  refresh_url: urlTemplate.optional(),
  /** Only an RFC 7009-style endpoint taking `token`; provider-specific revocation APIs are described in notes. */
  revocation_url: urlTemplate.optional(),
  /** RFC 9207 issuer, only where the provider sends `iss` on the authorization response. */
  issuer: urlTemplate.optional(),
  default_scopes: uniqueStrings(z.string().min(1)),
  scopes: z.array(scopeSchema).default([]),
  scope_separator: z.string().min(1).max(3).default(' '),
  /** Authorization-request parameter carrying the scopes (Slack user scopes use `user_scope`). */
  scope_param: z
    .string()
    .regex(/^[a-z_]+$/)
    .default('scope'),
  /** True only where the provider documents S256 PKCE. */
  pkce: z.boolean(),
  authorization_params: stringMap.default({}),
  /** Extra headers for token-endpoint requests (GitHub needs `Accept: application/json`). */
  token_headers: headerMap.default({}),
  client_auth: z.enum(['body', 'basic']),
  token_body_content_type: z
    .enum(['application/x-www-form-urlencoded', 'application/json'])
    .default('application/x-www-form-urlencoded'),
  /** The provider returns a new refresh token on refresh and invalidates the old one: refresh single-flight. */
  refresh_token_rotation: z.boolean().optional(),
  /** Non-secret query parameters of the redirect back to us to keep as metadata (QuickBooks `realmId`). */
  callback_metadata_fields: uniqueStrings(z.string().regex(/^[A-Za-z0-9_-]+$/)).default([]),
  token_response: tokenResponseSchema,
});

const clientCredentialsSchema = z.strictObject({
  token_url: urlTemplate,
  default_scopes: uniqueStrings(z.string().min(1)).default([]),
  client_auth: z.enum(['body', 'basic']),
});

const apiKeySchema = z.strictObject({
  header: headerName,
  /** How the key is written into the header; must contain `{api_key}`. */
  format: z.string().min(1).max(200),
  /** Hint to catch a pasted key of the wrong kind; not a security check. */
  key_pattern: regexSource.optional(),
  instructions: z.string().min(1).max(500),
});

const connectFieldSchema = z.strictObject({
  name: z.string().regex(FIELD_NAME, 'must be snake_case'),
  label: oneLine(80),
  description: z.string().min(1).max(500),
  /** Anchored (`^…$`) and strict: it must never accept `/`, `#`, `@` or anything that moves the host. */
  pattern: regexSource.refine((p) => p.startsWith('^') && p.endsWith('$'), 'must be anchored with ^ and $'),
  example: z.string().min(1),
  required: z.boolean(),
  /** Used when the user leaves the field empty. */
  default: z.string().min(1).optional(),
  /** Filled from connection metadata (see `metadata_to_config`), never asked from the user. */
  automated: z.boolean().default(false),
});

const rateLimitSchema = z.strictObject({
  retry_after_header: headerName.optional(),
  reset_header: headerName.optional(),
  remaining_header: headerName.optional(),
  limit_header: headerName.optional(),
  reset_unit: z.enum(['epoch_seconds', 'seconds', 'epoch_ms']).optional(),
  /**
   * For a provider with several independent quotas per credential: the header naming the one a response counted
   * against (GitHub's `x-ratelimit-resource`: `core`, `search`, `graphql`…). A response that carries it and says its
   * quota is spent holds no later call back, as the next call may count against another quota; a 429 or a rate-limit
   * 403 is still waited out or passed through as usual.
   */
  resource_header: headerName.optional(),
});

const apiSchema = z.strictObject({
  base_url: urlTemplate,
  /** How an OAuth / client-credentials access token is sent. API keys use the `api_key` block instead. */
  auth_style: z.enum(['bearer', 'header', 'basic', 'query']).default('bearer'),
  auth_header: headerName.optional(),
  /** For `header` and `basic`: the value template, containing `{access_token}`. */
  auth_format: z.string().min(1).max(200).optional(),
  auth_query_param: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  extra_headers: headerMap.default({}),
  /** Extra https origins the relay may reach; the origin of `base_url` is always allowed. */
  allowed_origins: z.array(urlTemplateOf('origin')).default([]),
  rate_limit: rateLimitSchema.default({}),
});

const accountSchema = z.strictObject({
  source: z.enum(['userinfo', 'token_response']),
  /** For `userinfo`: absolute https URL, or a path starting with `/` appended to `api.base_url`. */
  url: urlTemplateOf('absolute-or-path').optional(),
  method: z.enum(['GET', 'POST']).default('GET'),
  /** JSON body for POST lookups (GraphQL `viewer` queries). */
  body: z.record(z.string(), z.unknown()).optional(),
  /** Authorization header value when the identity endpoint differs from the API's style; has `{access_token}`. */
  auth_format: z.string().min(1).max(200).optional(),
  id_path: dottedPath,
  display_name_path: dottedPath.optional(),
  /** Non-secret fields of the identity response to keep as metadata (Mailchimp `dc`). */
  metadata_fields: uniqueStrings(dottedPath).default([]),
});

const entryShape = z.strictObject({
  slug: z.string().regex(SLUG_PATTERN, 'must be lowercase words joined by single hyphens'),
  name: oneLine(60),
  /** One sentence. */
  description: oneLine(200).refine((s) => /[.!?]$/.test(s), 'must be one sentence ending with a full stop'),
  icon_url: httpsUrl,
  docs_url: httpsUrl,
  categories: uniqueStrings(z.enum(PROVIDER_CATEGORIES)).min(1),
  auth_methods: uniqueStrings(z.enum(['oauth', 'api_key', 'client_credentials'])).min(1),
  oauth: oauthSchema.optional(),
  client_credentials: clientCredentialsSchema.optional(),
  api_key: apiKeySchema.optional(),
  connect_config: z.array(connectFieldSchema).default([]),
  api: apiSchema,
  account: accountSchema.optional(),
  /** Copies a metadata value (token response, callback or identity response) into an automated config field. */
  metadata_to_config: z.record(z.string().regex(FIELD_NAME), dottedPath).default({}),
  notes: z.string().min(1).max(2000).optional(),
});

type Entry = z.output<typeof entryShape>;
type Ctx = z.core.$RefinementCtx<Entry>;
type Path = (string | number)[];

export const providerEntrySchema = entryShape.superRefine(checkEntry);
export type ProviderEntry = z.output<typeof providerEntrySchema>;
export type ProviderOAuth = NonNullable<ProviderEntry['oauth']>;
export type ConnectConfigField = ProviderEntry['connect_config'][number];

function checkEntry(entry: Entry, ctx: Ctx): void {
  const issue = (path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message });
  checkAuthBlocks(entry, issue);
  checkConnectConfig(entry, issue);
  checkTemplates(entry, issue);
  checkOAuth(entry, issue);
  checkApi(entry, issue);
  checkAccount(entry, issue);
}

type Issue = (path: Path, message: string) => void;

function checkAuthBlocks(entry: Entry, issue: Issue): void {
  const blocks = [
    ['oauth', entry.oauth],
    ['client_credentials', entry.client_credentials],
    ['api_key', entry.api_key],
  ] as const;
  for (const [method, block] of blocks) {
    const listed = entry.auth_methods.includes(method);
    if (listed && block === undefined) issue([method], `is required when auth_methods contains "${method}"`);
    if (!listed && block !== undefined) {
      issue([method], `is only allowed when auth_methods contains "${method}"`);
    }
  }
  if (entry.api_key !== undefined) {
    const problem = findTemplateProblem(entry.api_key.format, ['api_key']);
    if (problem !== undefined) issue(['api_key', 'format'], problem);
    else if (!entry.api_key.format.includes('{api_key}')) {
      issue(['api_key', 'format'], 'must contain {api_key}');
    } else if (listTemplateFields(entry.api_key.format).length > 0) {
      issue(['api_key', 'format'], 'must not use config placeholders');
    }
  }
}

function checkConnectConfig(entry: Entry, issue: Issue): void {
  const seen = new Set<string>();
  entry.connect_config.forEach((field, i) => {
    const at = (key: string): Path => ['connect_config', i, key];
    if (seen.has(field.name)) issue(at('name'), `duplicate field "${field.name}"`);
    seen.add(field.name);
    if (!compiles(field.pattern)) return;
    const re = compileFieldPattern(field.pattern);
    if (!re.test(field.example)) issue(at('example'), 'does not match pattern');
    if (field.default !== undefined && !re.test(field.default)) {
      issue(at('default'), 'does not match pattern');
    }
    if (field.automated && !Object.hasOwn(entry.metadata_to_config, field.name)) {
      issue(at('automated'), `automated field "${field.name}" needs an entry in metadata_to_config`);
    }
    if (field.automated && field.default !== undefined) {
      issue(at('default'), 'automated fields take no default');
    }
  });
  for (const [name, source] of Object.entries(entry.metadata_to_config)) {
    const field = entry.connect_config.find((f) => f.name === name);
    if (field === undefined || !field.automated) {
      issue(['metadata_to_config', name], `must name a connect_config field marked automated`);
    }
    const known = [
      ...(entry.oauth?.token_response.metadata_fields ?? []),
      ...(entry.oauth?.callback_metadata_fields ?? []),
      ...(entry.account?.metadata_fields ?? []),
    ];
    if (!known.includes(source)) {
      issue(
        ['metadata_to_config', name],
        `"${source}" is not listed in token_response.metadata_fields, callback_metadata_fields or account.metadata_fields`,
      );
    }
  }
}

/** Every URL-valued field, with its path and whether it may be a path relative to `api.base_url`. */
function urlFields(entry: Entry): { path: Path; value: string; relative?: boolean; origin?: boolean }[] {
  const out: { path: Path; value: string; relative?: boolean; origin?: boolean }[] = [];
  const add = (
    path: Path,
    value: string | undefined,
    extra: { relative?: boolean; origin?: boolean } = {},
  ) => {
    if (value !== undefined) out.push({ path, value, ...extra });
  };
  const o = entry.oauth;
  if (o !== undefined) {
    add(['oauth', 'authorization_url'], o.authorization_url);
    add(['oauth', 'token_url'], o.token_url);
    add(['oauth', 'refresh_url'], o.refresh_url);
    add(['oauth', 'revocation_url'], o.revocation_url);
    add(['oauth', 'issuer'], o.issuer);
  }
  add(['client_credentials', 'token_url'], entry.client_credentials?.token_url);
  add(['api', 'base_url'], entry.api.base_url);
  entry.api.allowed_origins.forEach((v, i) => {
    add(['api', 'allowed_origins', i], v, { origin: true });
  });
  add(['account', 'url'], entry.account?.url, { relative: true });
  return out;
}

/** Fields that must be known before the user has connected (they cannot come from a token response). */
const PRE_CONNECT_URLS = new Set([
  'oauth.authorization_url',
  'oauth.token_url',
  'client_credentials.token_url',
]);

function checkTemplates(entry: Entry, issue: Issue): void {
  const declared = new Map(entry.connect_config.map((f) => [f.name, f]));
  const examples: Record<string, string> = {};
  for (const f of entry.connect_config) examples[f.name] = f.example;

  for (const { path, value, relative, origin } of urlFields(entry)) {
    const fields = listTemplateFields(value);
    const isPath = relative === true && value.startsWith('/');
    // Plain absolute URLs were already checked field by field.
    if (fields.length === 0 && !isPath) continue;
    let undeclared = false;
    for (const name of fields) {
      const field = declared.get(name);
      if (field === undefined) {
        issue(path, `uses {config.${name}} but connect_config declares no field "${name}"`);
        undeclared = true;
        continue;
      }
      if (!field.required && field.default === undefined) {
        issue(path, `uses optional field "${name}" which has no default`);
      }
      if (field.automated && PRE_CONNECT_URLS.has(path.join('.'))) {
        issue(path, `uses automated field "${name}", which is only known after connecting`);
      }
    }
    if (undeclared || findTemplateProblem(value) !== undefined) continue;
    const absolute = isPath ? entry.api.base_url + value : value;
    const resolved = tryResolve(absolute, examples, entry);
    if (resolved === undefined) {
      issue(path, 'does not resolve with the connect_config examples');
      continue;
    }
    const problem = describeUrlProblem(resolved, origin === true);
    if (problem !== undefined) issue(path, `${problem} (after substituting examples: ${resolved})`);
  }
}

type UrlKind = 'absolute' | 'origin' | 'absolute-or-path';

/** Field-level check: template syntax always; plain (placeholder-free) URLs fully. */
function describeUrlFieldProblem(value: string, kind: UrlKind): string | undefined {
  const problem = findTemplateProblem(value);
  if (problem !== undefined) return `Invalid URL template: ${problem}`;
  if (kind === 'absolute-or-path' && value.startsWith('/')) {
    return value.startsWith('//')
      ? 'must be an absolute https URL or a path starting with a single "/"'
      : undefined;
  }
  if (listTemplateFields(value).length > 0) return undefined;
  return describeUrlProblem(value, kind === 'origin');
}

/** Why `value` is not an acceptable absolute https URL (or origin), or undefined when it is. */
function describeUrlProblem(value: string, originOnly: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Invalid URL';
  }
  if (url.protocol !== 'https:') return 'Invalid URL (must be an absolute https URL)';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('#')) return 'must not contain a fragment';
  if (originOnly && url.origin !== value) return 'must be an origin like https://host (no path)';
  return undefined;
}

function checkOAuth(entry: Entry, issue: Issue): void {
  const o = entry.oauth;
  if (o === undefined) return;
  const names = o.scopes.map((s) => s.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) issue(['oauth', 'scopes', i, 'name'], `duplicate scope "${name}"`);
  });
  o.default_scopes.forEach((scope, i) => {
    if (!names.includes(scope)) {
      issue(['oauth', 'default_scopes', i], `"${scope}" is not described in oauth.scopes`);
    }
  });
  const t = o.token_response;
  if (t.expiry === 'unknown' && t.default_lifetime_seconds === undefined) {
    issue(['oauth', 'token_response', 'default_lifetime_seconds'], 'is required when expiry is "unknown"');
  }
  if (t.expiry !== 'unknown' && t.default_lifetime_seconds !== undefined) {
    issue(['oauth', 'token_response', 'default_lifetime_seconds'], 'is only used when expiry is "unknown"');
  }
}

function checkApi(entry: Entry, issue: Issue): void {
  const a = entry.api;
  const needsFormat = a.auth_style === 'header' || a.auth_style === 'basic';
  if (a.auth_style === 'header' && a.auth_header === undefined) {
    issue(['api', 'auth_header'], 'is required when auth_style is "header"');
  }
  if (a.auth_style !== 'header' && a.auth_header !== undefined) {
    issue(['api', 'auth_header'], 'is only used when auth_style is "header"');
  }
  if (needsFormat && a.auth_format === undefined) {
    issue(['api', 'auth_format'], `is required when auth_style is "${a.auth_style}"`);
  }
  if (!needsFormat && a.auth_format !== undefined) {
    issue(['api', 'auth_format'], 'is only used when auth_style is "header" or "basic"');
  }
  if (a.auth_format !== undefined) checkTokenFormat(a.auth_format, ['api', 'auth_format'], issue);
  if (a.auth_style === 'query' && a.auth_query_param === undefined) {
    issue(['api', 'auth_query_param'], 'is required when auth_style is "query"');
  }
  if (a.auth_style !== 'query' && a.auth_query_param !== undefined) {
    issue(['api', 'auth_query_param'], 'is only used when auth_style is "query"');
  }
  const r = a.rate_limit;
  if ((r.reset_header === undefined) !== (r.reset_unit === undefined)) {
    issue(['api', 'rate_limit', 'reset_unit'], 'reset_header and reset_unit go together');
  }
  if (r.resource_header !== undefined && r.remaining_header === undefined) {
    issue(['api', 'rate_limit', 'resource_header'], 'is only used with remaining_header');
  }
}

function checkAccount(entry: Entry, issue: Issue): void {
  const acc = entry.account;
  if (acc === undefined) return;
  if (acc.source === 'userinfo' && acc.url === undefined) {
    issue(['account', 'url'], 'is required when source is "userinfo"');
  }
  if (acc.source === 'token_response') {
    if (entry.oauth === undefined && entry.client_credentials === undefined) {
      issue(['account', 'source'], '"token_response" needs an oauth or client_credentials block');
    }
    for (const key of ['url', 'body', 'auth_format'] as const) {
      if (acc[key] !== undefined) issue(['account', key], 'is only used when source is "userinfo"');
    }
    if (acc.method !== 'GET') issue(['account', 'method'], 'is only used when source is "userinfo"');
    if (acc.metadata_fields.length > 0) {
      issue(['account', 'metadata_fields'], 'use oauth.token_response.metadata_fields instead');
    }
  }
  if (acc.body !== undefined && acc.method !== 'POST') issue(['account', 'body'], 'needs method "POST"');
  if (acc.auth_format !== undefined) checkTokenFormat(acc.auth_format, ['account', 'auth_format'], issue);
}

function checkTokenFormat(format: string, path: Path, issue: Issue): void {
  const problem = findTemplateProblem(format, ['access_token']);
  if (problem !== undefined) issue(path, problem);
  else if (!format.includes('{access_token}')) issue(path, 'must contain {access_token}');
  else if (listTemplateFields(format).length > 0) issue(path, 'must not use config placeholders');
}

function tryResolve(template: string, examples: Record<string, string>, entry: Entry): string | undefined {
  try {
    return resolveTemplate(template, examples, entry.connect_config);
  } catch {
    return undefined;
  }
}

function compiles(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}
