import type { Context } from 'hono';
import type { AppContext } from '../../context.ts';
import type { FlowRow } from './flow-store.ts';
import { markFlowFailed } from './mark-failed.ts';
import { ErrorPage, renderPage } from './pages.tsx';

/** A failed connect attempt, as the user and the app's webhook see it. */
export interface FlowFailure {
  /** Stable Pipes code (`error_code` in the event, `error` on return_to). */
  errorCode: string;
  /** Page title. */
  title: string;
  /** What happened and what to do; no secret, no provider token. */
  message: string;
  providerError: string | null;
  providerErrorDescription: string | null;
}

/** Sends the browser back to the app's `return_to` (already exact-matched at authorize time) with `params`. */
export function redirectToApp(c: Context, returnTo: string, params: Record<string, string>): Response {
  const url = new URL(returnTo);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return c.body(null, 302, {
    Location: url.href,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
}

/** An error page for a browser we cannot (or must not) send anywhere. */
export function errorPage(
  c: Context,
  failure: Pick<FlowFailure, 'title' | 'message' | 'errorCode'>,
  detail?: string | null,
) {
  return renderPage(
    c,
    <ErrorPage
      title={failure.title}
      message={failure.message}
      code={failure.errorCode}
      detail={detail ?? null}
    />,
    400,
  );
}

/**
 * Ends a flow that failed after it was identified: marks it failed, records `pipes.connected_account.connection_failed`
 * in the same transaction (§5.1), then returns the user to the app with `error` / `error_description`, or shows an
 * error page when the app gave no `return_to`.
 */
export async function failFlow(
  ctx: AppContext,
  c: Context,
  flow: FlowRow,
  failure: FlowFailure,
): Promise<Response> {
  const now = ctx.clock.now();
  await markFlowFailed(
    ctx.store.db,
    flow,
    {
      errorCode: failure.errorCode,
      errorReason: failure.message,
      providerError: failure.providerError,
      providerErrorDescription: failure.providerErrorDescription,
    },
    now,
  );
  ctx.log.info(
    {
      flowId: flow.id,
      provider: flow.provider_slug,
      errorCode: failure.errorCode,
      providerError: failure.providerError,
    },
    'connect flow failed',
  );
  if (flow.return_to === null) return errorPage(c, failure, failure.providerErrorDescription);
  const params: Record<string, string> = {
    status: 'failed',
    provider: flow.provider_slug,
    error: failure.errorCode,
    error_description: failure.message,
  };
  if (failure.providerError !== null) params.provider_error = failure.providerError;
  return redirectToApp(c, flow.return_to, params);
}
