/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldError } from '../../errors.ts';
import { EVENT_ALIASES, PIPES_EVENT_NAMES } from '../../events/names.ts';
import type { WebhookEndpointRecord } from '../../events/webhook-endpoints.ts';
import type { WebhookAttemptTable, WebhookDeliveryTable } from '../../store/schema.ts';
import { DataTable } from '../components/data-table.tsx';
import { OlderPageLink } from '../components/pager.tsx';
import { fixFor } from '../fixes.ts';
import { CsrfField, FixLine, type Frame, Page, ProblemsWithFixes, StateBadge, Time } from '../layout.tsx';

/** The one place a new secret appears: right after it was created or rotated, never again. */
export function SecretOnce(props: { label: string; secret: string; what: string }) {
  return (
    <div class="secret-once" role="status">
      <strong>{props.label}</strong>
      <label for="new-secret">{props.what}</label>
      <input
        id="new-secret"
        type="text"
        readonly
        value={props.secret}
        autocomplete="off"
        spellcheck={false}
      />
      <span>Copy it now: it is shown only this once. Pipes keeps only its last 4 characters in clear.</span>
    </div>
  );
}

const events = (record: WebhookEndpointRecord) => JSON.parse(record.events) as string[];

export function WebhooksPage(props: {
  frame: Frame;
  endpoints: readonly WebhookEndpointRecord[];
  created: { record: WebhookEndpointRecord; secret: string } | null;
  draft: { url: string; events: string[] };
  errors: readonly FieldError[];
}) {
  const csrf = props.frame.session.csrfToken;
  return (
    <Page {...props.frame} title="Webhooks">
      <p class="lead">
        Endpoints of your app that receive this environment's events as signed POSTs, retried for about three
        days.
      </p>
      {props.created ? (
        <SecretOnce
          label={`Webhook endpoint created for ${props.created.record.endpoint_url}.`}
          what="Signing secret"
          secret={props.created.secret}
        />
      ) : null}
      <ProblemsWithFixes errors={props.errors} />
      <section class="card" aria-labelledby="endpoints-title">
        <h2 id="endpoints-title">Endpoints</h2>
        <DataTable
          columns={['URL', 'Events', 'Status', 'Secret']}
          rows={props.endpoints}
          empty="No webhook endpoint in this environment yet."
          row={(e) => (
            <tr>
              <td>
                <a href={`/dashboard/webhooks/${e.id}`}>{e.endpoint_url}</a>
                <div class="sub mono">{e.id}</div>
              </td>
              <td class="sub">{events(e).join(', ')}</td>
              <td>
                <StateBadge state={e.status} />
                {e.disabled_reason ? <div class="sub">{e.disabled_reason}</div> : null}
              </td>
              <td class="mono">…{e.secret_last4}</td>
            </tr>
          )}
        />
      </section>
      <section class="card" aria-labelledby="create-title">
        <h2 id="create-title">Add an endpoint</h2>
        <form method="post" action="/dashboard/webhooks">
          <CsrfField token={csrf} />
          <div class="field">
            <label for="endpoint_url">Endpoint URL</label>
            <p class="hint" id="url-hint">
              An https URL of your app (http is accepted in development only).
            </p>
            <input
              id="endpoint_url"
              name="endpoint_url"
              type="url"
              required
              value={props.draft.url}
              aria-describedby="url-hint"
            />
          </div>
          <fieldset>
            <legend>Events</legend>
            {PIPES_EVENT_NAMES.map((name) => (
              <label class="choice">
                <input
                  type="checkbox"
                  name="events"
                  value={name}
                  checked={props.draft.events.includes(name)}
                />
                <span>
                  <code>{name}</code>
                </span>
              </label>
            ))}
            {Object.entries(EVENT_ALIASES).map(([alias, names]) => (
              <label class="choice">
                <input
                  type="checkbox"
                  name="events"
                  value={alias}
                  checked={props.draft.events.includes(alias)}
                />
                <span>
                  <code>{alias}</code>
                  <span class="hint">Alias for older apps: {names.join(' and ')}.</span>
                </span>
              </label>
            ))}
          </fieldset>
          <button type="submit">Add endpoint</button>
        </form>
      </section>
    </Page>
  );
}

