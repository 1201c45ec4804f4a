import type { Kysely, Migration } from 'kysely';
import { ownerKeyOf } from '../../tokens/owner.ts';
import type { StoreEngine } from '../engine.ts';

/** Rows rewritten per read, so that a large table is never held in memory at once. */
const BATCH = 500;

interface OwnerColumns {
  id: string;
  owner_type: 'user' | 'organization';
  user_id: string | null;
  organization_id: string | null;
  owner_key: string;
}

/**
 * Recomputes every connection's `owner_key` with the injective encoding of `ownerKeyOf` (the old one joined the parts
 * with `|`, which ids may contain, so two owners could share a key). The function is imported, not copied, so the
 * stored keys and the ones the code looks up can never diverge. No unique-index conflict is possible on the way: the
 * old keys were unique, the new encoding is injective, and a new key (`[…`) never equals an old one (`user|…`).
 */
export function ownerKeyMigration(_engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const table = db as unknown as Kysely<{ connected_accounts: OwnerColumns }>;
      let after = '';
      for (;;) {
        const rows = await table
          .selectFrom('connected_accounts')
          .select(['id', 'owner_type', 'user_id', 'organization_id', 'owner_key'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(BATCH)
          .execute();
        for (const row of rows) {
          const key = ownerKeyOf({
            ownerType: row.owner_type,
            userId: row.user_id,
            organizationId: row.organization_id,
          });
          if (key === row.owner_key) continue;
          await table
            .updateTable('connected_accounts')
            .set({ owner_key: key })
            .where('id', '=', row.id)
            .execute();
        }
        const last = rows.at(-1);
        if (rows.length < BATCH || last === undefined) return;
        after = last.id;
      }
    },
    async down(db: Kysely<unknown>) {
      // Back to the old `type|user|organization` keys (what the previous release looks up). Two owners whose old keys
      // collide (the bug this migration fixes) make this fail on the unique index rather than merge silently.
      const table = db as unknown as Kysely<{ connected_accounts: OwnerColumns }>;
      const rows = await table
        .selectFrom('connected_accounts')
        .select(['id', 'owner_type', 'user_id', 'organization_id', 'owner_key'])
        .execute();
      for (const row of rows) {
        const key = `${row.owner_type}|${row.user_id ?? ''}|${row.organization_id ?? ''}`;
        await table
          .updateTable('connected_accounts')
          .set({ owner_key: key })
          .where('id', '=', row.id)
          .execute();
      }
    },
  };
}
