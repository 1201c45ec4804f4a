/**
 * Failpoints: named places where a test can make the process crash or pause, to prove that nothing is lost when a
 * real process dies there (a rotated refresh token, a webhook). Set `PIPES_FAILPOINTS=name:action,…` where action
 * is `exit` (the process dies at once with code 137, like SIGKILL) or `pause` (it stops until SIGCONT-like release
 * through `releasePause`), or `stop` (the process sends itself SIGSTOP; SIGCONT resumes it at that point). Refused
 * in production: `createFailpoints` ignores the variable there.
 */
export interface Failpoints {
  /** Called at a named point. Resolves at once unless a test armed this point. */
  hit(name: string): Promise<void>;
}

export const noFailpoints: Failpoints = { hit: async () => {} };

export function createFailpoints(spec: string | undefined, production: boolean): Failpoints {
  if (!spec || production) return noFailpoints;
  const actions = new Map<string, string>();
  for (const part of spec.split(',')) {
    const [name, action] = part.split(':');
    if (name && action) actions.set(name.trim(), action.trim());
  }
  return {
    async hit(name) {
      const action = actions.get(name);
      if (action === 'exit') {
        process.stderr.write(`failpoint ${name}: exiting\n`);
        process.exit(137);
      }
      if (action === 'stop') {
        // Like a long GC pause or a descheduled VM: the process stops itself right here, and a test's SIGCONT
        // resumes it at this very point (to prove a holder that outlived its lease writes nothing).
        process.stderr.write(`failpoint ${name}: stopping\n`);
        process.kill(process.pid, 'SIGSTOP');
        return;
      }
      if (action === 'pause') {
        process.stderr.write(`failpoint ${name}: paused\n`);
        // A paused process waits forever; the test kills or SIGSTOPs it.
        await new Promise(() => {});
      }
    },
  };
}
