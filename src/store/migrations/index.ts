import type { Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';
import { foundationMigration } from './001-foundation.ts';
import { integrationsMigration } from './002-integrations.ts';
import { eventsWebhooksMigration } from './003-events-webhooks.ts';
import { sandboxStateMigration } from './004-sandbox-state.ts';
import { dashboardMigration } from './005-dashboard.ts';
import { ownerKeyMigration } from './006-owner-key.ts';
import { tokenIssuedAtMigration } from './007-token-issued-at.ts';

/**
 * Every migration, in order. Names sort lexically; never rename or edit one that has shipped — add a new one.
 */
export function allMigrations(engine: StoreEngine): Record<string, Migration> {
  return {
    '001-foundation': foundationMigration(engine),
    '002-integrations': integrationsMigration(engine),
    '003-events-webhooks': eventsWebhooksMigration(engine),
    '004-sandbox-state': sandboxStateMigration(engine),
    '005-dashboard': dashboardMigration(engine),
    '006-owner-key': ownerKeyMigration(engine),
    '007-token-issued-at': tokenIssuedAtMigration(engine),
  };
}
