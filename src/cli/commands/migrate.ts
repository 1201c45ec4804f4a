import { loadConfig } from '../../config/load.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { openStore } from '../../store/open.ts';
import { type CliIo, print } from '../io.ts';

export const migrateHelp = `Usage: pipes migrate

Applies pending database migrations and exits. \`pipes serve\` does this at every start too; run it on its own
before a rolling deploy. Safe to run several times and from several machines at once.`;

export async function migrateCommand(io: CliIo): Promise<number> {
  const config = loadConfig(io.env, io.cwd);
  const store = openStore(config.database);
  try {
    const applied = await migrateToLatest(store.db, store.engine);
    print(io, applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
    return 0;
  } finally {
    await store.close();
  }
}
