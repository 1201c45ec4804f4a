import type { Config } from '../config/load.ts';
import { PipesError } from '../errors.ts';
import {
  assertUrlAllowed,
  parseHostLiteral,
  type Resolver,
  resolveAllowedAddresses,
  systemResolver,
} from '../relay/egress/index.ts';
import { webhookEgressPolicy } from './egress-policy.ts';

/**
 * Checks a webhook URL at registration (R-W8, W8): https only (unless insecure http is allowed), no credentials, and
 * no loopback, private or metadata address, neither as a literal nor in the current DNS answer. The worker checks
 * again at every send, since DNS can change after registration. A name that does not resolve yet is accepted: the
 * send-time check covers it, and refusing it would block registering a receiver before it is deployed.
 *
 * Returns the normalised URL (WHATWG serialisation), which is what duplicates are detected on.
 */
export async function checkEndpointUrl(
  config: Pick<Config, 'egress'>,
  url: string,
  resolver: Resolver = systemResolver,
): Promise<string> {
  const policy = webhookEgressPolicy(config);
  let parsed: URL;
  try {
    parsed = assertUrlAllowed(url, policy, { status: 422 });
    const literal = parseHostLiteral(parsed.hostname);
    if (literal.kind === 'name') await resolveIfPossible(literal.name, policy, resolver);
  } catch (error) {
    if (error instanceof PipesError) throw refused(error.message);
    throw error;
  }
  return parsed.href;
}

async function resolveIfPossible(
  name: string,
  policy: ReturnType<typeof webhookEgressPolicy>,
  resolver: Resolver,
): Promise<void> {
  try {
    await resolveAllowedAddresses(name, policy, resolver);
  } catch (error) {
    if (error instanceof PipesError && error.code === 'blocked_destination') throw error;
    // Not resolvable right now: decided again at send time.
  }
}

function refused(message: string): PipesError {
  return new PipesError('invalid_request_parameters', 'Validation failed.', {
    status: 422,
    errors: [{ field: 'endpoint_url', code: 'blocked_destination', message }],
  });
}