function Attempts(props: { attempts: readonly WebhookAttemptTable[] }) {
  if (props.attempts.length === 0) return <span class="sub">not attempted yet</span>;
  return (
    <ol>
      {props.attempts.map((a) => (
        <li>
          <Time ms={a.started_at} /> · {a.status_code === null ? 'no answer' : `HTTP ${a.status_code}`} ·{' '}
          {a.latency_ms} ms · {a.outcome}
          {a.error ? <div class="sub">{a.error}</div> : null}
          {a.response_body ? (
            <details>
              <summary class="sub">Response body</summary>
              <pre>{a.response_body}</pre>
            </details>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function WebhookPage(props: {
  frame: Frame;
  endpoint: WebhookEndpointRecord;
  deliveries: readonly WebhookDeliveryTable[];
  attempts: ReadonlyMap<string, WebhookAttemptTable[]>;
  rotated: string | null;
  next: string | null;
}) {
  const e = props.endpoint;
  const csrf = props.frame.session.csrfToken;
  const back = `/dashboard/webhooks/${e.id}`;
  return (
    <Page {...props.frame} title="Webhook endpoint">
      <p class="lead">
        <code>{e.endpoint_url}</code>
      </p>
      {props.rotated ? (
        <SecretOnce
          label="The signing secret was rotated."
          what="New signing secret"
          secret={props.rotated}
        />
      ) : null}
      <section class="card" aria-labelledby="endpoint-title">
        <div class="spread">
          <h2 id="endpoint-title">
            Endpoint <StateBadge state={e.status} />
          </h2>
          <form method="post" action={`/dashboard/webhooks/${e.id}/status`}>
            <CsrfField token={csrf} />
            <input type="hidden" name="status" value={e.status === 'enabled' ? 'disabled' : 'enabled'} />
            <button type="submit" class={e.status === 'enabled' ? 'secondary' : ''}>
              {e.status === 'enabled' ? 'Disable' : 'Enable'}
            </button>
          </form>
        </div>
        {e.disabled_reason && e.disabled_reason !== 'manual' ? (
          <FixLine fix={fixFor(e.disabled_reason)} />
        ) : null}
        <dl class="facts">
          <dt>ID</dt>
          <dd class="mono">{e.id}</dd>
          <dt>Events</dt>
          <dd>{events(e).join(', ')}</dd>
          <dt>Signing secret</dt>
          <dd class="mono">…{e.secret_last4}</dd>
          <dt>Previous secret</dt>
          <dd>
            {e.previous_secret_expires_at === null ? (
              'none'
            ) : (
              <>
                still signing until <Time ms={e.previous_secret_expires_at} />
              </>
            )}
          </dd>
          <dt>Failing since</dt>
          <dd>{e.failing_since === null ? 'healthy' : <Time ms={e.failing_since} />}</dd>
          <dt>Created</dt>
          <dd>
            <Time ms={e.created_at} />
          </dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="rotate-title">
        <h2 id="rotate-title">Rotate the signing secret</h2>
        <form method="post" action={`/dashboard/webhooks/${e.id}/rotate`} class="row">
          <CsrfField token={csrf} />
          <div>
            <label for="overlap">Keep signing with the old secret for</label>
            <select id="overlap" name="overlap">
              <option value="0">no time (stop at once)</option>
              <option value="3600">1 hour</option>
              <option value="86400" selected>
                1 day
              </option>
              <option value="604800">7 days</option>
            </select>
          </div>
          <button type="submit">Rotate secret</button>
        </form>
      </section>
      <section class="card" aria-labelledby="deliveries-title">
        <h2 id="deliveries-title">Deliveries</h2>
        <DataTable
          columns={['Event', 'Status', 'Attempts and responses', 'Redeliver']}
          rows={props.deliveries}
          empty="Nothing delivered to this endpoint yet."
          row={(d) => (
            <tr>
              <td>
                <code class="nowrap">{d.event_name}</code>
                <div class="sub mono">{d.event_id}</div>
                {d.manual === 1 ? <div class="sub">manual redelivery</div> : null}
              </td>
              <td>
                <StateBadge state={d.status} />
                {d.status === 'pending' ? (
                  <div class="sub">
                    next <Time ms={d.next_attempt_at} />
                  </div>
                ) : null}
              </td>
              <td>
                <Attempts attempts={props.attempts.get(d.id) ?? []} />
              </td>
              <td>
                <form method="post" action={`/dashboard/events/${d.event_id}/redeliver`}>
                  <CsrfField token={csrf} />
                  <input type="hidden" name="endpoint" value={e.id} />
                  <input type="hidden" name="back" value={back} />
                  <button type="submit" class="secondary small" aria-label={`Redeliver ${d.event_id}`}>
                    Redeliver
                  </button>
                </form>
              </td>
            </tr>
          )}
        />
        <OlderPageLink href={props.next} label="Older deliveries →" />
      </section>
      <section class="card" aria-labelledby="delete-title">
        <h2 id="delete-title">Delete</h2>
        <p>Deleting the endpoint drops its pending deliveries and its delivery log.</p>
        <a class="button secondary" href={`/dashboard/webhooks/${e.id}/delete`}>
          Delete endpoint…
        </a>
      </section>
    </Page>
  );
}
