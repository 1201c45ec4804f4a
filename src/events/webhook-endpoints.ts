import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import { isId, newId } from '../lib/ids.ts';
import type { StoreEngine } from '../store/engine.ts';
import type { Database, WebhookEndpointTable } from '../store/schema.ts';
import type { Vault } from '../vault/vault.ts';
import { generateWebhookSecret } from './webhook-secret.ts';

/**
 * Webhook endpoints: storage and the rules that touch several tables (disabling cancels the outbox, deleting
 * removes it). Secrets are sealed in the vault, bound to the endpoint's row, and leave only through `openSecrets`
 * (for signing) or once, in the response that created or rotated them.
 */
export type WebhookEndpointRecord = WebhookEndpointTable;

export const webhookEndpointNotFound = (): PipesError =>
  new PipesError('webhook_endpoint_not_found', 'Webhook endpoint not found.', { status: 404 });

const duplicateUrl = (): PipesError =>
  new PipesError(
    'webhook_endpoint_exists',
    'A webhook endpoint with this URL already exists in this environment.',
    {
      status: 409,
    },
  );

const bindingFor = (row: Pick<WebhookEndpointTable, 'id' | 'environment_id'>) =>
  ({
    table: 'webhook_endpoints',
    rowId: row.id,
    environmentId: row.environment_id,
    kind: 'webhook_secret',
  }) as const;

interface Deps {
  db: Kysely<Database>;
  engine: StoreEngine;
  vault: Vault;
}

export async function createWebhookEndpoint(
  deps: Deps,
  input: { environmentId: string; endpointUrl: string; events: readonly string[]; now: number },
): Promise<{ record: WebhookEndpointRecord; secret: string }> {
  const id = newId('webhookEndpoint', input.now);
  const secret = generateWebhookSecret();
  const record: WebhookEndpointRecord = {
    id,
    environment_id: input.environmentId,
    endpoint_url: input.endpointUrl,
    events: JSON.stringify(input.events),
    status: 'enabled',
    disabled_reason: null,
    secret: deps.vault.seal(secret, bindingFor({ id, environment_id: input.environmentId })),
    secret_last4: secret.slice(-4),
    previous_secret: null,
    previous_secret_expires_at: null,
    failing_since: null,
    created_at: input.now,
    updated_at: input.now,
  };
  try {
    await deps.db.insertInto('webhook_endpoints').values(record).execute();
  } catch (error) {
    if (deps.engine.isUniqueViolation(error)) throw duplicateUrl();
    throw error;
  }
  return { record, secret };
}

/** The endpoint with this id in this environment. Another environment's endpoint is "not found", like a missing one. */
export async function findWebhookEndpoint(
  db: Kysely<Database>,
  environmentId: string,
  id: string,
): Promise<WebhookEndpointRecord> {
  if (!isId('webhookEndpoint', id)) throw webhookEndpointNotFound();
  const row = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('environment_id', '=', environmentId)
    .executeTakeFirst();
  if (!row) throw webhookEndpointNotFound();
  return row;
}

export interface WebhookEndpointChanges {
  endpointUrl?: string;
  events?: readonly string[];
  status?: 'enabled' | 'disabled';
}

export async function updateWebhookEndpoint(
  deps: Deps,
  environmentId: string,
  id: string,
  changes: WebhookEndpointChanges,
  now: number,
): Promise<WebhookEndpointRecord> {
  return deps.db.transaction().execute(async (trx) => {
    const current = await findWebhookEndpoint(trx, environmentId, id);
    const next: WebhookEndpointRecord = { ...current, updated_at: now };
    if (changes.endpointUrl !== undefined) next.endpoint_url = changes.endpointUrl;
    if (changes.events !== undefined) next.events = JSON.stringify(changes.events);
    if (changes.status === 'enabled' && current.status !== 'enabled') {
      Object.assign(next, { status: 'enabled', disabled_reason: null, failing_since: null });
    }
    if (changes.status === 'disabled' && current.status !== 'disabled') {
      Object.assign(next, { status: 'disabled', disabled_reason: 'manual' });
    }
    try {
      await trx
        .updateTable('webhook_endpoints')
        .set({
          endpoint_url: next.endpoint_url,
          events: next.events,
          status: next.status,
          disabled_reason: next.disabled_reason,
          failing_since: next.failing_since,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    } catch (error) {
      if (deps.engine.isUniqueViolation(error)) throw duplicateUrl();
      throw error;
    }
    if (next.status === 'disabled' && current.status === 'enabled')
      await cancelPendingDeliveries(trx, id, now);
    return next;
  });
}

/**
 * Disables an endpoint (manually, or because its receiver answered 410 or kept failing) and cancels its pending
 * deliveries: they would only fail. Re-enabling does not resume them; `POST /events/{id}/redeliver` does.
 */
export async function disableWebhookEndpoint(
  db: Kysely<Database>,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', disabled_reason: reason, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'enabled')
    .executeTakeFirst();
  await cancelPendingDeliveries(db, id, now);
  return Number(result.numUpdatedRows) === 1;
}

async function cancelPendingDeliveries(db: Kysely<Database>, endpointId: string, now: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'cancelled', lease_owner: null, lease_until: 0, updated_at: now })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'pending')
    .execute();
}

/** Deletes an endpoint with its outbox rows and attempt log. */
export async function deleteWebhookEndpoint(
  db: Kysely<Database>,
  environmentId: string,
  id: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await findWebhookEndpoint(trx, environmentId, id);
    await trx.deleteFrom('webhook_attempts').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
  });
}

/**
 * Replaces the secret. For `overlapMs` the old secret keeps signing too (Standard Webhooks header; the WorkOS header
 * carries only the newest, see signature.ts). Only one previous secret is kept: rotating again during an overlap
 * ends the older overlap at once.
 */
export async function rotateWebhookSecret(
  deps: Deps,
  environmentId: string,
  id: string,
  overlapMs: number,
  now: number,
): Promise<{ record: WebhookEndpointRecord; secret: string }> {
  return deps.db.transaction().execute(async (trx) => {
    const current = await findWebhookEndpoint(trx, environmentId, id);
    const secret = generateWebhookSecret();
    const keepPrevious = overlapMs > 0;
    const changes = {
      secret: deps.vault.seal(secret, bindingFor(current)),
      secret_last4: secret.slice(-4),
      // The old blob moves column as is: it is bound to the row, not to the column.
      previous_secret: keepPrevious ? current.secret : null,
      previous_secret_expires_at: keepPrevious ? now + overlapMs : null,
      updated_at: now,
    };
    await trx.updateTable('webhook_endpoints').set(changes).where('id', '=', id).execute();
    return { record: { ...current, ...changes }, secret };
  });
}

/** The secrets to sign with at `now`, newest first: `[current]`, or `[current, previous]` during an overlap. */
export function openSecrets(
  vault: Vault,
  engine: StoreEngine,
  row: Pick<
    WebhookEndpointTable,
    'id' | 'environment_id' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'
  >,
  now: number,
): string[] {
  const binding = bindingFor(row);
  const secrets = [vault.open(engine.toBuffer(row.secret), binding)];
  if (row.previous_secret !== null && (row.previous_secret_expires_at ?? 0) > now) {
    secrets.push(vault.open(engine.toBuffer(row.previous_secret), binding));
  }
  return secrets;
}
