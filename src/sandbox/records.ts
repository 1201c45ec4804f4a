import type { Clock } from '../lib/clock.ts';
import type { SandboxScope } from './scopes.ts';
import { generateId, sha256 } from './secrets.ts';
import type { SandboxStateStore } from './state.ts';

/**
 * Typed records on top of the key-value state. Anything a client holds as a bearer secret (codes, tokens, consent
 * request ids, client secrets) appears here only as its sha256, so a dump of the state lets nobody act as a client.
 */

/** An authorization request waiting for the user's decision on the consent page. */
export interface PendingRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  scopes: SandboxScope[];
  codeChallenge: string;
}

export interface CodeRecord {
  clientId: string;
  redirectUri: string;
  scopes: SandboxScope[];
  codeChallenge: string;
  login: string;
  /** The account's revocation generation at consent time: an admin revoke also kills codes not yet redeemed. */
  generation: number;
}

/** What a code left behind once redeemed, so that a replay can revoke what the first redemption produced. */
export interface UsedCodeRecord {
  grantId: string | null;
}

/** One consent = one grant = one token family. Revoking it kills every access and refresh token issued from it. */
export interface GrantRecord {
  id: string;
  clientId: string;
  login: string;
  scopes: SandboxScope[];
  generation: number;
  revoked: boolean;
  createdAt: number;
}

export interface AccessTokenRecord {
  grantId: string;
  clientId: string;
  login: string;
  scopes: SandboxScope[];
  expiresAt: number;
}

export interface RefreshTokenRecord {
  grantId: string;
  clientId: string;
  /** `rotated`: a newer refresh token replaced this one; it works until `graceUntil`, after that a use is a replay. */
  status: 'active' | 'rotated';
  graceUntil: number | null;
}

export interface SandboxItem {
  id: string;
  title: string;
  created_at: string;
}

export const PENDING_REQUEST_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 60_000;
/** Long enough to catch any realistic replay of a code, short enough not to accumulate. */
export const USED_CODE_MEMORY_MS = 10 * 60_000;

const keys = {
  pending: (id: string) => `pending:${sha256(id)}`,
  code: (code: string) => `code:${sha256(code)}`,
  usedCode: (code: string) => `code-used:${sha256(code)}`,
  grant: (grantId: string) => `grant:${grantId}`,
  accessToken: (token: string) => `at:${sha256(token)}`,
  refreshToken: (token: string) => `rt:${sha256(token)}`,
  generation: (login: string) => `account-generation:${login}`,
  items: (login: string) => `items:${login}`,
  pinnedClientSecret: (clientId: string) => `client-secret:${sha256(clientId)}`,
  rateWindow: (credential: string, window: number) => `rate:${sha256(credential)}:${window}`,
};

// Values are written only by this module, so reading them back with a cast is sound.
const parse = <T>(raw: string | undefined): T | undefined =>
  raw === undefined ? undefined : (JSON.parse(raw) as T);

export class SandboxRecords {
  constructor(
    private readonly state: SandboxStateStore,
    private readonly clock: Clock,
  ) {}

  async savePending(id: string, request: PendingRequest): Promise<void> {
    await this.state.put(keys.pending(id), JSON.stringify(request), PENDING_REQUEST_TTL_MS);
  }

  async takePending(id: string): Promise<PendingRequest | undefined> {
    return parse(await this.state.takeOnce(keys.pending(id)));
  }

  async saveCode(code: string, record: CodeRecord): Promise<void> {
    await this.state.put(keys.code(code), JSON.stringify(record), CODE_TTL_MS);
  }

  async takeCode(code: string): Promise<CodeRecord | undefined> {
    return parse(await this.state.takeOnce(keys.code(code)));
  }

  async rememberUsedCode(code: string, record: UsedCodeRecord): Promise<void> {
    await this.state.put(keys.usedCode(code), JSON.stringify(record), USED_CODE_MEMORY_MS);
  }

  async findUsedCode(code: string): Promise<UsedCodeRecord | undefined> {
    return parse(await this.state.get(keys.usedCode(code)));
  }

