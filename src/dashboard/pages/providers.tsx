/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldError } from '../../errors.ts';
import { PROVIDER_CATEGORIES } from '../../providers/catalog-schema.ts';
import type { CustomProviderDefinition } from '../../providers/custom-provider.ts';
import { DataTable } from '../components/data-table.tsx';
import { FilterForm, SelectFilter, TextFilter } from '../components/filter-form.tsx';
import type { FixContext } from '../fixes.ts';
import { fixFor } from '../fixes.ts';
import {
  Avatar,
  CsrfField,
  FixLine,
  type Frame,
  Page,
  ProblemsWithFixes,
  StatusBadge,
  Time,
} from '../layout.tsx';
import type { ProviderItem } from '../provider-view.ts';

export interface ProviderFilter {
  q: string;
  status: string;
  category: string;
}

const STATUS_FILTERS = [
  ['', 'Any status'],
  ['configured', 'Set up'],
  ['active', 'Active'],
  ['inactive', 'Inactive'],
  ['unconfigured', 'Not set up'],
] as const;

function statusOf(item: ProviderItem): 'active' | 'inactive' | 'unconfigured' {
  return item.status === null ? 'unconfigured' : item.status.status;
}

function ProviderRow(props: { item: ProviderItem }) {
  const { entry, status, custom } = props.item;
  return (
    <tr>
      <td>
        <div class="provider">
          <Avatar name={entry.name} iconUrl={entry.icon_url} />
          <div>
            <a href={`/dashboard/providers/${entry.slug}`}>{entry.name}</a>
            <div class="sub">
              <code>{entry.slug}</code>
              {custom ? ' · custom provider' : ''}
            </div>
          </div>
        </div>
      </td>
      <td class="sub">{entry.description}</td>
      <td class="sub">{entry.auth_methods.join(', ').replaceAll('_', ' ')}</td>
      <td>
        <StatusBadge status={statusOf(props.item)} />
        {status?.reason ? <div class="sub">{status.reason}</div> : null}
      </td>
    </tr>
  );
}

function ProviderTable(props: { items: readonly ProviderItem[]; caption: string; empty: string }) {
  return (
    <DataTable
      columns={['Provider', 'Description', 'Sign-in', 'Status']}
      rows={props.items}
      empty={props.empty}
      caption={props.caption}
      row={(item) => <ProviderRow item={item} />}
    />
  );
}

export function ProvidersPage(props: {
  frame: Frame;
  filter: ProviderFilter;
  configured: readonly ProviderItem[];
  catalog: readonly ProviderItem[];
}) {
  const { filter } = props;
  const env = props.frame.session.environment;
  return (
    <Page {...props.frame} title="Providers">
      <p class="lead">
        Connect a provider by choosing its credentials. Your users then connect their own accounts through it.
      </p>
      <FilterForm
        action="/dashboard/providers"
        titleId="search-title"
        title="Find a provider"
        submit="Search"
      >
        <TextFilter
          name="q"
          label="Search"
          type="search"
          value={filter.q}
          placeholder="Name, slug or category"
        />
        <SelectFilter name="status" label="Status" options={STATUS_FILTERS} selected={filter.status} />
        <SelectFilter
          name="category"
          label="Category"
          any="Any category"
          options={PROVIDER_CATEGORIES.map((category) => [category, category.replaceAll('-', ' ')] as const)}
          selected={filter.category}
        />
      </FilterForm>
      <section class="card" aria-labelledby="configured-title">
        <div class="spread">
          <h2 id="configured-title">Set up in {env.name}</h2>
          <a class="button secondary" href="/dashboard/custom-providers/new">
            Define a custom provider
          </a>
        </div>
        <ProviderTable
          items={props.configured}
          caption={`${props.configured.length} set up`}
          empty={
            filter.q === '' && filter.status === '' && filter.category === ''
              ? `No provider is set up in ${env.name} yet: pick one from the catalog below.`
              : `No provider matching this search is set up in ${env.name}.`
          }
        />
      </section>
      <section class="card" aria-labelledby="catalog-title">
        <h2 id="catalog-title">Catalog</h2>
        <ProviderTable
          items={props.catalog}
          caption={`${props.catalog.length} available`}
          empty="No other provider matches this search."
        />
      </section>
    </Page>
  );
}

