/**
 * `npm run bench`: every benchmark in turn, each in its own process (they start servers and load generators of
 * their own): the token-vending benchmark, then the relay benchmark when it is present.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const benches = ['tokens.ts', 'relay.ts']
  .map((file) => path.join(import.meta.dirname, file))
  .filter(existsSync);
let failed = 0;
for (const file of benches) {
  process.stdout.write(`\n== ${path.relative(process.cwd(), file)}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`${path.basename(file)} exited with ${result.status ?? result.signal}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
