import type { Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';
import { foundationMigration } from './001-foundation.ts';

/**
 * Every migration, in order. Names sort lexically; never rename or edit one that has shipped — add a new one.
 */
export function allMigrations(engine: StoreEngine): Record<string, Migration> {
  return {
    '001-foundation': foundationMigration(engine),
  };
}