export interface CredentialsDraft {
  credentialsType: 'shared' | 'custom';
  clientId: string;
  scopes: string[];
  otherScopes: string;
  description: string;
}

export interface ProviderPageProps {
  frame: Frame;
  item: ProviderItem;
  ownership: 'user' | 'organization';
  redirectUri: string | null;
  shared: { available: boolean; reason: string | null };
  draft: CredentialsDraft;
  connections: number;
  errors: readonly FieldError[];
  fixContext: FixContext;
}

function OwnershipField(props: { ownership: 'user' | 'organization' }) {
  return <input type="hidden" name="ownership" value={props.ownership} />;
}

function AddProvider(props: ProviderPageProps) {
  const { entry } = props.item;
  const env = props.frame.session.environment;
  const csrf = props.frame.session.csrfToken;
  const oauth = entry.auth_methods.includes('oauth');
  return (
    <section class="card" aria-labelledby="add-title">
      <h2 id="add-title">
        Add {entry.name} to {env.name}
      </h2>
      {oauth ? (
        <>
          <p>
            {entry.name} uses OAuth. Choose whose OAuth app your users will sign in through. You can change it
            later.
          </p>
          <div class="actions">
            <form method="post" action={`/dashboard/providers/${entry.slug}/add`}>
              <CsrfField token={csrf} />
              <OwnershipField ownership={props.ownership} />
              <input type="hidden" name="credentials" value="shared" />
              <button type="submit" disabled={!props.shared.available}>
                Add with shared credentials
              </button>
            </form>
            <form method="post" action={`/dashboard/providers/${entry.slug}/add`}>
              <CsrfField token={csrf} />
              <OwnershipField ownership={props.ownership} />
              <input type="hidden" name="credentials" value="custom" />
              <button type="submit" class={props.shared.available ? 'secondary' : ''}>
                Add with my own OAuth app
              </button>
            </form>
          </div>
          {props.shared.available ? (
            <p class="hint">Shared credentials: Pipes' own OAuth app, for trying things out in a sandbox.</p>
          ) : (
            <p class="hint">{props.shared.reason}</p>
          )}
        </>
      ) : (
        <form method="post" action={`/dashboard/providers/${entry.slug}/add`}>
          <CsrfField token={csrf} />
          <OwnershipField ownership={props.ownership} />
          <input type="hidden" name="credentials" value="none" />
          <p>
            {entry.name} connects with {entry.auth_methods.join(' or ').replaceAll('_', ' ')}: each user
            brings their own, so there are no OAuth credentials to set.
          </p>
          <button type="submit">Add {entry.name}</button>
        </form>
      )}
    </section>
  );
}

