import { z } from 'zod';

/** Behaviour that tests and demos flip at run time (through `POST /admin/settings` or `provider.updateSettings`). */
export interface SandboxSettings {
  accessTokenTtlSeconds: number;
  /** When true every refresh returns a new refresh token and retires the presented one. */
  rotateRefreshTokens: boolean;
  /** How long a retired refresh token keeps working (for clients that lose a response). 0 = not at all. */
  refreshGraceSeconds: number;
  /** Requests allowed per access token per fixed window on `/api/*`. */
  rateLimitPerWindow: number;
  rateLimitWindowSeconds: number;
}

export const DEFAULT_SANDBOX_SETTINGS: Readonly<SandboxSettings> = {
  accessTokenTtlSeconds: 3600,
  rotateRefreshTokens: true,
  refreshGraceSeconds: 0,
  rateLimitPerWindow: 600,
  rateLimitWindowSeconds: 60,
};

const DAY_SECONDS = 86_400;

export const settingsPatchSchema = z
  .object({
    accessTokenTtlSeconds: z.number().int().min(1).max(DAY_SECONDS),
    rotateRefreshTokens: z.boolean(),
    refreshGraceSeconds: z.number().int().min(0).max(DAY_SECONDS),
    rateLimitPerWindow: z.number().int().min(1).max(1_000_000),
    rateLimitWindowSeconds: z.number().int().min(1).max(DAY_SECONDS),
  })
  .partial()
  .strict();

export type SandboxSettingsPatch = z.infer<typeof settingsPatchSchema>;

/** Applies a validated patch; keys absent from the patch keep their value. */
export function mergeSettings(current: SandboxSettings, patch: SandboxSettingsPatch): SandboxSettings {
  return {
    accessTokenTtlSeconds: patch.accessTokenTtlSeconds ?? current.accessTokenTtlSeconds,
    rotateRefreshTokens: patch.rotateRefreshTokens ?? current.rotateRefreshTokens,
    refreshGraceSeconds: patch.refreshGraceSeconds ?? current.refreshGraceSeconds,
    rateLimitPerWindow: patch.rateLimitPerWindow ?? current.rateLimitPerWindow,
    rateLimitWindowSeconds: patch.rateLimitWindowSeconds ?? current.rateLimitWindowSeconds,
  };
}
