import type { Config } from '../config/load.ts';
import type { EgressPolicy } from '../relay/egress/index.ts';

/**
 * The egress policy for webhook receivers, from the configuration. `allowPrivateNetwork` covers loopback too: a
 * receiver on the developer's laptop is the case it exists for. Metadata and the other special ranges stay refused.
 */
export function webhookEgressPolicy(config: Pick<Config, 'egress'>): EgressPolicy {
  return {
    allowLoopback: config.egress.allowPrivateNetwork,
    allowPrivate: config.egress.allowPrivateNetwork,
    allowHttp: config.egress.allowInsecureHttp,
  };
}
