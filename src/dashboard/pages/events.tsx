/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { PIPES_EVENT_NAMES } from '../../events/names.ts';
import type { EventTable } from '../../store/schema.ts';
import { DataTable } from '../components/data-table.tsx';
import { FilterForm, SelectFilter, TextFilter } from '../components/filter-form.tsx';
import { OlderPageLink } from '../components/pager.tsx';
import { fixFor } from '../fixes.ts';
import { CsrfField, FixLine, type Frame, Page, Time } from '../layout.tsx';

export interface EventFilterView {
  event: string;
  provider: string;
  organization: string;
  connection: string;
}

type EventData = Record<string, unknown>;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function parseData(row: EventTable): EventData {
  try {
    return JSON.parse(row.data) as EventData;
  } catch {
    return {};
  }
}

function EventSummary(props: {
  row: EventTable;
  data: EventData;
  redirectUris: ReadonlyMap<string, string>;
  liveAccounts: ReadonlySet<string>;
}) {
  const { row, data } = props;
  const slug = text(data.provider_slug);
  const errorCode = text(data.error_code);
  const providerError = text(data.provider_error);
  const integrationId = text(data.data_integration_id);
  return (
    <div>
      {slug ? (
        <div>
          provider <a href={`/dashboard/providers/${slug}`}>{slug}</a>
          {text(data.user_id) ? (
            <>
              {' · user '}
              <code>{text(data.user_id)}</code>
            </>
          ) : null}
          {row.organization_id ? (
            <>
              {' · organization '}
              <code>{row.organization_id}</code>
            </>
          ) : null}
        </div>
      ) : null}
      {row.connected_account_id === null ? null : props.liveAccounts.has(row.connected_account_id) ? (
        <div class="sub">
          connection{' '}
          <a href={`/dashboard/connections/${row.connected_account_id}`}>{row.connected_account_id}</a>
        </div>
      ) : (
        <div class="sub">
          connection <code>{row.connected_account_id}</code> (no longer exists)
        </div>
      )}
      {errorCode ? (
        <>
          <div>
            error <code>{errorCode}</code>
            {providerError ? (
              <>
                {' '}
                (provider: <code>{providerError}</code>)
              </>
            ) : null}
          </div>
          {text(data.error_reason) ? <div class="sub">{text(data.error_reason)}</div> : null}
          {text(data.provider_error_description) ? (
            <div class="sub">Provider said: {text(data.provider_error_description)}</div>
          ) : null}
          <FixLine
            fix={fixFor(providerError === 'redirect_uri_mismatch' ? 'redirect_uri_mismatch' : errorCode, {
              providerName: slug ?? undefined,
              slug: slug ?? undefined,
              userId: text(data.user_id),
              redirectUri: integrationId === null ? undefined : props.redirectUris.get(integrationId),
            })}
          />
        </>
      ) : null}
    </div>
  );
}

/** A table of events with their data (and a redeliver button when `csrf` is given). */
export function EventTableView(props: {
  events: readonly EventTable[];
  csrf: string | null;
  back: string | null;
  redirectUris?: ReadonlyMap<string, string>;
  /** Connections that still exist: only those are linked. */
  liveAccounts: ReadonlySet<string>;
}) {
  return (
    <DataTable
      columns={['Event', 'About', props.csrf === null ? null : 'Webhooks']}
      rows={props.events}
      empty="No events."
      row={(row) => {
        const data = parseData(row);
        return (
          <tr>
            <td>
              <code class="nowrap">{row.event}</code>
              <div class="sub">
                <Time ms={row.created_at} />
              </div>
            </td>
            <td>
              <EventSummary
                row={row}
                data={data}
                redirectUris={props.redirectUris ?? new Map()}
                liveAccounts={props.liveAccounts}
              />
              <details>
                <summary class="sub">Data</summary>
                <pre>{JSON.stringify(data, null, 2)}</pre>
              </details>
            </td>
            {props.csrf === null ? null : (
              <td>
                <form method="post" action={`/dashboard/events/${row.id}/redeliver`}>
                  <CsrfField token={props.csrf} />
                  <input type="hidden" name="back" value={props.back ?? '/dashboard/events'} />
                  <button type="submit" class="secondary small" aria-label={`Redeliver ${row.id}`}>
                    Redeliver
                  </button>
                </form>
              </td>
            )}
          </tr>
        );
      }}
    />
  );
}

export function EventsPage(props: {
  frame: Frame;
  filter: EventFilterView;
  events: readonly EventTable[];
  next: string | null;
  back: string;
  redirectUris: ReadonlyMap<string, string>;
  liveAccounts: ReadonlySet<string>;
  problem: { message: string; code: string } | null;
}) {
  const f = props.filter;
  return (
    <Page {...props.frame} title="Events">
      <p class="lead">
        What happened to connections in this environment: the same events <code>GET /events</code> lists and
        webhook endpoints receive. Newest first.
      </p>
      {props.problem ? (
        <>
          <div class="problem" role="alert">
            {props.problem.message}
          </div>
          <FixLine fix={fixFor(props.problem.code)} />
        </>
      ) : null}
      <FilterForm action="/dashboard/events">
        <SelectFilter
          name="event"
          label="Event"
          any="Any event"
          options={PIPES_EVENT_NAMES.map((name) => [name, name] as const)}
          selected={f.event}
        />
        <TextFilter name="provider" label="Provider slug" value={f.provider} />
        <TextFilter name="organization" label="Organization id" value={f.organization} />
        <TextFilter name="connection" label="Connection id" value={f.connection} />
      </FilterForm>
      <section class="card" aria-labelledby="log-title">
        <h2 id="log-title">Event log</h2>
        <EventTableView
          events={props.events}
          csrf={props.frame.session.csrfToken}
          back={props.back}
          redirectUris={props.redirectUris}
          liveAccounts={props.liveAccounts}
        />
        <OlderPageLink href={props.next} label="Older events →" />
      </section>
    </Page>
  );
}
