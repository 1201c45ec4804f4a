/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { ConnectedAccountTable, EventTable } from '../../store/schema.ts';
import { DataTable } from '../components/data-table.tsx';
import { FilterForm, SelectFilter, TextFilter } from '../components/filter-form.tsx';
import { OlderPageLink } from '../components/pager.tsx';
import { type FixContext, fixFor } from '../fixes.ts';
import { FixLine, type Frame, Page, StateBadge, Time } from '../layout.tsx';
import { EventTableView } from './events.tsx';

export interface ConnectionFilter {
  provider: string;
  user: string;
  organization: string;
  state: string;
}

const STATES = ['connected', 'needs_reauthorization', 'disconnected'] as const;

export function accountLabel(
  account: Pick<ConnectedAccountTable, 'account_display_name' | 'account_identifier' | 'id'>,
) {
  return account.account_display_name ?? account.account_identifier ?? account.id;
}

function Owner(props: { account: ConnectedAccountTable }) {
  const a = props.account;
  if (a.owner_type === 'organization') {
    return (
      <span>
        organization <code>{a.organization_id}</code>
      </span>
    );
  }
  return (
    <span>
      user <code>{a.user_id}</code>
      {a.organization_id === null ? null : (
        <>
          {' '}
          in <code>{a.organization_id}</code>
        </>
      )}
    </span>
  );
}

export function ConnectionsPage(props: {
  frame: Frame;
  filter: ConnectionFilter;
  providers: readonly string[];
  accounts: readonly ConnectedAccountTable[];
  next: string | null;
}) {
  const f = props.filter;
  return (
    <Page {...props.frame} title="Connections">
      <p class="lead">Your users' connected accounts in this environment, newest first.</p>
      <FilterForm action="/dashboard/connections">
        <SelectFilter
          name="provider"
          label="Provider"
          any="Any provider"
          options={props.providers.map((slug) => [slug, slug] as const)}
          selected={f.provider}
        />
        <TextFilter name="user" label="User id" value={f.user} />
        <TextFilter name="organization" label="Organization id" value={f.organization} />
        <SelectFilter
          name="state"
          label="State"
          any="Any state"
          options={STATES.map((state) => [state, state.replaceAll('_', ' ')] as const)}
          selected={f.state}
        />
      </FilterForm>
      <section class="card" aria-labelledby="list-title">
        <h2 id="list-title">Connected accounts</h2>
        <DataTable
          columns={['Account', 'Provider', 'Owner', 'State', 'Last refresh']}
          rows={props.accounts}
          empty="No connection matches. Connections appear when your users finish the connect flow (POST /data-integrations/{slug}/authorize) or when your app imports tokens."
          row={(a) => (
            <tr>
              <td>
                <a href={`/dashboard/connections/${a.id}`}>{accountLabel(a)}</a>
                <div class="sub mono">{a.id}</div>
              </td>
              <td>{a.provider_slug}</td>
              <td>
                <Owner account={a} />
              </td>
              <td>
                <StateBadge state={a.state} />
              </td>
              <td>
                <Time ms={a.last_refresh_at} />
                {a.last_refresh_outcome ? (
                  <div class="sub">{a.last_refresh_outcome.replaceAll('_', ' ')}</div>
                ) : null}
              </td>
            </tr>
          )}
        />
        <OlderPageLink href={props.next} label="Older connections →" />
      </section>
    </Page>
  );
}

const HEALTHY_OUTCOMES = new Set(['refreshed', 'granted', 'imported']);

function ScopeList(props: { scopes: readonly string[]; empty: string }) {
  if (props.scopes.length === 0) return <span class="sub">{props.empty}</span>;
  return (
    <span>
      {props.scopes.map((scope, i) => (
        <>
          {i > 0 ? ' ' : ''}
          <code>{scope}</code>
        </>
      ))}
    </span>
  );
}

