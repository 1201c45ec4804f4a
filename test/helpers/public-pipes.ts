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
  // The port is free when read and bound a moment later: another process on a shared machine may take it between
  // the two, so a taken port means trying another.
  for (let attempt = 1; ; attempt++) {
    const port = await reservePort();
    try {
      return await startTestPipes({
        ...options,
        env: { PORT: String(port), PIPES_PUBLIC_URL: `http://127.0.0.1:${port}`, ...options.env },
      });
    } catch (error) {
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}
