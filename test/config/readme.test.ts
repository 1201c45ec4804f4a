import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENV_VARIABLES } from '../../src/config/schema.ts';

test('the README documents every configuration variable Pipes reads', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const name of Object.keys(ENV_VARIABLES)) {
    assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} is missing from the README's table`);
  }
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
});
