import { fileURLToPath } from 'node:url';
import { Catalog, loadCatalog } from './load-catalog.ts';
import { sandboxProviderEntry } from './sandbox-entry.ts';

/** `providers/` at the repository root. */
export const PROVIDERS_DIR = fileURLToPath(new URL('../../providers', import.meta.url));

/**
 * The catalog the server runs with: every validated `providers/*.json` entry (a broken one stops the start, naming
 * the file and the field) plus the built-in sandbox provider when it is served.
 */
export function loadRuntimeCatalog(options: { dir?: string; sandboxIssuer: string | null }): Catalog {
  const loaded = loadCatalog(options.dir ?? PROVIDERS_DIR);
  if (options.sandboxIssuer === null) return loaded;
  return new Catalog([...loaded.list(), sandboxProviderEntry(options.sandboxIssuer)]);
}
