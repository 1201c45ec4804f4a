import assert from 'node:assert/strict';
import type { TestPipes } from '../helpers/pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo } from '../oauth/flow-helpers.ts';
import { oidcConsent } from '../oauth/oidc.ts';

/**
 * Connects `userId` through the whole Pipes connect flow to an integration backed by oidc-provider (logging in there
 * as `account`), and returns the new connected account's id.
 */
export async function connectThroughOidc(
  pipes: TestPipes,
  slug: string,
  userId: string,
  account = 'alice',
): Promise<string> {
  const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
    slug,
    userId,
    returnTo: RETURN_TO,
  });
  const browser = new Browser();
  const back = returnedTo(
    await deliver(browser, await oidcConsent(browser, await confirm(browser, url), account)),
  );
  assert.equal(back.searchParams.get('status'), 'connected', back.href);
  return back.searchParams.get('connected_account_id')!;
}
