import { Hono } from 'hono';
import { findAccount } from './accounts.ts';
import type { SandboxContext, SandboxStats } from './context.ts';
import { type SandboxSettings, type SandboxSettingsPatch, settingsPatchSchema } from './settings.ts';

export interface AdminHooks {
  updateSettings(patch: SandboxSettingsPatch): SandboxSettings;
  resetStats(): void;
  snapshotStats(): SandboxStats;
}

/**
 * Development switches for tests and demos. They have no authentication of their own: the host mounts them only
 * outside production (`createSandboxProvider({ admin: true })`), and all they touch is fake sandbox data.
 */
export function createAdminRoutes(ctx: SandboxContext, hooks: AdminHooks): Hono {
  const app = new Hono();

  app.post('/accounts/:login/revoke', async (c) => {
    const account = findAccount(c.req.param('login'));
    if (account === undefined)
      return c.json({ error: 'not_found', error_description: 'Unknown test account.' }, 404);
    await ctx.records.revokeAccount(account.login);
    return c.json({ login: account.login, revoked: true });
  });

  app.get('/settings', (c) => c.json(ctx.settings()));

  app.post('/settings', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'invalid_request', error_description: 'The body must be JSON.' }, 400);
    }
    const parsed = settingsPatchSchema.safeParse(body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
      return c.json({ error: 'invalid_request', error_description: `Invalid settings: ${fields}.` }, 400);
    }
    return c.json(hooks.updateSettings(parsed.data));
  });

  app.get('/stats', (c) => c.json(hooks.snapshotStats()));

  app.post('/stats/reset', (c) => {
    hooks.resetStats();
    return c.json(hooks.snapshotStats());
  });

  return app;
}
