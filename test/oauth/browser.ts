import assert from 'node:assert/strict';

/**
 * A minimal browser for flow tests: `fetch` with `redirect: 'manual'` and a cookie jar per host (port included,
 * as browsers scope cookies by host, and tests run several servers on 127.0.0.1). Enough for HttpOnly,
 * SameSite=Lax cookies on top-level navigations, which is all the connect flow uses.
 */
export class Browser {
  private readonly jars = new Map<string, Map<string, string>>();
  /** Every URL this browser was sent to, in order (to prove where it was, and was not, redirected). */
  readonly visited: string[] = [];

  cookies(url: string): Map<string, string> {
    const host = new URL(url).host;
    let jar = this.jars.get(host);
    if (jar === undefined) {
      jar = new Map();
      this.jars.set(host, jar);
    }
    return jar;
  }

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<Response> {
    this.visited.push(url);
    const headers: Record<string, string> = {};
    const jar = this.cookies(url);
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', form });
  }

  /** Follows 3xx redirects (GET) until a non-redirect or until `stop(url)` says so; returns the last response and URL. */
  async follow(
    url: string,
    stop: (url: URL) => boolean = () => false,
    maxHops = 10,
  ): Promise<{ response: Response; url: string }> {
    let current = url;
    for (let hop = 0; hop < maxHops; hop++) {
      if (stop(new URL(current))) return { response: new Response(null, { status: 204 }), url: current };
      const response = await this.get(current);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null)
        return { response, url: current };
      await response.body?.cancel();
      current = new URL(location, current).href;
    }
    assert.fail(`too many redirects from ${url}`);
  }
}

/** Decodes the few HTML entities hono/jsx emits in attributes. */
export const decodeEntities = (value: string): string =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The action of the first form on a page, and its hidden inputs. */
export function readForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*\saction="([^"]*)"/.exec(html)?.[1];
  assert.ok(action !== undefined, 'the page has a form');
  const fields: Record<string, string> = {};
  for (const input of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /\sname="([^"]*)"/.exec(input[0])?.[1];
    const value = /\svalue="([^"]*)"/.exec(input[0])?.[1];
    if (name !== undefined && value !== undefined) fields[decodeEntities(name)] = decodeEntities(value);
  }
  return { action: decodeEntities(action), fields };
}
