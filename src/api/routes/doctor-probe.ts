import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import type { AppContext } from '../../context.ts';
import type { Database } from '../../store/schema.ts';
import type { Vault } from '../../vault/vault.ts';

/** `GET /health/doctor?challenge=…`: public, like `/health`. */
export const DOCTOR_PROBE_PATH = '/health/doctor';
const PURPOSE = 'doctor-probe';

/**
 * The installation's identity: the id of its oldest environment, random per database (created by the first start).
 * Two Pipes installations never share it, even when (wrongly) sharing a master key.
 */
export async function installationId(db: Kysely<Database>): Promise<string | null> {
  const row = await db.selectFrom('environments').select('id').orderBy('id').limit(1).executeTakeFirst();
  return row?.id ?? null;
}

/** HMAC-SHA256 under an HKDF subkey of the active master key, over the challenge and the installation id. */
export function doctorProof(vault: Vault, challenge: string, installation: string): string {
  const { key } = vault.deriveKey(PURPOSE)!;
  return createHmac('sha256', key).update(`${challenge}|${installation}`).digest('base64url');
}

/**
 * Lets `pipes doctor` prove that `PIPES_PUBLIC_URL` reaches this very installation, not just some server that
 * answers `/health`: it sends a fresh random challenge, and only a server with the same master key and the same
 * database can answer the proof the doctor computes itself. The answer reveals nothing: an HMAC under a subkey used
 * for nothing else, and the public URL the server was configured with (which the doctor compares with its own).
 */
export function doctorProbeRoutes(ctx: AppContext) {
  const app = new Hono();
  app.get(DOCTOR_PROBE_PATH, async (c) => {
    const challenge = c.req.query('challenge') ?? '';
    c.header('Cache-Control', 'no-store');
    if (!/^[A-Za-z0-9_-]{32,128}$/.test(challenge)) {
      return c.json(
        { message: 'challenge must be 32 to 128 base64url characters.', code: 'invalid_challenge' },
        400,
      );
    }
    const installation = await installationId(ctx.store.db);
    if (installation === null)
      return c.json({ message: 'No environments yet.', code: 'not_initialised' }, 503);
    return c.json({
      object: 'doctor_probe',
      proof: doctorProof(ctx.vault, challenge, installation),
      public_url: ctx.config.publicUrl,
    });
  });
  return app;
}
