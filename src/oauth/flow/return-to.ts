import type { Config } from '../../config/load.ts';
import { PipesError } from '../../errors.ts';
import type { Environment } from '../../store/environments.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * `return_to` must be one of the URLs registered for the environment (config file `redirect_urls[<env name>]`),
 * compared exactly (R-O3, O13: Pipes is never an open redirector). In development mode any `http://` loopback URL
 * is also accepted, so a local app works without configuration. Returns the URL as given.
 */
export function checkReturnTo(
  config: Pick<Config, 'redirectUrls' | 'production'>,
  env: Pick<Environment, 'name'>,
  value: string,
): string {
  const registered = config.redirectUrls[env.name] ?? [];
  if (URL.canParse(value)) {
    const url = new URL(value);
    const normalised = url.href;
    if (registered.some((r) => r === value || (URL.canParse(r) && new URL(r).href === normalised)))
      return value;
    if (
      !config.production &&
      url.protocol === 'http:' &&
      LOOPBACK_HOSTS.has(url.hostname) &&
      url.username === ''
    ) {
      return value;
    }
  }
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  const message =
    `return_to "${shown}" is not registered for the ${env.name} environment. Add it to redirect_urls.${env.name} ` +
    `in the config file (PIPES_CONFIG_FILE); it must match exactly.` +
    (config.production
      ? ''
      : ' In development, http://127.0.0.1 and http://localhost URLs are also accepted.');
  throw new PipesError('invalid_return_to', message, {
    status: 422,
    errors: [{ field: 'return_to', code: 'not_registered', message }],
  });
}
