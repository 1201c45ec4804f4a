import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NotFoundException, UnauthorizedException } from '@workos-inc/node';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';

describe('the real @workos-inc/node SDK', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes();
  });
  after(() => pipes.close());

  test('a missing object raises NotFoundException carrying the request id', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await assert.rejects(
      () => workos.pipes.getDataIntegration({ slug: 'no-such-provider' }),
      (error: unknown) => {
        assert.ok(error instanceof NotFoundException, `got ${String(error)}`);
        assert.equal(error.status, 404);
        assert.match(error.requestID, /^req_[0-9A-Z]{26}$/);
        return true;
      },
    );
  });

  test('a wrong key raises UnauthorizedException', async () => {
    for (const key of [generateApiKey('test'), 'sk_test_nonsense']) {
      const workos = sdkFor(pipes, key);
      await assert.rejects(
        () => workos.pipes.getDataIntegration({ slug: 'github' }),
        (error: unknown) => {
          assert.ok(error instanceof UnauthorizedException, `got ${String(error)}`);
          assert.equal(error.status, 401);
          assert.match(error.requestID, /^req_/);
          return true;
        },
      );
    }
  });
});
