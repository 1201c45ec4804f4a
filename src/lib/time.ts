/** ISO-8601 with milliseconds, as WorkOS sends timestamps: `2026-01-15T12:00:00.000Z`. */
export const toIso = (ms: number): string => new Date(ms).toISOString();

export const toIsoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : toIso(ms);
