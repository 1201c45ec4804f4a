import { loadConfig } from '../../config/load.ts';
import { createContext } from '../../server.ts';
import { countByKey, rotateMasterKey } from '../../vault/rotate-master.ts';
import { type CliIo, print } from '../io.ts';
import { quietLogger } from './init.ts';

export const rotateMasterHelp = `Usage: pipes keys rotate-master [--status]

Re-wraps every stored secret's data key under the active master key. Steps:
  1. Generate a new key:            openssl rand -base64 32
  2. Give it an id and make it active, keeping the old one for decryption:
       PIPES_MASTER_KEY=k2:<new base64>  PIPES_MASTER_KEYS=k1:<old base64>
     (an old key without an id keeps its derived id: see \`pipes keys rotate-master --status\`)
  3. Restart Pipes with both variables, then run this command (while Pipes runs).
  4. When it reports nothing left under the old key, remove the old key from PIPES_MASTER_KEYS.
It can be interrupted and run again: it continues where it stopped.

  --status   Only report how many secrets each master key wraps.`;

export async function rotateMasterCommand(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    print(io, rotateMasterHelp);
    return 0;
  }
  const ctx = await createContext(loadConfig(io.env, io.cwd), { log: quietLogger() });
  try {
    if (args.includes('--status')) {
      const counts = await countByKey(ctx);
      print(io, `Active master key: ${ctx.vault.activeKeyId}`);
      for (const [keyId, count] of Object.entries(counts)) print(io, `  ${keyId}: ${count} secret(s)`);
      return 0;
    }
    const report = await rotateMasterKey(ctx, (table, column, count) =>
      print(io, `  ${table}.${column}: re-wrapped ${count}`),
    );
    print(io, `Re-wrapped ${report.rewrapped} secret(s) under ${ctx.vault.activeKeyId}.`);
    const left = Object.entries(report.remaining);
    if (left.length === 0) {
      print(io, 'Nothing is left under an older key: the old keys can be removed from PIPES_MASTER_KEYS.');
      return 0;
    }
    for (const [keyId, count] of left)
      print(io, `Still under ${keyId}: ${count} (written meanwhile? run again)`);
    return 1;
  } finally {
    await ctx.store.close();
  }
}
