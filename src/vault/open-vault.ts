import path from 'node:path';
import type { Config } from '../config/load.ts';
import type { Logger } from '../lib/logger.ts';
import type { Store } from '../store/open.ts';
import { verifyKeyCheck } from './key-check.ts';
import { loadMasterKeyRing } from './load-master-keys.ts';
import { readStoredKeyChecks, writeStoredKeyChecks } from './stored-key-checks.ts';
import { Vault } from './vault.ts';

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
  const stored = await readStoredKeyChecks(store.db);
  const additions = verifyKeyCheck(loaded.ring, stored);
  if (additions.length > 0) await writeStoredKeyChecks(store.db, [...stored, ...additions], now);
  return new Vault(loaded.ring);
}
