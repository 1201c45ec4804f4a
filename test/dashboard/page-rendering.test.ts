import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const CHILD = path.resolve(import.meta.dirname, 'fixtures/serve-pages.ts');

interface ChildReport {
  before: number;
  after: number;
  pages: Record<string, { status: number; contentType: string; html: string }>;
}

/**
 * Pages must not make every later request slower: serving them installs no promise hook (src/lib/page-rendering.ts).
 * Without that, hono/jsx's AsyncLocalStorage installed one at the first page, for good: 192 k → 212 k instructions
 * per relayed request (260–336 k right after the page).
 */
test('serving dashboard, widget and connect-flow pages leaves promise hooks off', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    timeout: 60_000,
  });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
  assert.equal(report.before, 0, 'precondition: no hook before Pipes starts');
  assert.deepEqual(
    Object.entries(report.pages).map(([name, page]) => [name, page.status, page.contentType]),
    [
      ['dashboard', 200, 'text/html; charset=UTF-8'],
      ['widget', 400, 'text/html; charset=UTF-8'],
      ['connectFlow', 400, 'text/html; charset=UTF-8'],
    ],
  );
  for (const page of Object.values(report.pages)) assert.match(page.html, /^<!DOCTYPE html><html lang="en">/);
  assert.match(report.pages.dashboard!.html, /<form[^>]*action="\/dashboard\/sign-in"/);
  assert.equal(report.after, 0, 'a promise hook was installed while pages were served');
});
