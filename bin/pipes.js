#!/usr/bin/env node
// The `pipes` command. Pipes is TypeScript run through tsx, so there is no build step between a clone and a
// running server.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
