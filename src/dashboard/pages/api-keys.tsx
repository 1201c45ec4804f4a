/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldError } from '../../errors.ts';
import type { ApiKeyRecord } from '../../store/api-keys.ts';
import { DataTable } from '../components/data-table.tsx';
import { fixFor } from '../fixes.ts';
import { CsrfField, FixLine, type Frame, Page, Problems, Time } from '../layout.tsx';
import { SecretOnce } from './webhooks.tsx';

export function ApiKeysPage(props: {
  frame: Frame;
  keys: readonly ApiKeyRecord[];
  prefix: string;
  created: { record: ApiKeyRecord; key: string } | null;
  errors: readonly FieldError[];
}) {
  const env = props.frame.session.environment;
  return (
    <Page {...props.frame} title="API keys">
      <p class="lead">
        Your backend sends one of these as <code>Authorization: Bearer …</code>. Keys of {env.name} see only{' '}
        {env.name}'s data.
      </p>
      {props.created ? (
        <SecretOnce
          label={`API key "${props.created.record.name}" created.`}
          what="API key"
          secret={props.created.key}
        />
      ) : null}
      <Problems errors={props.errors} />
      <section class="card" aria-labelledby="create-title">
        <h2 id="create-title">Create a key</h2>
        <form method="post" action="/dashboard/api-keys" class="row">
          <CsrfField token={props.frame.session.csrfToken} />
          <div>
            <label for="name">Name</label>
            <input id="name" name="name" type="text" required maxlength={100} placeholder="e.g. backend" />
          </div>
          <button type="submit">Create key</button>
        </form>
      </section>
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        <DataTable
          columns={['Name', 'Key', 'Created', 'Last used', 'Status']}
          rows={props.keys}
          empty={`No API key in ${env.name} yet.`}
          row={(k) => (
            <tr>
              <td>{k.name}</td>
              <td class="mono">
                {props.prefix}…{k.last4}
              </td>
              <td>
                <Time ms={k.created_at} />
              </td>
              <td>
                <Time ms={k.last_used_at} />
              </td>
              <td>
                {k.revoked_at === null ? (
                  <div class="actions">
                    <span class="badge ok">active</span>
                    <a
                      href={`/dashboard/api-keys/${k.id}/revoke`}
                      aria-label={`Revoke ${k.name} …${k.last4}`}
                    >
                      Revoke…
                    </a>
                  </div>
                ) : (
                  <>
                    <span class="badge">revoked</span>
                    <div class="sub">
                      <Time ms={k.revoked_at} />
                    </div>
                  </>
                )}
              </td>
            </tr>
          )}
        />
      </section>
      <section class="card" aria-labelledby="help-title">
        <h2 id="help-title">Your app gets "Invalid API key" (401)?</h2>
        <FixLine fix={fixFor('unauthorized')} />
      </section>
    </Page>
  );
}