function CredentialsForm(props: ProviderPageProps) {
  const { entry } = props.item;
  const row = props.item.integration!;
  const { draft } = props;
  const scopes = entry.oauth?.scopes ?? [];
  const known = new Set(scopes.map((s) => s.name));
  const defaults = new Set(entry.oauth?.default_scopes ?? []);
  return (
    <section class="card" id="credentials" aria-labelledby="credentials-title">
      <h2 id="credentials-title">Credentials</h2>
      <form method="post" action={`/dashboard/providers/${entry.slug}/credentials`}>
        <CsrfField token={props.frame.session.csrfToken} />
        <OwnershipField ownership={props.ownership} />
        <fieldset>
          <legend>Whose OAuth app</legend>
          <label class={props.shared.available ? 'choice' : 'choice disabled'}>
            <input
              type="radio"
              name="credentials_type"
              value="shared"
              checked={draft.credentialsType === 'shared'}
              disabled={!props.shared.available}
              aria-describedby="shared-why"
            />
            <span>
              Shared credentials
              <span class="hint" id="shared-why">
                {props.shared.available
                  ? "Pipes' own OAuth app. For trying things out; sandbox environments only."
                  : props.shared.reason}
              </span>
            </span>
          </label>
          <label class="choice">
            <input
              type="radio"
              name="credentials_type"
              value="custom"
              checked={draft.credentialsType === 'custom'}
            />
            <span>
              Custom credentials
              <span class="hint">Your own OAuth app at {entry.name}: what production uses.</span>
            </span>
          </label>
        </fieldset>
        <div class="field">
          <label for="redirect-uri-copy">Redirect URI to register at {entry.name}</label>
          <p class="hint" id="redirect-hint">
            Register exactly this URI as the redirect (callback) URI of your OAuth app.
          </p>
          <input
            id="redirect-uri-copy"
            class="wide"
            type="text"
            readonly
            value={props.redirectUri ?? ''}
            aria-describedby="redirect-hint"
          />
        </div>
        <div class="field">
          <label for="client_id">Client id</label>
          <input id="client_id" name="client_id" type="text" autocomplete="off" value={draft.clientId} />
        </div>
        <div class="field">
          <label for="client_secret">Client secret</label>
          <p class="hint" id="secret-hint">
            {row.client_secret_last4 !== null && row.credentials_type === 'custom'
              ? `Stored encrypted and never shown again; it ends in …${row.client_secret_last4}. Leave empty to keep it.`
              : row.credentials_type === 'custom' && row.client_secret !== null
                ? 'Stored encrypted and never shown again. Leave empty to keep it.'
                : 'Stored encrypted and never shown again; only its last 4 characters are.'}
          </p>
          <input
            id="client_secret"
            name="client_secret"
            type="password"
            autocomplete="new-password"
            aria-describedby="secret-hint"
          />
        </div>
        <fieldset>
          <legend>Scopes</legend>
          <p class="hint">
            What your app may do with each user's {entry.name} account. Ask for the least you need; users see
            the list at {entry.name}.
          </p>
          {scopes.length === 0 ? null : (
            <div class="scopes">
              {scopes.map((scope) => (
                <label class="choice">
                  <input
                    type="checkbox"
                    name="scope"
                    value={scope.name}
                    checked={draft.scopes.includes(scope.name)}
                  />
                  <span>
                    <code>{scope.name}</code>
                    {defaults.has(scope.name) ? <span class="badge">default</span> : null}
                    <span class="hint">{scope.description}</span>
                  </span>
                </label>
              ))}
            </div>
          )}
          <div class="field">
            <label for="other_scopes">{scopes.length === 0 ? 'Scopes to request' : 'Other scopes'}</label>
            <p class="hint" id="other-hint">
              Separated by spaces.{' '}
              {draft.scopes.filter((s) => !known.has(s)).length > 0
                ? ''
                : 'Leave empty if the list above is enough.'}
            </p>
            <input
              id="other_scopes"
              name="other_scopes"
              type="text"
              value={draft.otherScopes}
              aria-describedby="other-hint"
            />
          </div>
        </fieldset>
        <div class="field">
          <label for="description">Description for your users</label>
          <p class="hint" id="description-hint">
            One sentence on why your app connects to {entry.name}.
          </p>
          <textarea id="description" name="description" rows={2} aria-describedby="description-hint">
            {draft.description}
          </textarea>
        </div>
        <button type="submit">Save credentials</button>
      </form>
    </section>
  );
}

function DescriptionForm(props: ProviderPageProps) {
  const { entry } = props.item;
  return (
    <section class="card" aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <form method="post" action={`/dashboard/providers/${entry.slug}/credentials`}>
        <CsrfField token={props.frame.session.csrfToken} />
        <OwnershipField ownership={props.ownership} />
        <input type="hidden" name="credentials_type" value="none" />
        <div class="field">
          <label for="description">Description for your users</label>
          <textarea id="description" name="description" rows={2}>
            {props.draft.description}
          </textarea>
        </div>
        <button type="submit">Save</button>
      </form>
    </section>
  );
}

