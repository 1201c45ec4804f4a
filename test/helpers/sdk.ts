import { WorkOS } from '@workos-inc/node';

/** The official SDK, pointed at a Pipes instance by changing only its host options. */
export function sdkFor(pipes: { port: number }, key: string): WorkOS {
  return new WorkOS(key, { apiHostname: '127.0.0.1', port: pipes.port, https: false, maxRetries: 0 });
}
