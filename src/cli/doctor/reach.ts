import { randomBytes } from 'node:crypto';
import { redirectUriOf } from '../../api/routes/data-integrations/present.ts';
import { doctorProof, installationId } from '../../api/routes/doctor-probe.ts';
import type { Config } from '../../config/load.ts';
import { postWebhook } from '../../events/delivery/send.ts';
import { webhookEgressPolicy } from '../../events/egress-policy.ts';
import { buildDeliveryHeaders } from '../../events/signature.ts';
import { openSecrets } from '../../events/webhook-endpoints.ts';
import { newId } from '../../lib/ids.ts';
import { createPinnedDispatcher } from '../../relay/egress/index.ts';
import { listEnvironments } from '../../store/environments.ts';
import type { Store } from '../../store/open.ts';
import type { Vault } from '../../vault/vault.ts';
import { type CheckResult, type CheckStatus, check } from './report.ts';

/** A GET that never follows redirects and never hangs; null when nothing answered (with the reason). */
export async function probe(
  url: string,
  timeoutMs: number,
): Promise<{ response: Response; body: string } | { error: string }> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.text()).slice(0, 20_000);
    return { response, body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if ((error as Error).name === 'TimeoutError') return { error: `no answer within ${timeoutMs} ms` };
    return {
      error:
        cause?.code === 'ECONNREFUSED' ? 'connection refused' : (cause?.code ?? (error as Error).message),
    };
  }
}

const PUBLIC_URL_FIX =
  'Set PIPES_PUBLIC_URL to the URL browsers and providers use to reach this Pipes (behind a reverse proxy: the ' +
  "proxy's https URL), the same value for the server and for `pipes doctor`, then restart Pipes.";

/** The public-URL check's single line, for the answers that end the check early. */
function publicUrlVerdict(
  reachable: boolean,
  status: CheckStatus,
  message: string,
  fix: string = PUBLIC_URL_FIX,
): { result: CheckResult[]; reachable: boolean } {
  return { reachable, result: [check('public_url', 'Public URL', status, message, fix)] };
}

/**
 * Proves that `PIPES_PUBLIC_URL` reaches this very installation: `/health` answers, then the doctor's fresh
 * challenge comes back signed with a subkey of this installation's master key over its database's identity (see
 * src/api/routes/doctor-probe.ts). Another server, or another Pipes, cannot produce that answer.
 */
export async function checkPublicUrl(
  config: Config,
  store: Store,
  vault: Vault | null,
  timeoutMs: number,
): Promise<{ result: CheckResult[]; reachable: boolean }> {
  const base = config.publicUrl;
  const health = await probe(`${base}/health`, timeoutMs);
  if ('error' in health) {
    return publicUrlVerdict(
      false,
      'fail',
      `Nothing answers at ${base} (${health.error}).`,
      `Start Pipes (\`npm start\`) if it is not running. ${PUBLIC_URL_FIX}`,
    );
  }
  if (health.response.status !== 200) {
    return publicUrlVerdict(
      false,
      'fail',
      `${base}/health answered ${health.response.status}: that is not Pipes.`,
    );
  }
  const installation = await installationId(store.db);
  if (vault === null || installation === null) {
    return publicUrlVerdict(
      true,
      'warn',
      `${base} answers /health, but without the master key the doctor cannot prove it is this installation.`,
      'Fix the master key check above, then run the doctor again.',
    );
  }
  const challenge = randomBytes(32).toString('base64url');
  const answer = await probe(`${base}/health/doctor?challenge=${challenge}`, timeoutMs);
  let proof: string | undefined;
  let serverPublicUrl: string | undefined;
  if (!('error' in answer) && answer.response.status === 200) {
    try {
      const json = JSON.parse(answer.body) as { proof?: string; public_url?: string };
      proof = json.proof;
      serverPublicUrl = json.public_url;
    } catch {
      proof = undefined;
    }
  }
  if (proof === undefined) {
    return publicUrlVerdict(
      false,
      'fail',
      `${base} answers /health but not Pipes' identity probe: it is another server (or a Pipes older than this one).`,
    );
  }
  if (proof !== doctorProof(vault, challenge, installation)) {
    return publicUrlVerdict(
      false,
      'fail',
      `${base} is a Pipes server, but another installation (another database or master key), not this one.`,
    );
  }
  const result = [check('public_url', 'Public URL', 'pass', `${base} reaches this Pipes installation.`)];
  if (serverPublicUrl !== undefined && serverPublicUrl !== base) {
    result.push(
      check(
        'public_url_config',
        'Server PIPES_PUBLIC_URL',
        'fail',
        `The server runs with PIPES_PUBLIC_URL=${serverPublicUrl}, not ${base}: it builds redirect URIs and connect links on the other value.`,
        'Give the server and the doctor the same PIPES_PUBLIC_URL, then restart Pipes.',
      ),
    );
  }
  return { reachable: true, result };
}

/**
 * The provider-facing leg: the callback route of an enabled integration answers on the public URL as Pipes (an
 * "invalid state" page for a GET without parameters, which changes nothing). A proxy that forwards `/health` but not
 * `/data-integrations/…` fails here, before a user's connection does.
 */