function CustomDefinition(props: { definition: CustomProviderDefinition }) {
  const d = props.definition;
  return (
    <section class="card" aria-labelledby="definition-title">
      <h2 id="definition-title">Custom provider definition</h2>
      <dl class="facts">
        <dt>Authorization URL</dt>
        <dd>
          <code>{d.authorization_url ?? '—'}</code>
        </dd>
        <dt>Token URL</dt>
        <dd>
          <code>{d.token_url ?? '—'}</code>
        </dd>
        <dt>Refresh URL</dt>
        <dd>
          <code>{d.refresh_token_url ?? 'the token URL'}</code>
        </dd>
        <dt>Issuer (RFC 9207)</dt>
        <dd>{d.issuer ?? 'none'}</dd>
        <dt>Revocation URL (RFC 7009)</dt>
        <dd>
          {d.revocation_url === null ? (
            'none: deleting a connection revokes nothing there'
          ) : (
            <code>{d.revocation_url}</code>
          )}
        </dd>
        <dt>API base URL (relay)</dt>
        <dd>
          <code>{d.api_base_url ?? 'the token URL’s origin'}</code>
        </dd>
        <dt>PKCE</dt>
        <dd>{d.pkce_enabled ? 'S256' : 'off'}</dd>
        <dt>Client authentication</dt>
        <dd>{d.authenticate_via.replaceAll('_', ' ')}</dd>
        <dt>Token request body</dt>
        <dd>{d.token_body_content_type}</dd>
        <dt>Scope separator</dt>
        <dd>
          <code>{JSON.stringify(d.request_scope_separator)}</code>
        </dd>
        <dt>Extra parameters</dt>
        <dd>
          {Object.keys(d.additional_authorization_parameters).length === 0 ? (
            'none'
          ) : (
            <code>{JSON.stringify(d.additional_authorization_parameters)}</code>
          )}
        </dd>
      </dl>
    </section>
  );
}

