/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { FieldError } from '../../errors.ts';
import { listEnvironments } from '../../store/environments.ts';
import { createOperator, emailProblem } from '../auth/operators.ts';
import { passwordProblem } from '../auth/passwords.ts';
import {
  createSession,
  deleteSessionByHash,
  findSession,
  hashSessionId,
  purgeExpiredSessions,
} from '../auth/sessions.ts';
import { consumeSetupToken, isSetupTokenValid } from '../auth/setup-token.ts';
import { authenticateOperator } from '../auth/sign-in.ts';
import { ACCOUNT_THROTTLE, purgeStaleAttempts } from '../auth/throttle.ts';
import { clearCookieHeader, cookieHeader, readCookie } from '../cookies.ts';
import { tokensEqual } from '../csrf.ts';
import { clientAddress, type Dash, type DashEnv, formValue, readForm, render } from '../dash.ts';
import { MessagePage, SetupPage, SignInPage } from '../pages/auth.tsx';

const SIGN_IN_NOTICES: Record<string, string> = {
  signed_out: 'You are signed out.',
  expired: 'Your session ended. Sign in again.',
};

/** The pre-session form token (double submit): reused while its cookie lives, so two open tabs both work. */
function signInToken(dash: Dash, c: Context): { token: string; setCookie: string | null } {
  const existing = readCookie(c.req.header('cookie'), dash.cookies.signIn);
  if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing))
    return { token: existing, setCookie: null };
  const token = randomBytes(32).toString('base64url');
  return {
    token,
    setCookie: cookieHeader(dash.cookies, dash.cookies.signIn, token, { maxAgeSeconds: 3600 }),
  };
}

/** Login CSRF: the form's token must be the one in this browser's cookie. */
function signInFormValid(dash: Dash, c: Context, form: Record<string, string | string[]>): boolean {
  const cookie = readCookie(c.req.header('cookie'), dash.cookies.signIn);
  return cookie !== undefined && tokensEqual(formValue(form, '_signin'), cookie);
}

/**
 * Starts a session for `operatorId` and answers the redirect into the dashboard. The id is always new (session
 * fixation); a session the browser already had is ended server-side.
 */
async function startSession(dash: Dash, c: Context, operatorId: string): Promise<Response> {
  const db = dash.ctx.store.db;
  const now = dash.ctx.clock.now();
  const previous = readCookie(c.req.header('cookie'), dash.cookies.session);
  if (previous !== undefined) await deleteSessionByHash(db, hashSessionId(previous));
  const environments = await listEnvironments(db);
  const environment = environments.find((e) => e.name === 'sandbox') ?? environments[0]!;
  const { id } = await createSession(db, operatorId, environment.id, now, dash.timeouts);
  const headers = new Headers({ Location: '/dashboard/providers', 'Cache-Control': 'no-store' });
  headers.append('Set-Cookie', cookieHeader(dash.cookies, dash.cookies.session, id));
  headers.append('Set-Cookie', clearCookieHeader(dash.cookies, dash.cookies.signIn));
  return new Response(null, { status: 303, headers });
}

