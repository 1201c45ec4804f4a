import { createServer } from 'node:net';
import { startTestPipes, type TestPipes, type TestPipesOptions } from './pipes.ts';

/** A free loopback port: bind port 0, read it, release it. */
export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Like `startTestPipes`, but on a known port with `PIPES_PUBLIC_URL` pointing at it, so that the URLs Pipes builds
 * (connect links, redirect URIs, the sandbox issuer) are reachable by a test browser.
 */
export async function startPublicTestPipes(options: TestPipesOptions = {}): Promise<TestPipes> {
  const port = await reservePort();
  return startTestPipes({
    ...options,
    env: { PORT: String(port), PIPES_PUBLIC_URL: `http://127.0.0.1:${port}`, ...options.env },
  });
}
