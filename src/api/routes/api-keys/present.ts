import { toIso, toIsoOrNull } from '../../../lib/time.ts';
import type { ApiKeyRecord } from '../../../store/api-keys.ts';

/** The public shape of an API key: never the key or its digest, only the last 4 characters. */
export function presentApiKey(record: ApiKeyRecord) {
  return {
    object: 'api_key' as const,
    id: record.id,
    name: record.name,
    last_4: record.last4,
    created_at: toIso(record.created_at),
    last_used_at: toIsoOrNull(record.last_used_at),
    revoked_at: toIsoOrNull(record.revoked_at),
  };
}
