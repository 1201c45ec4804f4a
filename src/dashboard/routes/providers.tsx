/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { toFieldErrors } from '../../api/body.ts';
import type { AppContext } from '../../context.ts';
import { type FieldError, PipesError } from '../../errors.ts';
import { SLUG_PATTERN } from '../../providers/catalog-schema.ts';
import { customProviderEntry, parseStoredCustomProvider } from '../../providers/custom-provider.ts';
import { describeIntegrationStatus } from '../../providers/integration-status.ts';
import {
  createDataIntegration,
  createIntegrationSchema,
  deleteDataIntegration,
  updateDataIntegration,
  updateIntegrationSchema,
} from '../../providers/manage-integrations.ts';
import {
  type DataIntegrationRow,
  findCustomDefinition,
  findDataIntegration,
  type Ownership,
} from '../../store/data-integrations.ts';
import type { Environment } from '../../store/environments.ts';
import {
  type Dash,
  type DashContext,
  type DashEnv,
  errorsOf,
  formValue,
  formValues,
  frameFor,
  readForm,
  render,
  withNotice,
} from '../dash.ts';
import { ConfirmPage } from '../pages/confirm.tsx';
import {
  type CredentialsDraft,
  type CustomProviderDraft,
  CustomProviderPage,
  EMPTY_CUSTOM_DRAFT,
  ProviderPage,
  ProvidersPage,
} from '../pages/providers.tsx';
import {
  listProviderItems,
  matchesQuery,
  type ProviderItem,
  redirectUriFor,
  selectedScopes,
  sharedCredentialsAvailability,
} from '../provider-view.ts';

const notFound = () => new PipesError('not_found', 'Provider not found.', { status: 404 });

const ownershipOf = (value: string | undefined): Ownership =>
  value === 'organization' ? 'organization' : 'user';

/** The provider behind `slug` in this environment (catalog entry or custom definition) and its integration. */
async function loadProvider(
  ctx: AppContext,
  env: Environment,
  slug: string,
  ownership: Ownership,
): Promise<ProviderItem> {
  if (!SLUG_PATTERN.test(slug) || slug.length > 64) throw notFound();
  const integration = await findDataIntegration(ctx.store.db, env.id, slug, ownership);
  const stored = integration?.custom_provider ?? (await findCustomDefinition(ctx.store.db, env.id, slug));
  let entry = ctx.catalog.get(slug);
  let custom = false;
  if (stored !== null && entry === undefined) {
    entry = customProviderEntry(slug, parseStoredCustomProvider(stored));
    custom = true;
  }
  if (entry === undefined) throw notFound();
  if (slug === 'sandbox' && env.kind !== 'sandbox' && integration === undefined) throw notFound();
  return {
    entry,
    custom,
    integration,
    status: integration === undefined ? null : describeIntegrationStatus(ctx, integration, env),
  };
}

async function countConnections(ctx: AppContext, row: DataIntegrationRow | undefined): Promise<number> {
  if (row === undefined) return 0;
  const found = await ctx.store.db
    .selectFrom('connected_accounts')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('data_integration_id', '=', row.id)
    .executeTakeFirst();
  return Number(found?.n ?? 0);
}

function draftFrom(ctx: AppContext, env: Environment, item: ProviderItem): CredentialsDraft {
  const row = item.integration;
  const scopes = selectedScopes(item.entry, row);
  const known = new Set((item.entry.oauth?.scopes ?? []).map((s) => s.name));
  const shared = sharedCredentialsAvailability(ctx, env, item);
  return {
    credentialsType:
      row?.credentials_type === 'shared'
        ? 'shared'
        : row?.credentials_type === 'custom' || !shared.available
          ? 'custom'
          : 'shared',
    clientId: row?.credentials_type === 'custom' ? (row.client_id ?? '') : '',
    scopes,
    otherScopes: scopes.filter((s) => !known.has(s)).join(' '),
    description: row?.description ?? '',
  };
}

