import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppContext } from '../context.ts';
import type { FieldError } from '../errors.ts';
import { PipesError } from '../errors.ts';
import { listEnvironments } from '../store/environments.ts';
import type { ActiveSession, SessionTimeouts } from './auth/sessions.ts';
import type { SignInDeps } from './auth/sign-in.ts';
import type { DashboardCookies } from './cookies.ts';
import type { Frame, Section } from './layout.tsx';

/** Per-request variables of the dashboard sub-app. */
export interface DashEnv {
  Variables: {
    requestId: string;
    /** Set by the session middleware on every signed-in route. */
    session: ActiveSession;
  };
}

export type DashContext = Context<DashEnv>;

/** What every dashboard handler needs, built once when the app is created (no module singletons). */
export interface Dash {
  ctx: AppContext;
  cookies: DashboardCookies;
  /** The public origin (`PIPES_PUBLIC_URL`): the only origin whose forms are accepted. */
  origin: string;
  timeouts: SessionTimeouts;
  /** The stylesheet's URL, with a content hash so a new version is never served from a stale cache. */
  stylesheet: string;
  css: string;
  signIn: SignInDeps;
}

export function stylesheetHref(css: string): string {
  const version = createHash('sha256').update(css).digest('base64url').slice(0, 12);
  return `/dashboard/assets/dashboard.css?v=${version}`;
}

export async function render(c: Context, page: Child, status: ContentfulStatusCode = 200): Promise<Response> {
  return await c.html(html`<!DOCTYPE html>${page}`, status);
}

/** The fixed texts behind `?notice=…` after a POST-redirect-GET: a query value is never echoed into the page. */
const NOTICES: Record<string, string> = {
  saved: 'Saved.',
  added: 'Provider added. Set its credentials below, then enable it.',
  enabled: 'Enabled.',
  disabled: 'Disabled.',
  removed: 'Removed.',
  disconnected: 'The connection was disconnected.',
  revoked: 'The API key was revoked. Requests with it now get 401.',
  redelivered: 'Redelivery queued.',
  environment: 'Environment switched.',
  deleted: 'Deleted.',
  created: 'Created.',
};

export const noticeText = (code: string | undefined): string | null =>
  code !== undefined && Object.hasOwn(NOTICES, code) ? NOTICES[code]! : null;

export async function frameFor(dash: Dash, c: DashContext, section: Section): Promise<Frame> {
  return {
    session: c.get('session'),
    environments: await listEnvironments(dash.ctx.store.db),
    section,
    stylesheet: dash.stylesheet,
    notice: noticeText(c.req.query('notice')),
  };
}

/** Reads a url-encoded form. Repeated names (checkboxes) become arrays. */
export async function readForm(c: Context): Promise<Record<string, string | string[]>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) out[name] = value.filter((v): v is string => typeof v === 'string');
    else if (typeof value === 'string') out[name] = value;
  }
  return out;
}

export function formValue(form: Record<string, string | string[]>, name: string): string {
  const value = form[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

export function formValues(form: Record<string, string | string[]>, name: string): string[] {
  const value = form[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The field errors of a PipesError (its message when it has none), or rethrows anything else. */
export function errorsOf(error: unknown): FieldError[] {
  if (!(error instanceof PipesError)) throw error;
  if (error.errors !== undefined && error.errors.length > 0) return error.errors;
  return [{ field: '', code: error.code, message: error.message }];
}

/** The client's socket address, for the per-address sign-in throttle (proxies' forwarded headers are spoofable). */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/** A dashboard path to go back to after a POST; anything else (another origin, `//host`) falls back. */
export function safeBack(value: string, fallback: string): string {
  return /^\/dashboard(\/[A-Za-z0-9_\-./]*)?(\?[A-Za-z0-9_\-.=&%]*)?$/.test(value) && !value.includes('//')
    ? value
    : fallback;
}

/** Appends `notice=…` to a dashboard path. */
export const withNotice = (path: string, notice: string) =>
  `${path}${path.includes('?') ? '&' : '?'}notice=${notice}`;
