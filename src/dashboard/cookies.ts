/**
 * Cookie names and attributes. Over https the session cookie is `__Host-pipes_session` with `Secure` (the
 * `__Host-` prefix also pins it to this host and `Path=/`). On http://localhost development browsers reject both
 * `Secure` and the `__Host-` prefix over plain http, so the cookie is then `pipes_session` without `Secure`: that
 * set-up is for a laptop only, and production requires an https PIPES_PUBLIC_URL.
 */
export interface DashboardCookies {
  secure: boolean;
  session: string;
  /** Pre-session double-submit token of the sign-in and set-up forms (login CSRF). */
  signIn: string;
}

export function dashboardCookies(publicUrl: string): DashboardCookies {
  const secure = new URL(publicUrl).protocol === 'https:';
  return secure
    ? { secure, session: '__Host-pipes_session', signIn: '__Host-pipes_signin' }
    : { secure, session: 'pipes_session', signIn: 'pipes_signin' };
}

/** A `Set-Cookie` value. No `Max-Age` for the session: it ends with the browser, and the server enforces timeouts. */
export function cookieHeader(
  cookies: DashboardCookies,
  name: string,
  value: string,
  options: { maxAgeSeconds?: number } = {},
): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (cookies.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  return parts.join('; ');
}

export const clearCookieHeader = (cookies: DashboardCookies, name: string) =>
  cookieHeader(cookies, name, '', { maxAgeSeconds: 0 });

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
