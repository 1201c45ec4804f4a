/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { FieldError } from '../errors.ts';
import { HtmlDocument } from '../lib/html-document.tsx';
import type { Environment } from '../store/environments.ts';
import type { ActiveSession } from './auth/sessions.ts';
import { type Fix, type FixContext, fixFor } from './fixes.ts';

/**
 * The dashboard's page frame and small shared pieces. Everything is rendered by hono/jsx, which escapes every text
 * node and attribute value: provider-supplied and user-entered text is never written as raw HTML.
 */

export type Section = 'providers' | 'connections' | 'events' | 'webhooks' | 'api-keys';

export const SECTIONS: ReadonlyArray<{ id: Section; label: string; href: string }> = [
  { id: 'providers', label: 'Providers', href: '/dashboard/providers' },
  { id: 'connections', label: 'Connections', href: '/dashboard/connections' },
  { id: 'events', label: 'Events', href: '/dashboard/events' },
  { id: 'webhooks', label: 'Webhooks', href: '/dashboard/webhooks' },
  { id: 'api-keys', label: 'API keys', href: '/dashboard/api-keys' },
];

export interface Frame {
  session: ActiveSession;
  environments: readonly Environment[];
  section: Section;
  stylesheet: string;
  notice?: string | null | undefined;
}

function Document(props: { title: string; stylesheet: string; children: Child }) {
  return (
    <HtmlDocument
      title={`${props.title} · Pipes dashboard`}
      head={<link rel="stylesheet" href={props.stylesheet} />}
    >
      {props.children}
    </HtmlDocument>
  );
}

export function EnvironmentBadge(props: { environment: Pick<Environment, 'name' | 'kind'> }) {
  return (
    <span class={`badge env-${props.environment.kind}`}>
      {props.environment.name}
      {props.environment.name === props.environment.kind ? '' : ` (${props.environment.kind})`}
    </span>
  );
}

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A signed-in page: top bar with the environment switcher, side navigation, and the page in `<main>`. */
export function Page(props: Frame & { title: string; children: Child }) {
  const env = props.session.environment;
  return (
    <Document title={`${props.title} (${env.name})`} stylesheet={props.stylesheet}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class={`topbar env-${env.kind}`}>
        <a class="brand" href="/dashboard/providers">
          Pipes
        </a>
        <form class="envform" method="post" action="/dashboard/environment">
          <CsrfField token={props.session.csrfToken} />
          <input type="hidden" name="section" value={props.section} />
          <label for="env-switch" class="sub">
            Environment
          </label>
          <select id="env-switch" name="environment">
            {props.environments.map((e) => (
              <option value={e.name} selected={e.id === env.id}>
                {e.name === e.kind ? e.name : `${e.name} (${e.kind})`}
              </option>
            ))}
          </select>
          <button type="submit" class="secondary small">
            Switch
          </button>
        </form>
        <span class="who">{props.session.operator.email}</span>
        <form class="signout" method="post" action="/dashboard/sign-out">
          <CsrfField token={props.session.csrfToken} />
          <button type="submit" class="secondary small">
            Sign out
          </button>
        </form>
      </header>
      <div class="frame">
        <nav class="sidenav" aria-label="Dashboard">
          <ul>
            {SECTIONS.map((s) => (
              <li>
                <a href={s.href} aria-current={s.id === props.section ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">
          <p class="envline">
            Showing the <EnvironmentBadge environment={env} /> environment
          </p>
          <h1>{props.title}</h1>
          {props.notice ? (
            <p class="notice" role="status">
              {props.notice}
            </p>
          ) : null}
          {props.children}
        </main>
      </div>
    </Document>
  );
}

/** A page outside a session (sign-in, set-up, errors before sign-in). */
export function BarePage(props: { title: string; stylesheet: string; children: Child }) {
  return (
    <Document title={props.title} stylesheet={props.stylesheet}>
      <main id="main" class="auth">
        {props.children}
      </main>
    </Document>
  );
}

export function FixLine(props: { fix: Fix | null }) {
  if (props.fix === null) return null;
  return (
    <p class="fix">
      <strong>Fix:</strong> {props.fix.text}
      {props.fix.href ? (
        <>
          {' '}
          <a href={props.fix.href}>{props.fix.linkText ?? 'Go there'}</a>
        </>
      ) : null}
    </p>
  );
}

/** Field errors of a refused form, each with its fix when one is known. */
export function Problems(props: { errors: readonly FieldError[]; context?: FixContext; title?: string }) {
  if (props.errors.length === 0) return null;
  return (
    <div class="problem" role="alert">
      <strong>{props.title ?? 'That did not work.'}</strong>
      <ul>
        {props.errors.map((e) => (
          <li>
            {e.field === '(body)' || e.field === '' ? '' : <code>{e.field}</code>} {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ProblemsWithFixes(props: { errors: readonly FieldError[]; context?: FixContext }) {
  const fixes = props.errors
    .map((e) => fixFor(e.code, props.context ?? {}))
    .filter((f): f is Fix => f !== null);
  return (
    <>
      <Problems errors={props.errors} {...(props.context ? { context: props.context } : {})} />
      {fixes.map((fix) => (
        <FixLine fix={fix} />
      ))}
    </>
  );
}

export function Time(props: { ms: number | null | undefined }) {
  if (props.ms === null || props.ms === undefined) return <span class="sub">never</span>;
  const iso = new Date(props.ms).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`}</time>;
}

export function StatusBadge(props: { status: 'active' | 'inactive' | 'unconfigured' }) {
  if (props.status === 'active') return <span class="badge ok">Active</span>;
  if (props.status === 'inactive') return <span class="badge bad">Inactive</span>;
  return <span class="badge">Not set up</span>;
}

export function StateBadge(props: { state: string }) {
  const tone =
    props.state === 'connected' || props.state === 'enabled' || props.state === 'delivered'
      ? 'ok'
      : props.state === 'needs_reauthorization' || props.state === 'pending' || props.state === 'retrying'
        ? 'warn'
        : 'bad';
  return <span class={`badge ${tone}`}>{props.state.replaceAll('_', ' ')}</span>;
}

/** A letter avatar; only inline `data:` icons are shown (remote icons would tell a CDN who opens the dashboard). */
export function Avatar(props: { name: string; iconUrl?: string | undefined; large?: boolean }) {
  const letter = (props.name.trim()[0] ?? '?').toUpperCase();
  return (
    <span class={props.large ? 'avatar large' : 'avatar'} aria-hidden="true">
      {props.iconUrl?.startsWith('data:image/') ? <img src={props.iconUrl} alt="" /> : letter}
    </span>
  );
}