export async function checkCallbackRoute(
  config: Config,
  store: Store,
  timeoutMs: number,
): Promise<CheckResult> {
  const integration = await store.db
    .selectFrom('data_integrations')
    .select(['slug', 'integration_key'])
    .where('enabled', '=', 1)
    .orderBy('id')
    .executeTakeFirst();
  const uri = redirectUriOf(
    config.publicUrl,
    integration ?? { slug: 'doctor', integration_key: 'dik_00000000000000000000000000' },
  );
  const answer = await probe(uri, timeoutMs);
  if (!('error' in answer) && answer.response.status === 400 && answer.body.includes('invalid_state')) {
    return check('callback_route', 'Callback route', 'pass', `${uri} answers as Pipes' callback.`);
  }
  const got = 'error' in answer ? answer.error : `HTTP ${answer.response.status}`;
  return check(
    'callback_route',
    'Callback route',
    'fail',
    `${uri} does not answer as Pipes' callback (${got}).`,
    'Route every path of PIPES_PUBLIC_URL to Pipes (including /data-integrations/…/callback), and register ' +
      "each integration's redirect_uri at its provider exactly.",
  );
}

/**
 * Every enabled webhook endpoint gets one signed `pipes.doctor.ping` (not an event: it is in no event list, is
 * never retried and carries `Pipes-Doctor: ping`), signed with the endpoint's current secret like a real delivery,
 * through the same egress checks. A receiver that verifies signatures and ignores unknown event types answers 2xx.
 */
export async function checkWebhooks(
  config: Config,
  store: Store,
  vault: Vault,
  timeoutMs: number,
  now: number,
): Promise<CheckResult[]> {
  const policy = webhookEgressPolicy(config);
  const dispatcher = createPinnedDispatcher({
    policy,
    connectTimeoutMs: timeoutMs,
    headersTimeoutMs: timeoutMs,
    bodyTimeoutMs: timeoutMs,
  });
  const results: CheckResult[] = [];
  try {
    for (const env of await listEnvironments(store.db)) {
      const endpoints = await store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('environment_id', '=', env.id)
        .where('status', '=', 'enabled')
        .orderBy('id')
        .execute();
      for (const endpoint of endpoints) {
        const id = `webhook:${endpoint.id}`;
        const title = `Webhook ${endpoint.id.slice(0, 12)}… (${env.name})`;
        const pingId = `ping_${newId('event', now).slice('event_'.length)}`;
        const body = JSON.stringify({
          object: 'event',
          id: pingId,
          event: 'pipes.doctor.ping',
          data: {
            test: true,
            message: 'Sent by `pipes doctor` to check that this endpoint answers. Not an event.',
          },
          created_at: new Date(now).toISOString(),
        });
        let secrets: string[];
        try {
          secrets = openSecrets(vault, store.engine, endpoint, now);
        } catch {
          results.push(
            check(
              id,
              title,
              'fail',
              'Its signing secret cannot be opened with this master key.',
              'Rotate the secret.',
            ),
          );
          continue;
        }
        const headers = {
          ...buildDeliveryHeaders({ secrets, eventId: pingId, nowMs: now, body }),
          'pipes-doctor': 'ping',
        };
        const sent = await postWebhook({
          url: endpoint.endpoint_url,
          headers,
          body,
          dispatcher,
          policy,
          timeoutMs,
        });
        results.push(classifyWebhookAnswer(id, title, endpoint.endpoint_url, sent));
      }
    }
  } finally {
    await dispatcher.destroy();
  }
  return results;
}

function classifyWebhookAnswer(
  id: string,
  title: string,
  url: string,
  sent: Awaited<ReturnType<typeof postWebhook>>,
): CheckResult {
  const verdict = (status: CheckStatus, message: string, fix?: string) =>
    check(id, title, status, message, fix);
  if (sent.kind === 'error') {
    return verdict(
      'fail',
      `${url}: ${sent.error}.`,
      'Make sure the receiver runs and is reachable from the Pipes server.',
    );
  }
  const status = sent.status;
  if (status >= 200 && status < 300) return verdict('pass', `${url} answered ${status} to a signed ping.`);
  if (status === 401 || status === 403) {
    return verdict(
      'fail',
      `${url} answered ${status}: it rejected the signature.`,
      'Give the receiving app the endpoint’s current secret (POST /webhook_endpoints/{id}/rotate_secret issues a new one).',
    );
  }
  if (status >= 300 && status < 400) {
    return verdict(
      'fail',
      `${url} answered ${status} (a redirect); Pipes never follows redirects.`,
      'Register the final URL of the receiver.',
    );
  }
  if (status === 404 || status === 405 || status === 410) {
    return verdict(
      'fail',
      `${url} answered ${status}: no webhook route there.`,
      'Check the path of the endpoint URL.',
    );
  }
  if (status < 500) {
    return verdict(
      'warn',
      `${url} answered ${status} to a signed ping (it may refuse unknown event types).`,
      'Answer 2xx to events you ignore, so that Pipes does not retry them.',
    );
  }
  return verdict('fail', `${url} answered ${status}.`, 'Look at the receiver’s logs.');
}