export function ProviderPage(props: ProviderPageProps & { definition: CustomProviderDefinition | null }) {
  const { entry, integration, status } = props.item;
  const env = props.frame.session.environment;
  const csrf = props.frame.session.csrfToken;
  const oauth = entry.auth_methods.includes('oauth');
  const query = props.ownership === 'organization' ? '?ownership=organization' : '';
  return (
    <Page {...props.frame} title={entry.name}>
      <div class="provider">
        <Avatar name={entry.name} iconUrl={entry.icon_url} large />
        <div>
          <p>{entry.description}</p>
          <p class="sub">
            <code>{entry.slug}</code> · {entry.categories.join(', ')} · sign-in:{' '}
            {entry.auth_methods.join(', ').replaceAll('_', ' ')}
            {entry.docs_url.startsWith('https://') ? (
              <>
                {' · '}
                <a href={entry.docs_url} rel="noreferrer noopener">
                  Provider documentation
                </a>
              </>
            ) : null}
          </p>
        </div>
      </div>
      <ProblemsWithFixes errors={props.errors} context={props.fixContext} />
      {integration === undefined ? (
        <AddProvider {...props} />
      ) : (
        <>
          <section class="card" aria-labelledby="status-title">
            <div class="spread">
              <h2 id="status-title">
                Status in {env.name}{' '}
                <StatusBadge status={status?.status === 'active' ? 'active' : 'inactive'} />
              </h2>
              <form method="post" action={`/dashboard/providers/${entry.slug}/enabled`}>
                <CsrfField token={csrf} />
                <OwnershipField ownership={props.ownership} />
                <input type="hidden" name="enabled" value={integration.enabled === 1 ? 'false' : 'true'} />
                <button type="submit" class={integration.enabled === 1 ? 'secondary' : ''}>
                  {integration.enabled === 1 ? 'Disable' : 'Enable'}
                </button>
              </form>
            </div>
            {status?.reason ? <p>{status.reason}</p> : <p>Users can connect their {entry.name} accounts.</p>}
            <FixLine fix={fixFor(status?.code, props.fixContext)} />
            <dl class="facts">
              <dt>Connections</dt>
              <dd>
                <a href={`/dashboard/connections?provider=${entry.slug}`}>
                  {props.connections} connection{props.connections === 1 ? '' : 's'}
                </a>
              </dd>
              <dt>Credentials</dt>
              <dd>
                {integration.credentials_type === null
                  ? oauth
                    ? 'none yet'
                    : 'not needed (each user brings their own)'
                  : integration.credentials_type === 'shared'
                    ? 'shared'
                    : `custom: client id ${integration.client_id ?? '—'}${integration.client_secret_last4 ? `, secret …${integration.client_secret_last4}` : ''}`}
              </dd>
              <dt>Owner of connections</dt>
              <dd>
                {integration.ownership === 'user' ? 'each user' : 'the organization (shared connections)'}
              </dd>
              <dt>Last changed</dt>
              <dd>
                <Time ms={integration.updated_at} />
              </dd>
            </dl>
          </section>
          {oauth ? <CredentialsForm {...props} /> : <DescriptionForm {...props} />}
          {props.definition !== null ? <CustomDefinition definition={props.definition} /> : null}
          <section class="card" aria-labelledby="remove-title">
            <h2 id="remove-title">Remove</h2>
            <p>
              Removing {entry.name} from {env.name} disconnects its {props.connections} connection
              {props.connections === 1 ? '' : 's'}.
            </p>
            <a class="button secondary" href={`/dashboard/providers/${entry.slug}/remove${query}`}>
              Remove {entry.name}…
            </a>
          </section>
        </>
      )}
    </Page>
  );
}

export interface CustomProviderDraft {
  slug: string;
  name: string;
  authorization_url: string;
  token_url: string;
  refresh_token_url: string;
  issuer: string;
  revocation_url: string;
  api_base_url: string;
  pkce_enabled: boolean;
  scopes_required: boolean;
  client_secret_required: boolean;
  request_scope_separator: string;
  token_body_content_type: string;
  authenticate_via: string;
  additional_authorization_parameters: string;
  description: string;
}

export const EMPTY_CUSTOM_DRAFT: CustomProviderDraft = {
  slug: '',
  name: '',
  authorization_url: '',
  token_url: '',
  refresh_token_url: '',
  issuer: '',
  revocation_url: '',
  api_base_url: '',
  pkce_enabled: true,
  scopes_required: false,
  client_secret_required: true,
  request_scope_separator: ' ',
  token_body_content_type: 'application/x-www-form-urlencoded',
  authenticate_via: 'request_body',
  additional_authorization_parameters: '',
  description: '',
};

function TextField(props: {
  name: keyof CustomProviderDraft;
  label: string;
  hint?: string;
  value: string;
  type?: 'text' | 'url';
  required?: boolean;
}) {
  const hintId = `${props.name}-hint`;
  return (
    <div class="field">
      <label for={props.name}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <input
        id={props.name}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        required={props.required ?? false}
        aria-describedby={props.hint ? hintId : undefined}
      />
    </div>
  );
}

function Check(props: { name: keyof CustomProviderDraft; label: string; hint: string; checked: boolean }) {
  return (
    <label class="choice">
      <input type="checkbox" name={props.name} value="true" checked={props.checked} />
      <span>
        {props.label}
        <span class="hint">{props.hint}</span>
      </span>
    </label>
  );
}

