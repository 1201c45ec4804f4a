/**
 * The dashboard's browser-side defences (security-test-plan R-D1..R-D5): a strict CSP with no script at all, no
 * framing, no caching of pages that may show a secret once, and a same-origin check on every state change.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(https: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    // `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on form POSTs, and the
    // origin check below needs the real one. Cross-origin links (provider docs) still get no referrer.
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    ...(https ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/**
 * True when a state-changing request comes from the dashboard's own origin (OWASP CSRF cheat sheet: verify the
 * source origin, in addition to the synchronizer token). `Sec-Fetch-Site`, when sent, must be `same-origin`;
 * `Origin`, when sent, must be the public origin; a request with neither is refused (every browser that can run
 * the dashboard sends at least one of them on a POST).
 */
export function isSameOrigin(
  headers: { origin: string | undefined; secFetchSite: string | undefined },
  expectedOrigin: string,
): boolean {
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== 'same-origin') return false;
  if (headers.origin !== undefined) return headers.origin === expectedOrigin;
  return headers.secFetchSite === 'same-origin';
}