async function renderProvider(
  dash: Dash,
  c: DashContext,
  item: ProviderItem,
  ownership: Ownership,
  options: { errors?: FieldError[]; draft?: CredentialsDraft; status?: 200 | 422 } = {},
) {
  const { ctx } = dash;
  const env = c.get('session').environment;
  const redirectUri = item.integration === undefined ? null : redirectUriFor(ctx, item.integration);
  return render(
    c,
    <ProviderPage
      frame={await frameFor(dash, c, 'providers')}
      item={item}
      ownership={ownership}
      redirectUri={redirectUri}
      shared={sharedCredentialsAvailability(ctx, env, item)}
      draft={options.draft ?? draftFrom(ctx, env, item)}
      connections={await countConnections(ctx, item.integration)}
      errors={options.errors ?? []}
      fixContext={{
        providerName: item.entry.name,
        slug: item.entry.slug,
        redirectUri: redirectUri ?? undefined,
      }}
      definition={
        item.integration?.custom_provider ? parseStoredCustomProvider(item.integration.custom_provider) : null
      }
    />,
    options.status ?? 200,
  );
}

const providerPath = (slug: string, ownership: Ownership) =>
  `/dashboard/providers/${slug}${ownership === 'organization' ? '?ownership=organization' : ''}`;

const unique = (values: string[]) => [...new Set(values)];

