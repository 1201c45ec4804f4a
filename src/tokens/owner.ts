import { PipesError } from '../errors.ts';

/**
 * Who owns a connection: a user (optionally scoped to an organization — a different account from the unscoped one)
 * or an organization (a shared connection, `user_id: null`). Organization sharing builds on this model.
 */
export interface AccountOwner {
  ownerType: 'user' | 'organization';
  userId: string | null;
  organizationId: string | null;
}

/**
 * Folds the owner into one comparable value for the unique index (NULLs would never collide). The encoding must be
 * injective: ids may contain any character (Auth0 user ids are `auth0|123`), so joining them with a separator would
 * give user `a|b` in organization `c` and user `a` in organization `b|c` the same key, and one owner's connection to
 * the other. A JSON array keeps every part (and null apart from '') distinct. Migration 006 rewrites stored keys with
 * this same function.
 */
export function ownerKeyOf(owner: AccountOwner): string {
  return JSON.stringify([owner.ownerType, owner.userId, owner.organizationId]);
}

/** Builds the owner of a request from its `user_id`, `organization_id` and `connection_owner` fields. */
export function ownerFromRequest(input: {
  userId: string | null | undefined;
  organizationId: string | null | undefined;
  connectionOwner?: 'user' | 'organization' | null | undefined;
}): AccountOwner {
  if (input.connectionOwner === 'organization') {
    if (!input.organizationId) {
      throw new PipesError(
        'organization_id_required',
        'organization_id is required when connection_owner is "organization".',
        {
          status: 422,
        },
      );
    }
    return { ownerType: 'organization', userId: null, organizationId: input.organizationId };
  }
  if (!input.userId) throw new PipesError('user_id_required', 'user_id is required.', { status: 422 });
  return { ownerType: 'user', userId: input.userId, organizationId: input.organizationId ?? null };
}