export function mountAuthRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const db = dash.ctx.store.db;

  app.get('/sign-in', async (c) => {
    const current = readCookie(c.req.header('cookie'), dash.cookies.session);
    if (current !== undefined && (await findSession(db, current, dash.ctx.clock.now(), dash.timeouts))) {
      return c.redirect('/dashboard/providers', 303);
    }
    const { token, setCookie } = signInToken(dash, c);
    if (setCookie !== null) c.header('Set-Cookie', setCookie, { append: true });
    const notice = c.req.query('notice');
    return render(
      c,
      <SignInPage
        stylesheet={dash.stylesheet}
        formToken={token}
        notice={
          notice !== undefined && Object.hasOwn(SIGN_IN_NOTICES, notice) ? SIGN_IN_NOTICES[notice] : null
        }
      />,
    );
  });

  app.post('/sign-in', async (c) => {
    const form = await readForm(c);
    if (!signInFormValid(dash, c, form)) return staleForm(dash, c);
    const now = dash.ctx.clock.now();
    // Housekeeping on the way: abandoned sessions and old throttle rows do not pile up.
    await purgeExpiredSessions(db, now, dash.timeouts);
    await purgeStaleAttempts(db, now, ACCOUNT_THROTTLE.quietResetMs);
    const email = formValue(form, 'email');
    const operator = await authenticateOperator(
      dash.signIn,
      { email, password: formValue(form, 'password'), address: clientAddress(c) },
      now,
    );
    if (operator === null) {
      const { token } = signInToken(dash, c);
      return render(
        c,
        <SignInPage stylesheet={dash.stylesheet} formToken={token} email={email.slice(0, 320)} failed />,
        401,
      );
    }
    return startSession(dash, c, operator.id);
  });

  app.get('/setup/:token', async (c) => {
    const token = c.req.param('token');
    if (!(await isSetupTokenValid(db, token, dash.ctx.clock.now()))) return invalidSetupLink(dash, c);
    const form = signInToken(dash, c);
    if (form.setCookie !== null) c.header('Set-Cookie', form.setCookie, { append: true });
    return render(
      c,
      <SetupPage stylesheet={dash.stylesheet} action={`/dashboard/setup/${token}`} formToken={form.token} />,
    );
  });

  app.post('/setup/:token', async (c) => {
    const token = c.req.param('token');
    const form = await readForm(c);
    if (!signInFormValid(dash, c, form)) return staleForm(dash, c);
    const now = dash.ctx.clock.now();
    if (!(await isSetupTokenValid(db, token, now))) return invalidSetupLink(dash, c);
    const email = formValue(form, 'email');
    const password = formValue(form, 'password');
    const errors: FieldError[] = [];
    const emailIssue = emailProblem(email);
    if (emailIssue !== null) errors.push({ field: 'email', code: 'invalid', message: emailIssue });
    const passwordIssue = passwordProblem(password);
    if (passwordIssue !== null) errors.push({ field: 'password', code: 'invalid', message: passwordIssue });
    else if (password !== formValue(form, 'confirm')) {
      errors.push({ field: 'confirm', code: 'mismatch', message: 'The two passwords differ.' });
    }
    if (errors.length > 0) {
      return render(
        c,
        <SetupPage
          stylesheet={dash.stylesheet}
          action={`/dashboard/setup/${token}`}
          formToken={formValue(form, '_signin')}
          email={email.slice(0, 320)}
          errors={errors}
        />,
        422,
      );
    }
    const operator = await db.transaction().execute(async (trx) => {
      if (!(await consumeSetupToken(trx, token, now))) return null;
      return createOperator(trx, { email, password }, now, dash.ctx.store.engine.isUniqueViolation);
    });
    if (operator === null) return invalidSetupLink(dash, c);
    dash.ctx.log.info({ operator: operator.id }, 'first dashboard operator created through the set-up link');
    return startSession(dash, c, operator.id);
  });
}

function invalidSetupLink(dash: Dash, c: Context) {
  return render(
    c,
    <MessagePage
      stylesheet={dash.stylesheet}
      title="This set-up link is not valid"
      message="It was already used, it expired, or an operator already exists."
      fix={{
        text: 'Sign in with an existing operator, or create one on the server with npx pipes operators create --email you@example.com. In development, restarting Pipes prints a new link while no operator exists.',
      }}
      back={{ href: '/dashboard/sign-in', label: 'Go to sign-in' }}
    />,
    404,
  );
}

function staleForm(dash: Dash, c: Context) {
  return render(
    c,
    <MessagePage
      stylesheet={dash.stylesheet}
      title="The form expired"
      message="This form was not issued to this browser, or it is too old."
      fix={{ text: 'Open the page again and resubmit the form.' }}
      back={{ href: '/dashboard/sign-in', label: 'Go to sign-in' }}
    />,
    403,
  );
}