export function ConnectionPage(props: {
  frame: Frame;
  account: ConnectedAccountTable;
  providerName: string;
  granted: readonly string[];
  requested: readonly string[];
  missing: readonly string[];
  events: readonly EventTable[];
  redirectUri: string | null;
}) {
  const a = props.account;
  const context: FixContext = {
    providerName: props.providerName,
    slug: a.provider_slug,
    userId: a.user_id,
    missingScopes: props.missing,
    redirectUri: props.redirectUri ?? undefined,
  };
  const refreshFailed = a.last_refresh_outcome !== null && !HEALTHY_OUTCOMES.has(a.last_refresh_outcome);
  return (
    <Page {...props.frame} title={accountLabel(a)}>
      <p class="lead">
        {props.providerName} connection <code>{a.id}</code>
      </p>
      {a.state === 'needs_reauthorization' ? (
        <div class="problem" role="alert">
          <strong>This connection needs reauthorization</strong>
          {a.reauthorization_reason ? (
            <>
              {' '}
              (reason: <code>{a.reauthorization_reason}</code>)
            </>
          ) : null}
          . Token requests for it answer <code>active: false</code>.
        </div>
      ) : null}
      {a.state === 'needs_reauthorization' ? (
        <FixLine fix={fixFor(a.reauthorization_reason ?? 'needs_reauthorization', context)} />
      ) : null}
      <section class="card" aria-labelledby="facts-title">
        <h2 id="facts-title">Connection</h2>
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <StateBadge state={a.state} />
          </dd>
          <dt>Provider</dt>
          <dd>
            <a href={`/dashboard/providers/${a.provider_slug}`}>{props.providerName}</a>
          </dd>
          <dt>Owner</dt>
          <dd>
            <Owner account={a} />
          </dd>
          <dt>Provider account</dt>
          <dd>
            {a.account_display_name ?? '—'}
            {a.account_identifier ? (
              <span class="sub">
                {' '}
                (id <code>{a.account_identifier}</code>)
              </span>
            ) : null}
          </dd>
          <dt>Sign-in</dt>
          <dd>
            {a.auth_method.replaceAll('_', ' ')}
            {a.api_key_last4 ? ` · key …${a.api_key_last4}` : ''}
          </dd>
          <dt>Connected</dt>
          <dd>
            <Time ms={a.created_at} />
          </dd>
          <dt>Token expires</dt>
          <dd>
            {a.expires_at === null ? (
              a.expiry_kind === 'never' ? (
                'never'
              ) : (
                'unknown'
              )
            ) : (
              <Time ms={a.expires_at} />
            )}
          </dd>
          <dt>Next refresh</dt>
          <dd>
            <Time ms={a.next_refresh_at} />
          </dd>
          <dt>Last used by your app</dt>
          <dd>
            <Time ms={a.last_used_at} />
          </dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="scopes-title">
        <h2 id="scopes-title">Scopes</h2>
        <dl class="facts">
          <dt>Granted</dt>
          <dd>
            <ScopeList scopes={props.granted} empty="none" />
          </dd>
          <dt>Asked for by the integration</dt>
          <dd>
            <ScopeList scopes={props.requested} empty="the provider's defaults (none listed)" />
          </dd>
          <dt>Missing</dt>
          <dd>
            <ScopeList scopes={props.missing} empty="none" />
          </dd>
        </dl>
        {props.missing.length > 0 ? <FixLine fix={fixFor('missing_scopes', context)} /> : null}
      </section>
      <section class="card" aria-labelledby="refresh-title">
        <h2 id="refresh-title">Last refresh</h2>
        <dl class="facts">
          <dt>When</dt>
          <dd>
            <Time ms={a.last_refresh_at} />
          </dd>
          <dt>Outcome</dt>
          <dd>
            {a.last_refresh_outcome === null ? (
              '—'
            ) : (
              <span class={refreshFailed ? 'badge bad' : 'badge ok'}>
                {a.last_refresh_outcome.replaceAll('_', ' ')}
              </span>
            )}
          </dd>
          <dt>Error</dt>
          <dd>{a.last_refresh_error === null ? 'none' : <code>{a.last_refresh_error}</code>}</dd>
          <dt>Failures in a row</dt>
          <dd>{a.refresh_failures}</dd>
          <dt>Reauthorization reason</dt>
          <dd>{a.reauthorization_reason === null ? 'none' : <code>{a.reauthorization_reason}</code>}</dd>
        </dl>
        {refreshFailed && a.state !== 'needs_reauthorization' ? (
          <FixLine fix={fixFor(a.last_refresh_outcome, context)} />
        ) : null}
      </section>
      <section class="card" aria-labelledby="events-title">
        <h2 id="events-title">Events of this connection</h2>
        <EventTableView events={props.events} csrf={null} back={null} liveAccounts={new Set([a.id])} />
        <p class="pager">
          <a href={`/dashboard/events?connection=${a.id}`}>All events of this connection</a>
        </p>
      </section>
      <section class="card" aria-labelledby="disconnect-title">
        <h2 id="disconnect-title">Disconnect</h2>
        <p>
          Erases this connection's tokens and revokes the grant at {props.providerName} where it can. Your app
          gets a <code>disconnected</code> event.
        </p>
        <a class="button secondary" href={`/dashboard/connections/${a.id}/disconnect`}>
          Disconnect…
        </a>
      </section>
    </Page>
  );
}
