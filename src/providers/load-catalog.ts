/**
 * Loads and validates the provider catalog (`providers/*.json`) once, at start-up.
 *
 * Any problem is fatal and is reported all at once, each line naming the file and the field path
 * (`providers/github.json: oauth.token_url: Invalid URL`), so a broken entry can never half-load.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import type { z } from 'zod';
import { PipesError } from '../errors.ts';
import { type ProviderEntry, providerEntrySchema } from './catalog-schema.ts';

/** The validated, read-only set of providers. */
export class Catalog {
  readonly #bySlug: ReadonlyMap<string, ProviderEntry>;
  readonly #sorted: readonly ProviderEntry[];

  constructor(entries: readonly ProviderEntry[]) {
    const bySlug = new Map<string, ProviderEntry>();
    for (const entry of entries) {
      if (bySlug.has(entry.slug)) {
        throw new PipesError('catalog_invalid', `Duplicate provider slug "${entry.slug}".`, { status: 500 });
      }
      bySlug.set(entry.slug, deepFreeze(entry));
    }
    this.#bySlug = bySlug;
    this.#sorted = [...bySlug.values()].sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  }

  get(slug: string): ProviderEntry | undefined {
    return this.#bySlug.get(slug);
  }

  has(slug: string): boolean {
    return this.#bySlug.has(slug);
  }

  /** All providers, sorted by slug. */
  list(): ProviderEntry[] {
    return [...this.#sorted];
  }
}

/**
 * Reads every `*.json` file under `dir` (recursively), validates each against the schema, and checks that each
 * file is named `<slug>.json` and that no slug appears twice. Throws `PipesError('catalog_invalid')` listing
 * every problem found.
 */
export function loadCatalog(dir: string): Catalog {
  const files = listJsonFiles(dir);
  const label = (file: string) => `${basename(dir)}/${file.split(sep).join('/')}`;
  const problems: string[] = [];
  const entries: ProviderEntry[] = [];
  const firstFileBySlug = new Map<string, string>();

  for (const file of files) {
    const where = label(file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (cause) {
      problems.push(
        `${where}: (file): not valid JSON (${cause instanceof Error ? cause.message : 'parse error'})`,
      );
      continue;
    }
    const parsed = providerEntrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const line of describeIssues(parsed.error.issues)) problems.push(`${where}: ${line}`);
      continue;
    }
    const entry = parsed.data;
    const expected = basename(file, '.json');
    if (entry.slug !== expected) {
      problems.push(`${where}: slug: "${entry.slug}" does not match the file name (expected "${expected}")`);
      continue;
    }
    const earlier = firstFileBySlug.get(entry.slug);
    if (earlier !== undefined) {
      problems.push(`${where}: slug: duplicate slug "${entry.slug}" (also in ${earlier})`);
      continue;
    }
    firstFileBySlug.set(entry.slug, where);
    entries.push(entry);
  }

  if (problems.length > 0) {
    const message = `Provider catalog is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.join('\n')}`;
    throw new PipesError('catalog_invalid', message, {
      status: 500,
      errors: problems.map((p) => ({ field: p.split(': ')[0] ?? '', code: 'catalog_invalid', message: p })),
    });
  }
  return new Catalog(entries);
}

function listJsonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (cause) {
    throw new PipesError('catalog_invalid', `Provider catalog directory "${dir}" cannot be read.`, {
      status: 500,
      cause,
    });
  }
  return names.filter((name) => name.endsWith('.json') && statSync(join(dir, name)).isFile()).sort();
}

/** Turns zod issues into `field.path: message` lines; unknown keys are reported at their own path. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown field`);
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
