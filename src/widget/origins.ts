import type { Config } from '../config/load.ts';
import { PipesError } from '../errors.ts';
import type { Environment } from '../store/environments.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The hosted widget page; a `return_to` equal to it is Pipes' own page and always allowed. */
export const hostedWidgetUrl = (publicUrl: string) => `${publicUrl}/widget`;

/** The page a popup ends on; it reports the result to `origin` (the embedding page's) and closes. */
export const popupDoneUrl = (publicUrl: string, origin: string) =>
  `${publicUrl}/widget/done?origin=${encodeURIComponent(origin)}`;

/**
 * Origins a widget may be embedded on, for the popup's `postMessage`: Pipes' own (the hosted page), the origin of
 * every `redirect_urls` entry of the environment, and, in development, any http loopback origin. The same rules as
 * `return_to` (src/oauth/flow/return-to.ts), at the origin level, so registering one return URL of an app is enough.
 */
export function isAllowedEmbeddingOrigin(
  config: Pick<Config, 'publicUrl' | 'redirectUrls' | 'production'>,
  env: Pick<Environment, 'name'>,
  origin: string,
): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  // An origin, nothing more: no path, credentials, query or fragment.
  if (url.origin !== origin || url.origin === 'null') return false;
  if (origin === new URL(config.publicUrl).origin) return true;
  for (const registered of config.redirectUrls[env.name] ?? []) {
    if (URL.canParse(registered) && new URL(registered).origin === origin) return true;
  }
  return !config.production && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

export function requireEmbeddingOrigin(
  config: Pick<Config, 'publicUrl' | 'redirectUrls' | 'production'>,
  env: Pick<Environment, 'name'>,
  origin: string | undefined,
): string {
  if (origin !== undefined && isAllowedEmbeddingOrigin(config, env, origin)) return origin;
  const shown = origin === undefined ? '(none)' : origin.slice(0, 200);
  const message =
    `The page embedding the widget (origin ${shown}) is not registered for the ${env.name} environment, so the ` +
    `popup cannot report back to it. Add a URL of that origin to redirect_urls.${env.name} in the config file ` +
    '(PIPES_CONFIG_FILE), or use mode="redirect" with a registered return-to.';
  throw new PipesError('invalid_widget_origin', message, {
    status: 422,
    errors: [{ field: 'origin', code: 'not_registered', message }],
  });
}

/**
 * The connect flow's `redirect_urls` as the widget uses them: the environment's own, plus Pipes' hosted widget page
 * and the popup's done page for this embedding origin. Those are Pipes' own pages, which an operator should not have
 * to register; they still go through the exact-match check of `startAuthorization`.
 */
export function widgetRedirectUrls(
  config: Pick<Config, 'publicUrl' | 'redirectUrls'>,
  env: Pick<Environment, 'name'>,
  extra: string,
): Record<string, string[]> {
  return { ...config.redirectUrls, [env.name]: [...(config.redirectUrls[env.name] ?? []), extra] };
}
