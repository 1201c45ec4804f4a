import { loadConfig } from '../../config/load.ts';
import { issueSetupToken } from '../../dashboard/auth/setup-token.ts';
import { startServer } from '../../server.ts';
import { listApiKeys } from '../../store/api-keys.ts';
import { requireEnvironment } from '../../store/environments.ts';
import { type CliIo, print } from '../io.ts';

export const serveHelp = `Usage: pipes serve

Starts the Pipes server (what \`npm start\` runs). Configuration comes from environment variables and the optional
PIPES_CONFIG_FILE; see the table in README.md. Stops cleanly on SIGINT/SIGTERM.`;

export async function serveCommand(io: CliIo): Promise<number> {
  const config = loadConfig(io.env, io.cwd);
  const server = await startServer(config);
  const { ctx } = server;
  ctx.log.info(
    { url: server.url, publicUrl: config.publicUrl, database: ctx.store.engine.kind },
    'Pipes is listening',
  );
  if (!config.production) {
    const sandbox = await requireEnvironment(ctx.store.db, 'sandbox');
    const keys = (await listApiKeys(ctx.store.db, sandbox.id)).filter((k) => k.revoked_at === null);
    print(io, '');
    print(
      io,
      `  Pipes is running at ${config.publicUrl}  (development mode, ${ctx.store.engine.kind}: ${ctx.store.location})`,
    );
    if (keys.length === 0) {
      print(io, '  No sandbox API key yet. Create one (it is shown once):');
      print(io, '      npx pipes keys create --env sandbox');
    } else {
      print(
        io,
        `  Sandbox API keys: ${keys.map((k) => `…${k.last4}`).join(', ')}  (\`npx pipes keys list --env sandbox\`)`,
      );
    }
    // The first operator: a one-time set-up link while none exists (development only; never a default password).
    const setupToken = await issueSetupToken(ctx.store.db, ctx.clock.now());
    if (setupToken !== null) {
      print(io, '  No dashboard operator yet. Create the first one (link valid for 1 hour, once):');
      print(io, `      ${config.publicUrl}/dashboard/setup/${setupToken}`);
      print(io, '  or run: npx pipes operators create --email you@example.com');
    } else {
      print(io, `  Dashboard: ${config.publicUrl}/dashboard`);
    }
    print(io, '');
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  ctx.log.info('shutting down');
  await server.close();
  return 0;
}
