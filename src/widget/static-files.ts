import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from 'hono';

/** The widget's static scripts, read once at start (no build step: they are plain browser JavaScript). */
export interface StaticScript {
  body: string;
  etag: string;
}

const STATIC_DIR = path.join(import.meta.dirname, 'static');

export function loadStaticScript(name: 'pipes-connect.js' | 'done.js'): StaticScript {
  const body = readFileSync(path.join(STATIC_DIR, name), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/**
 * Serves a script to any page: `Cross-Origin-Resource-Policy: cross-origin` so that apps with COEP can embed it,
 * a short cache (a new Pipes version reaches pages within minutes), and an ETag for cheap revalidation.
 */
export function serveScript(c: Context, script: StaticScript): Response {
  const headers = {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'public, max-age=300',
    ETag: script.etag,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'Access-Control-Allow-Origin': '*',
  };
  if (c.req.header('if-none-match') === script.etag) return c.body(null, 304, headers);
  return c.body(script.body, 200, headers);
}
