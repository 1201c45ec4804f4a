import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line. pino replaces them with "[redacted]". This is a safety net: code should
 * not log secrets in the first place.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.secret',
  '*.api_key',
  '*.password',
  '*.code_verifier',
  '*.code',
  'access_token',
  'refresh_token',
  'client_secret',
  'secret',
  'password',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'pipes' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
