import type { IncomingHttpHeaders } from 'node:http';
import { PipesError } from '../errors.ts';
import { ownerFromRequest } from '../tokens/owner.ts';
import { relayErrors } from './errors.ts';
import type { RelaySelection } from './types.ts';

/**
 * Relay URLs:
 * - `ANY  /relay/{slug}/{provider path…}`          API key in `Authorization`, selection in `Pipes-*` headers;
 * - `ANY  /relay/t/{token}/{slug}/{provider path…}` the relay token is the credential and carries the selection;
 * - `POST /relay/tokens`                            mints a relay token (API key).
 */
export type RelayRoute =
  | { kind: 'mint' }
  | { kind: 'key'; slug: string; path: string; query: string | undefined }
  | { kind: 'token'; token: string; slug: string; path: string; query: string | undefined };

export const RELAY_PREFIX = '/relay/';

/** True when this request belongs to the relay (the rest goes to the API app). */
export function isRelayUrl(url: string | undefined): boolean {
  return url?.startsWith(RELAY_PREFIX) === true;
}

function splitSegment(rest: string): [head: string, tail: string] {
  const slash = rest.indexOf('/');
  return slash === -1 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash)];
}

/**
 * A catalog slug: `SLUG_PATTERN` of the catalog schema, words of lower-case letters and digits joined by single
 * hyphens. This and `isSelectionValue` are loops rather than regular expressions: they run on every relayed call,
 * where a regular expression test cost several times as many instructions (docs/relay.md, "Benchmark").
 */
export function isSlug(slug: string): boolean {
  let afterHyphen = true;
  for (let i = 0; i < slug.length; i++) {
    const code = slug.charCodeAt(i);
    if (code === 0x2d) {
      if (afterHyphen) return false;
      afterHyphen = true;
    } else if ((code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39)) afterHyphen = false;
    else return false;
  }
  return !afterHyphen;
}

function checkSlug(slug: string): string {
  if (!isSlug(slug)) throw relayErrors.invalidPath('the provider slug is malformed');
  return slug;
}

/** Parses a raw request target (`/relay/…?…`). Throws `route_not_found` or `invalid_relay_path`. */
export function parseRelayRoute(url: string): RelayRoute {
  const question = url.indexOf('?');
  const pathPart = question === -1 ? url : url.slice(0, question);
  const query = question === -1 ? undefined : url.slice(question + 1);
  const rest = pathPart.slice(RELAY_PREFIX.length);
  if (rest === 'tokens' || rest === 'tokens/') {
    if (query !== undefined && query !== '') throw relayErrors.routeNotFound();
    return { kind: 'mint' };
  }
  if (rest.startsWith('t/')) {
    const [token, afterToken] = splitSegment(rest.slice(2));
    if (token === '' || afterToken === '') throw relayErrors.routeNotFound();
    const [slug, path] = splitSegment(afterToken.slice(1));
    return { kind: 'token', token, slug: checkSlug(slug), path, query };
  }
  const [slug, path] = splitSegment(rest);
  if (slug === '') throw relayErrors.routeNotFound();
  return { kind: 'key', slug: checkSlug(slug), path, query };
}

/** 1 to 255 characters of printable ASCII without spaces (`^[\x21-\x7e]{1,255}$`): ids, never free text. */
export function isSelectionValue(value: string): boolean {
  if (value.length === 0 || value.length > 255) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

function selectionValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw relayErrors.invalidSelection(`Send the ${name} header once.`);
  const value = raw.trim();
  if (value === '') return undefined;
  if (!isSelectionValue(value)) throw relayErrors.invalidSelection(`The ${name} header is malformed.`);
  return value;
}

const SELECTION_ID_FIELDS = ['userId', 'organizationId', 'connectedAccountId'] as const;

/** Builds a selection, checking its shape. Which account it finds is the token service's business. */
export function checkSelection(input: {
  userId?: string | undefined;
  organizationId?: string | undefined;
  connectedAccountId?: string | undefined;
  connectionOwner?: string | undefined;
}): RelaySelection {
  const selection: RelaySelection = {};
  for (const field of SELECTION_ID_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isSelectionValue(value)) {
      throw relayErrors.invalidSelection(`The ${field} of the selection is malformed.`);
    }
    selection[field] = value;
  }
  if (input.connectionOwner !== undefined) {
    if (input.connectionOwner !== 'user' && input.connectionOwner !== 'organization') {
      throw relayErrors.invalidSelection('The connection owner must be "user" or "organization".');
    }
    selection.connectionOwner = input.connectionOwner;
  }
  // The token service's owner rule, checked before any lookup so that the error names the relay's fields.
  try {
    ownerFromRequest({
      userId: selection.userId,
      organizationId: selection.organizationId,
      connectionOwner: selection.connectionOwner,
    });
  } catch (error) {
    if (error instanceof PipesError) throw ownerRuleError(error.code);
    throw error;
  }
  return selection;
}

function ownerRuleError(code: string): PipesError {
  if (code === 'organization_id_required') {
    return relayErrors.invalidSelection(
      "An organization's connection needs Pipes-Organization-Id (organization_id when minting a relay token).",
    );
  }
  return relayErrors.invalidSelection(
    'Say whose connection to use: send Pipes-User-Id (user_id when minting a relay token), with ' +
      "Pipes-Organization-Id for the user's connection within an organization and Pipes-Connected-Account-Id to " +
      "pick one of several; for an organization's shared connection, send Pipes-Connection-Owner: organization " +
      'and Pipes-Organization-Id.',
  );
}

/** The selection headers of an API-key relay call. */
export function selectionFromHeaders(headers: IncomingHttpHeaders): RelaySelection {
  return checkSelection({
    userId: selectionValue(headers, 'pipes-user-id'),
    organizationId: selectionValue(headers, 'pipes-organization-id'),
    connectedAccountId: selectionValue(headers, 'pipes-connected-account-id'),
    connectionOwner: selectionValue(headers, 'pipes-connection-owner'),
  });
}
