/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldError } from '../../errors.ts';
import type { Fix } from '../fixes.ts';
import { BarePage, FixLine, Problems } from '../layout.tsx';

/** The operator's email, as both sign-in and set-up ask for it (`username` lets password managers pair it). */
function EmailField(props: { value: string; autofocus?: boolean }) {
  return (
    <div class="field">
      <label for="email">Email</label>
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="username"
        required
        value={props.value}
        autofocus={props.autofocus}
      />
    </div>
  );
}

export function SignInPage(props: {
  stylesheet: string;
  formToken: string;
  email?: string;
  failed?: boolean;
  notice?: string | null | undefined;
}) {
  return (
    <BarePage title="Sign in" stylesheet={props.stylesheet}>
      <div class="card">
        <h1>Sign in to Pipes</h1>
        <p class="lead">The operator dashboard of this Pipes installation.</p>
        {props.notice ? (
          <p class="notice" role="status">
            {props.notice}
          </p>
        ) : null}
        {props.failed ? (
          <div class="problem" role="alert">
            <strong>Email or password is incorrect.</strong>
            <p class="hint">After several failed attempts, sign-in pauses for a few minutes.</p>
          </div>
        ) : null}
        <form method="post" action="/dashboard/sign-in">
          <input type="hidden" name="_signin" value={props.formToken} />
          <EmailField value={props.email ?? ''} autofocus />
          <div class="field">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
          </div>
          <button type="submit">Sign in</button>
        </form>
      </div>
      <p class="sub">
        No operator yet? Run <code>npx pipes operators create --email you@example.com</code>, or open the
        one-time set-up link that <code>npm start</code> prints in development.
      </p>
    </BarePage>
  );
}

export function SetupPage(props: {
  stylesheet: string;
  action: string;
  formToken: string;
  email?: string;
  errors?: readonly FieldError[];
}) {
  return (
    <BarePage title="Create the first operator" stylesheet={props.stylesheet}>
      <div class="card">
        <h1>Create the first operator</h1>
        <p class="lead">
          This one-time link works until an operator exists. Choose the email and password you will sign in
          with.
        </p>
        <Problems errors={props.errors ?? []} />
        <form method="post" action={props.action}>
          <input type="hidden" name="_signin" value={props.formToken} />
          <EmailField value={props.email ?? ''} />
          <div class="field">
            <label for="password">Password</label>
            <p class="hint" id="password-hint">
              At least 12 characters. A passphrase is good.
            </p>
            <input
              id="password"
              name="password"
              type="password"
              autocomplete="new-password"
              minlength={12}
              required
              aria-describedby="password-hint"
            />
          </div>
          <div class="field">
            <label for="confirm">Repeat the password</label>
            <input id="confirm" name="confirm" type="password" autocomplete="new-password" required />
          </div>
          <button type="submit">Create operator and sign in</button>
        </form>
      </div>
    </BarePage>
  );
}

/** A page for a refused or failed request, with the fix beside the problem. */
export function MessagePage(props: {
  stylesheet: string;
  title: string;
  message: string;
  fix?: Fix | null;
  back?: { href: string; label: string };
}) {
  return (
    <BarePage title={props.title} stylesheet={props.stylesheet}>
      <div class="card">
        <h1>{props.title}</h1>
        <p role="alert">{props.message}</p>
        <FixLine fix={props.fix ?? null} />
        {props.back ? (
          <p>
            <a href={props.back.href}>{props.back.label}</a>
          </p>
        ) : null}
      </div>
    </BarePage>
  );
}
