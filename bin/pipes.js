#!/usr/bin/env node
// The `pipes` command. Pipes is TypeScript run through tsx, so there is no build step between a clone and a
// running server.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Point tsx at the project's tsconfig explicitly: run from another folder, tsx would not find it, and the
// server-rendered .tsx pages would lose their JSX settings.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