  async createGrant(input: Omit<GrantRecord, 'id' | 'revoked' | 'createdAt'>): Promise<GrantRecord> {
    const grant: GrantRecord = {
      ...input,
      id: generateId('grant_'),
      revoked: false,
      createdAt: this.clock.now(),
    };
    await this.state.put(keys.grant(grant.id), JSON.stringify(grant));
    return grant;
  }

  /** The grant when it is still usable: not revoked, and not older than the account's last admin revoke. */
  async findLiveGrant(grantId: string): Promise<GrantRecord | undefined> {
    const grant = parse<GrantRecord>(await this.state.get(keys.grant(grantId)));
    if (grant === undefined || grant.revoked) return undefined;
    if (grant.generation !== (await this.accountGeneration(grant.login))) return undefined;
    return grant;
  }

  async revokeGrant(grantId: string): Promise<void> {
    const grant = parse<GrantRecord>(await this.state.get(keys.grant(grantId)));
    if (grant === undefined || grant.revoked) return;
    await this.state.put(keys.grant(grantId), JSON.stringify({ ...grant, revoked: true }));
  }

  async accountGeneration(login: string): Promise<number> {
    return Number((await this.state.get(keys.generation(login))) ?? '0');
  }

  /** Revokes every grant of the account at once, by moving it to a new generation that no existing grant has. */
  async revokeAccount(login: string): Promise<void> {
    await this.state.increment(keys.generation(login));
  }

  async saveAccessToken(token: string, record: AccessTokenRecord): Promise<void> {
    await this.state.put(
      keys.accessToken(token),
      JSON.stringify(record),
      record.expiresAt - this.clock.now(),
    );
  }

  async findAccessToken(token: string): Promise<AccessTokenRecord | undefined> {
    return parse(await this.state.get(keys.accessToken(token)));
  }

  async deleteAccessToken(token: string): Promise<void> {
    await this.state.delete(keys.accessToken(token));
  }

  async saveRefreshToken(token: string, record: RefreshTokenRecord): Promise<void> {
    await this.state.put(keys.refreshToken(token), JSON.stringify(record));
  }

  async findRefreshToken(token: string): Promise<RefreshTokenRecord | undefined> {
    return parse(await this.state.get(keys.refreshToken(token)));
  }

  /** Atomically claims a refresh token so that two concurrent refreshes cannot both rotate it. */
  async takeRefreshToken(token: string): Promise<RefreshTokenRecord | undefined> {
    return parse(await this.state.takeOnce(keys.refreshToken(token)));
  }

  async deleteRefreshToken(token: string): Promise<void> {
    await this.state.delete(keys.refreshToken(token));
  }

  async pinnedClientSecretHash(clientId: string): Promise<string | undefined> {
    return this.state.get(keys.pinnedClientSecret(clientId));
  }

  async pinClientSecretHash(clientId: string, secretHash: string): Promise<void> {
    await this.state.put(keys.pinnedClientSecret(clientId), secretHash);
  }

  async listItems(login: string): Promise<SandboxItem[]> {
    return parse<SandboxItem[]>(await this.state.get(keys.items(login))) ?? this.seedItems();
  }

  async addItem(login: string, title: string): Promise<SandboxItem> {
    const item: SandboxItem = {
      id: generateId('item_'),
      title,
      created_at: new Date(this.clock.now()).toISOString(),
    };
    // Read-modify-write is fine here: two concurrent posts for the same test account are not a sandbox use case.
    const items = [...(await this.listItems(login)), item];
    await this.state.put(keys.items(login), JSON.stringify(items));
    return item;
  }

  /** Counts one request in the credential's current fixed window and returns the count so far. */
  async countRequest(credential: string, window: number, windowMs: number): Promise<number> {
    return this.state.increment(keys.rateWindow(credential, window), windowMs);
  }

  private seedItems(): SandboxItem[] {
    // Every account starts with the same two items so a fresh connection has something to list.
    const epoch = new Date(0).toISOString();
    return [
      { id: 'item_welcome', title: 'Welcome to the Pipes sandbox', created_at: epoch },
      { id: 'item_second', title: 'Try POST /api/items with the items:write scope', created_at: epoch },
    ];
  }
}
