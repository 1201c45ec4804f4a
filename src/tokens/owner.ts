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

/** Folds the owner into one comparable value for the unique index (NULLs would never collide). */
export function ownerKeyOf(owner: AccountOwner): string {
  return `${owner.ownerType}|${owner.userId ?? ''}|${owner.organizationId ?? ''}`;
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
