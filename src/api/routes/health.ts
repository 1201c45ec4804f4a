import { Hono } from 'hono';
import type { AppContext } from '../../context.ts';
import { ping } from '../../store/engine.ts';
import { pendingMigrations } from '../../store/migrate.ts';
import type { ApiEnv } from '../env.ts';

/** `GET /health`: the process is alive. `GET /ready`: the database answers and the schema is current. */
export function healthRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    try {
      await ping(ctx.store.db);
      const pending = await pendingMigrations(ctx.store.db, ctx.store.engine);
      if (pending.length > 0) {
        return c.json(
          {
            status: 'not_ready',
            code: 'migrations_pending',
            message: `Pending migrations: ${pending.join(', ')}.`,
          },
          503,
        );
      }
      return c.json({ status: 'ready', database: ctx.store.engine.kind });
    } catch {
      return c.json(
        { status: 'not_ready', code: 'database_unreachable', message: 'The database is not reachable.' },
        503,
      );
    }
  });
  return app;
}