/** §4.5's custom provider fields, as a form. */
export function CustomProviderPage(props: {
  frame: Frame;
  draft: CustomProviderDraft;
  errors: readonly FieldError[];
}) {
  const d = props.draft;
  return (
    <Page {...props.frame} title="Define a custom provider">
      <p class="lead">
        For an OAuth provider that is not in the catalog. After this step you register the redirect URI at the
        provider and enter your OAuth app's credentials.
      </p>
      <ProblemsWithFixes errors={props.errors} />
      <form method="post" action="/dashboard/custom-providers" class="card">
        <CsrfField token={props.frame.session.csrfToken} />
        <h2>Provider</h2>
        <TextField
          name="slug"
          label="Slug"
          hint="Lowercase letters and digits, words joined by hyphens; your app uses it in API calls. It cannot change later."
          value={d.slug}
          required
        />
        <TextField name="name" label="Name" hint="Shown to your users." value={d.name} required />
        <div class="field">
          <label for="description">Description for your users</label>
          <textarea id="description" name="description" rows={2}>
            {d.description}
          </textarea>
        </div>
        <h2>OAuth endpoints</h2>
        <TextField
          name="authorization_url"
          label="Authorization URL"
          type="url"
          value={d.authorization_url}
          required
        />
        <TextField name="token_url" label="Token URL" type="url" value={d.token_url} required />
        <TextField
          name="refresh_token_url"
          label="Refresh URL (optional)"
          hint="Leave empty when refreshes go to the token URL."
          type="url"
          value={d.refresh_token_url}
        />
        <TextField
          name="issuer"
          label="Issuer (optional)"
          hint="Only if the provider sends iss on its redirect (RFC 9207): Pipes then checks it."
          type="url"
          value={d.issuer}
        />
        <TextField
          name="revocation_url"
          label="Revocation URL (optional)"
          hint="RFC 7009 endpoint: when a connection is deleted, Pipes revokes its grant there."
          type="url"
          value={d.revocation_url}
        />
        <TextField
          name="api_base_url"
          label="API base URL (optional)"
          hint="Where the relay sends calls (its origin is the only one allowed). Empty: the token URL's origin."
          type="url"
          value={d.api_base_url}
        />
        <h2>Options</h2>
        <Check
          name="pkce_enabled"
          label="Use PKCE (S256)"
          hint="Keep it on unless the provider rejects code_challenge."
          checked={d.pkce_enabled}
        />
        <Check
          name="client_secret_required"
          label="The OAuth app has a client secret"
          hint="Off only for public clients that authenticate with their id alone."
          checked={d.client_secret_required}
        />
        <Check
          name="scopes_required"
          label="Scopes are required"
          hint="The provider refuses a request without scopes."
          checked={d.scopes_required}
        />
        <div class="field">
          <label for="request_scope_separator">Scope separator</label>
          <select id="request_scope_separator" name="request_scope_separator">
            {[
              [' ', 'space'],
              [',', 'comma'],
              ['+', 'plus'],
            ].map(([value, label]) => (
              <option value={value} selected={d.request_scope_separator === value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="authenticate_via">Client authentication at the token URL</label>
          <select id="authenticate_via" name="authenticate_via">
            <option value="request_body" selected={d.authenticate_via === 'request_body'}>
              client id and secret in the request body
            </option>
            <option value="basic_auth_header" selected={d.authenticate_via === 'basic_auth_header'}>
              HTTP Basic authorization header
            </option>
          </select>
        </div>
        <div class="field">
          <label for="token_body_content_type">Token request body</label>
          <select id="token_body_content_type" name="token_body_content_type">
            {['application/x-www-form-urlencoded', 'application/json'].map((value) => (
              <option value={value} selected={d.token_body_content_type === value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="additional_authorization_parameters">Extra authorization parameters</label>
          <p class="hint" id="params-hint">
            One <code>name=value</code> per line, e.g. <code>prompt=consent</code>.
          </p>
          <textarea
            id="additional_authorization_parameters"
            name="additional_authorization_parameters"
            rows={3}
            aria-describedby="params-hint"
          >
            {d.additional_authorization_parameters}
          </textarea>
        </div>
        <button type="submit">Create custom provider</button>
      </form>
    </Page>
  );
}
