import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { createContext } from '../../server.ts';
import { requireEnvironment } from '../../store/environments.ts';
import { generateBundleKey, parseBundleKey } from '../../tokens/portability/bundle-crypto.ts';
import { exportEnvironment } from '../../tokens/portability/export.ts';
import { importEnvironment } from '../../tokens/portability/import.ts';
import { type CliIo, print, UsageError } from '../io.ts';
import { quietLogger } from './init.ts';

export const exportHelp = `Usage: pipes export --env <name> --out <file> [--key <bundle key>]

Writes every integration and connection of an environment to <file>. Secrets in the bundle are encrypted
(AES-256-GCM) under a bundle key: a new one is printed once unless you pass --key. Keep it apart from the file.
The format is described in docs/export.md; \`pipes import\` reads it.`;

export const importHelp = `Usage: pipes import --env <name> --in <file> --key <bundle key>

Loads a bundle written by \`pipes export\`. Existing integrations are kept; connections keep their ids. Nothing is
written unless every record decrypts. Prints what was imported and what was skipped.`;

export async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { env: { type: 'string' }, out: { type: 'string' }, key: { type: 'string' } },
  });
  if (!values.env || !values.out)
    throw new UsageError('--env and --out are required.', 'pipes export --help');
  const key = values.key ?? generateBundleKey();
  const ctx = await createContext(loadConfig(io.env, io.cwd), { log: quietLogger() });
  try {
    const bundle = await exportEnvironment(
      ctx,
      await requireEnvironment(ctx.store.db, values.env),
      parseBundleKey(key),
    );
    writeFileSync(values.out, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600 });
    print(
      io,
      `Exported ${bundle.integrations.length} integration(s) and ${bundle.accounts.length} connection(s) to ${values.out}.`,
    );
    if (!values.key) print(io, `Bundle key (shown once; needed to import): ${key}`);
    return 0;
  } finally {
    await ctx.store.close();
  }
}

export async function importCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { env: { type: 'string' }, in: { type: 'string' }, key: { type: 'string' } },
  });
  if (!values.env || !values.in || !values.key)
    throw new UsageError('--env, --in and --key are required.', 'pipes import --help');
  const bundleKey = parseBundleKey(values.key);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(values.in, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `Cannot read ${values.in} as JSON: ${(error as Error).message}`,
      'pipes import --help',
    );
  }
  const ctx = await createContext(loadConfig(io.env, io.cwd), { log: quietLogger() });
  try {
    const report = await importEnvironment(
      ctx,
      await requireEnvironment(ctx.store.db, values.env),
      json,
      bundleKey,
    );
    print(
      io,
      `Integrations: ${report.integrationsCreated} created, ${report.integrationsKept} already present.`,
    );
    print(io, `Connections: ${report.accountsImported} imported, ${report.accountsSkipped.length} skipped.`);
    for (const skipped of report.accountsSkipped) print(io, `  skipped ${skipped.id}: ${skipped.reason}`);
    return 0;
  } finally {
    await ctx.store.close();
  }
}
