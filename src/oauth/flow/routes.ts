import { Hono } from 'hono';
import type { AppContext } from '../../context.ts';
import { handleCallback } from './callback.tsx';
import { confirmAndLeave, showConfirmation } from './leave.tsx';

/** Paths of the browser legs, which carry no API key (the public-path check in src/api/app.ts uses this). */
export function isConnectFlowPath(path: string): boolean {
  return (
    /^\/data-integrations\/[A-Za-z0-9_-]{1,200}\/authorize-redirect$/.test(path) ||
    /^\/data-integrations\/[a-z0-9-]{1,64}\/dik_[0-9A-Za-z]{1,40}\/callback$/.test(path)
  );
}

/** The connect flow's browser routes, mounted at the root of the app. */
export function connectFlowRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get('/data-integrations/:link/authorize-redirect', showConfirmation(ctx));
  app.post('/data-integrations/:link/authorize-redirect', confirmAndLeave(ctx));
  app.get('/data-integrations/:slug/:dik/callback', handleCallback(ctx));
  return app;
}