export function mountProviderRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const { ctx } = dash;

  app.get('/providers', async (c) => {
    const env = c.get('session').environment;
    const filter = {
      q: (c.req.query('q') ?? '').slice(0, 100),
      status: c.req.query('status') ?? '',
      category: c.req.query('category') ?? '',
    };
    const items = (await listProviderItems(ctx, env)).filter((item) => {
      if (!matchesQuery(item, filter.q)) return false;
      if (filter.category !== '' && !item.entry.categories.includes(filter.category as never)) return false;
      const status = item.status === null ? 'unconfigured' : item.status.status;
      if (filter.status === 'configured') return item.status !== null;
      if (filter.status !== '') return status === filter.status;
      return true;
    });
    return render(
      c,
      <ProvidersPage
        frame={await frameFor(dash, c, 'providers')}
        filter={filter}
        configured={items.filter((i) => i.integration !== undefined)}
        catalog={items.filter((i) => i.integration === undefined)}
      />,
    );
  });

  app.get('/providers/:slug', async (c) => {
    const ownership = ownershipOf(c.req.query('ownership'));
    const item = await loadProvider(ctx, c.get('session').environment, c.req.param('slug'), ownership);
    return renderProvider(dash, c, item, ownership);
  });

  app.post('/providers/:slug/add', async (c) => {
    const env = c.get('session').environment;
    const form = await readForm(c);
    const ownership = ownershipOf(formValue(form, 'ownership'));
    const item = await loadProvider(ctx, env, c.req.param('slug'), ownership);
    const choice = formValue(form, 'credentials');
    const parsed = createIntegrationSchema.safeParse({
      provider: item.entry.slug,
      ownership,
      ...(choice === 'shared'
        ? { enabled: true, credentials: { type: 'shared' } }
        : choice === 'custom'
          ? { enabled: false }
          : { enabled: true }),
    });
    try {
      if (!parsed.success)
        throw new PipesError('invalid', 'Invalid.', { errors: toFieldErrors(parsed.error.issues) });
      await createDataIntegration(ctx, env, parsed.data);
    } catch (error) {
      return renderProvider(dash, c, item, ownership, { errors: errorsOf(error), status: 422 });
    }
    return c.redirect(
      withNotice(providerPath(item.entry.slug, ownership), choice === 'custom' ? 'added' : 'saved'),
      303,
    );
  });

  app.post('/providers/:slug/credentials', async (c) => {
    const env = c.get('session').environment;
    const form = await readForm(c);
    const ownership = ownershipOf(formValue(form, 'ownership'));
    const item = await loadProvider(ctx, env, c.req.param('slug'), ownership);
    const row = item.integration;
    if (row === undefined) throw notFound();
    const oauth = item.entry.auth_methods.includes('oauth');
    const type = formValue(form, 'credentials_type');
    const clientId = formValue(form, 'client_id').trim();
    const secret = formValue(form, 'client_secret');
    const description = formValue(form, 'description').trim();
    const scopes = unique([
      ...formValues(form, 'scope'),
      ...formValue(form, 'other_scopes')
        .split(/[\s,]+/)
        .filter((s) => s !== ''),
    ]);
    const input: Record<string, unknown> = { description: description === '' ? null : description };
    const errors: FieldError[] = [];
    if (oauth) {
      const unchangedDefaults =
        row.scopes === null &&
        JSON.stringify([...scopes].sort()) === JSON.stringify(selectedScopes(item.entry, undefined).sort());
      if (!unchangedDefaults) input.scopes = scopes;
      if (type === 'shared') input.credentials = { type: 'shared' };
      else if (type === 'custom') {
        const keepSecret = secret === '' && row.credentials_type === 'custom' && row.client_id === clientId;
        if (!keepSecret) {
          input.credentials = {
            type: 'custom',
            ...(clientId !== '' ? { client_id: clientId } : {}),
            ...(secret !== '' ? { client_secret: secret } : {}),
          };
        }
      } else {
        errors.push({
          field: 'credentials_type',
          code: 'required',
          message: 'Choose shared or custom credentials.',
        });
      }
    }
    const parsed = updateIntegrationSchema.safeParse(input);
    if (!parsed.success) errors.push(...toFieldErrors(parsed.error.issues));
    if (errors.length === 0 && parsed.success) {
      try {
        await updateDataIntegration(ctx, env, row, parsed.data);
        return c.redirect(withNotice(providerPath(item.entry.slug, ownership), 'saved'), 303);
      } catch (error) {
        errors.push(...errorsOf(error));
      }
    }
    // The secret is never echoed back into the page.
    const known = new Set((item.entry.oauth?.scopes ?? []).map((s) => s.name));
    return renderProvider(dash, c, item, ownership, {
      errors,
      status: 422,
      draft: {
        credentialsType: type === 'shared' ? 'shared' : 'custom',
        clientId,
        scopes,
        otherScopes: scopes.filter((s) => !known.has(s)).join(' '),
        description,
      },
    });
  });

  app.post('/providers/:slug/enabled', async (c) => {
    const env = c.get('session').environment;
    const form = await readForm(c);
    const ownership = ownershipOf(formValue(form, 'ownership'));
    const item = await loadProvider(ctx, env, c.req.param('slug'), ownership);
    if (item.integration === undefined) throw notFound();
    const enabled = formValue(form, 'enabled') === 'true';
    try {
      await updateDataIntegration(ctx, env, item.integration, { enabled });
    } catch (error) {
      return renderProvider(dash, c, item, ownership, { errors: errorsOf(error), status: 422 });
    }
    return c.redirect(
      withNotice(providerPath(item.entry.slug, ownership), enabled ? 'enabled' : 'disabled'),
      303,
    );
  });

  app.get('/providers/:slug/remove', async (c) => {
    const ownership = ownershipOf(c.req.query('ownership'));
    const item = await loadProvider(ctx, c.get('session').environment, c.req.param('slug'), ownership);
    if (item.integration === undefined) throw notFound();
    const connections = await countConnections(ctx, item.integration);
    return render(
      c,
      <ConfirmPage
        frame={await frameFor(dash, c, 'providers')}
        title={`Remove ${item.entry.name}?`}
        action={`/dashboard/providers/${item.entry.slug}/remove`}
        button={`Remove ${item.entry.name}`}
        cancel={providerPath(item.entry.slug, ownership)}
        hidden={{ ownership }}
      >
        <p>
          This removes {item.entry.name} from the {c.get('session').environment.name} environment and
          disconnects its {connections} connection{connections === 1 ? '' : 's'} (one{' '}
          <code>disconnected</code> event each). Users would have to connect again.{' '}
          {item.custom ? 'The custom provider definition is deleted too.' : ''}
        </p>
      </ConfirmPage>,
    );
  });

  app.post('/providers/:slug/remove', async (c) => {
    const form = await readForm(c);
    const ownership = ownershipOf(formValue(form, 'ownership'));
    const item = await loadProvider(ctx, c.get('session').environment, c.req.param('slug'), ownership);
    if (item.integration === undefined) throw notFound();
    await deleteDataIntegration(ctx, item.integration);
    return c.redirect('/dashboard/providers?notice=removed', 303);
  });

  app.get('/custom-providers/new', async (c) =>
    render(
      c,
      <CustomProviderPage
        frame={await frameFor(dash, c, 'providers')}
        draft={EMPTY_CUSTOM_DRAFT}
        errors={[]}
      />,
    ),
  );

  app.post('/custom-providers', async (c) => {
    const env = c.get('session').environment;
    const form = await readForm(c);
    const text = (name: keyof CustomProviderDraft) => formValue(form, name).trim();
    const checked = (name: keyof CustomProviderDraft) => formValue(form, name) === 'true';
    const draft: CustomProviderDraft = {
      slug: text('slug'),
      name: text('name'),
      authorization_url: text('authorization_url'),
      token_url: text('token_url'),
      refresh_token_url: text('refresh_token_url'),
      issuer: text('issuer'),
      revocation_url: text('revocation_url'),
      api_base_url: text('api_base_url'),
      pkce_enabled: checked('pkce_enabled'),
      scopes_required: checked('scopes_required'),
      client_secret_required: checked('client_secret_required'),
      request_scope_separator: formValue(form, 'request_scope_separator') || ' ',
      token_body_content_type: text('token_body_content_type'),
      authenticate_via: text('authenticate_via'),
      additional_authorization_parameters: formValue(form, 'additional_authorization_parameters'),
      description: text('description'),
    };
    const errors: FieldError[] = [];
    const params: Record<string, string> = {};
    for (const line of draft.additional_authorization_parameters.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      const eq = line.indexOf('=');
      if (eq <= 0) {
        errors.push({
          field: 'additional_authorization_parameters',
          code: 'invalid',
          message: `"${line.trim().slice(0, 60)}" is not name=value.`,
        });
      } else params[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    const parsed = createIntegrationSchema.safeParse({
      provider: draft.slug,
      description: draft.description === '' ? null : draft.description,
      enabled: false,
      custom_provider: {
        name: draft.name,
        authorization_url: draft.authorization_url,
        token_url: draft.token_url,
        ...(draft.refresh_token_url !== '' ? { refresh_token_url: draft.refresh_token_url } : {}),
        ...(draft.issuer !== '' ? { issuer: draft.issuer } : {}),
        ...(draft.revocation_url !== '' ? { revocation_url: draft.revocation_url } : {}),
        ...(draft.api_base_url !== '' ? { api_base_url: draft.api_base_url } : {}),
        pkce_enabled: draft.pkce_enabled,
        scopes_required: draft.scopes_required,
        client_secret_required: draft.client_secret_required,
        request_scope_separator: draft.request_scope_separator,
        token_body_content_type: draft.token_body_content_type,
        authenticate_via: draft.authenticate_via,
        additional_authorization_parameters: params,
      },
    });
    if (!parsed.success) errors.push(...toFieldErrors(parsed.error.issues));
    if (errors.length === 0 && parsed.success) {
      try {
        await createDataIntegration(ctx, env, parsed.data);
        return c.redirect(withNotice(`/dashboard/providers/${draft.slug}`, 'added'), 303);
      } catch (error) {
        errors.push(...errorsOf(error));
      }
    }
    return render(
      c,
      <CustomProviderPage frame={await frameFor(dash, c, 'providers')} draft={draft} errors={errors} />,
      422,
    );
  });
}
