import path from 'node:path';
import type { Config } from '../config/load.ts';
import type { Logger } from '../lib/logger.ts';
import type { Store } from '../store/open.ts';
import { type KeyCheckRecord, verifyKeyCheck } from './key-check.ts';
import { loadMasterKeyRing } from './load-master-keys.ts';
import { Vault } from './vault.ts';

const KEY_CHECKS_SETTING = 'vault.key_checks';

/** The development-mode master key file. Never read or written in production. */
export const devKeyFile = (config: Pick<Config, 'dataDir'>) => path.join(config.dataDir, 'master.key');

/**
 * Loads the master keys and proves they are the ones this database was encrypted with, before anything is
 * decrypted (fail closed: a wrong key stops the start instead of producing garbage). The check values of new keys
 * are recorded so the next start can verify them.
 */
export async function openVault(config: Config, store: Store, log: Logger, now: number): Promise<Vault> {
  const loaded = loadMasterKeyRing({
    devMode: !config.production,
    devKeyFile: devKeyFile(config),
    log,
    ...(config.masterKey ? { masterKey: config.masterKey } : {}),
    ...(config.olderMasterKeys ? { olderKeys: config.olderMasterKeys } : {}),
  });
  // loadMasterKeyRing itself warns when it generates the development key.
  const row = await store.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', KEY_CHECKS_SETTING)
    .executeTakeFirst();
  const stored: KeyCheckRecord[] = row ? (JSON.parse(row.value) as KeyCheckRecord[]) : [];
  const additions = verifyKeyCheck(loaded.ring, stored);
  if (additions.length > 0) {
    const value = JSON.stringify([...stored, ...additions]);
    await store.db
      .insertInto('settings')
      .values({ key: KEY_CHECKS_SETTING, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }
  return new Vault(loaded.ring);
}
