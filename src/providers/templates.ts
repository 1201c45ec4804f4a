/**
 * `{config.<field>}` templates in provider URLs.
 *
 * Catalog URLs such as `https://{config.subdomain}.zendesk.com/oauth/tokens` are completed with values a user
 * typed at connect time (or values copied from a token response). Those values steer where we send tokens, so
 * every value must fully match its field's strict pattern BEFORE it is substituted: a subdomain pattern like
 * `^[a-z0-9][a-z0-9-]{0,62}$` can never accept `evil.test#`, `a.evil.test/` or `x@evil.test`, which would
 * otherwise move the request to another host. Values are inserted verbatim (no encoding) only after they match.
 */
import { PipesError } from '../errors.ts';

/** What `resolveTemplate` needs to know about one connect-time field. */
export interface TemplateFieldSpec {
  readonly name: string;
  /** Anchored regular expression (`^…$`); it is additionally wrapped in `^(?:…)$` so it always matches whole. */
  readonly pattern: string;
  readonly required: boolean;
  readonly default?: string | undefined;
  readonly example?: string | undefined;
}

/** `{config.name}` where name is snake_case. */
const CONFIG_PLACEHOLDER = /^config\.([a-z][a-z0-9_]*)$/;
const ANY_PLACEHOLDER = /\{([^{}]*)\}/g;
/** Longest value we will try to match; bounds regex work on user input (hostnames are at most 253). */
const MAX_VALUE_LENGTH = 512;

/**
 * Describes why `template` is malformed, or returns undefined when it is well formed. Well formed means: braces
 * only appear as whole placeholders, and every placeholder is `{config.<snake_case>}` or one of `extraNames`
 * (e.g. `access_token` in an auth header format).
 */
export function findTemplateProblem(
  template: string,
  extraNames: readonly string[] = [],
): string | undefined {
  for (const match of template.matchAll(ANY_PLACEHOLDER)) {
    const inner = match[1] ?? '';
    if (!CONFIG_PLACEHOLDER.test(inner) && !extraNames.includes(inner)) {
      const allowed = ['{config.<field>}', ...extraNames.map((n) => `{${n}}`)].join(' or ');
      return `unknown placeholder "{${inner}}" (use ${allowed})`;
    }
  }
  const rest = template.replace(ANY_PLACEHOLDER, '');
  if (rest.includes('{') || rest.includes('}')) return 'unbalanced "{" or "}"';
  return undefined;
}

/** Config field names used by `template`, each once, in order of first use. */
export function listTemplateFields(template: string): string[] {
  const names: string[] = [];
  for (const match of template.matchAll(ANY_PLACEHOLDER)) {
    const name = CONFIG_PLACEHOLDER.exec(match[1] ?? '')?.[1];
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}

/** True when `value` matches the whole of `pattern`. Throws `catalog_invalid` when the pattern does not compile. */
export function matchesFieldPattern(pattern: string, value: string): boolean {
  return compileFieldPattern(pattern).test(value);
}

/** Compiles a field pattern so it can only ever match the entire value. */
export function compileFieldPattern(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch (cause) {
    throw new PipesError('catalog_invalid', 'A connect_config pattern is not a valid regular expression.', {
      status: 500,
      cause,
    });
  }
}

/**
 * Substitutes `{config.<field>}` placeholders in `template`.
 *
 * Each field's value comes from `values` or, when absent, from the field's `default`. Every value is checked
 * against the field's pattern before anything is substituted; a missing or non-matching value throws
 * `PipesError('invalid_config')` naming the field (never echoing the value). A placeholder for a field that
 * `fieldsSpec` does not declare, or a malformed template, is a catalog bug and throws `catalog_invalid`.
 */
export function resolveTemplate(
  template: string,
  values: Readonly<Record<string, unknown>>,
  fieldsSpec: readonly TemplateFieldSpec[],
): string {
  const problem = findTemplateProblem(template);
  if (problem !== undefined) {
    throw new PipesError('catalog_invalid', `Malformed URL template: ${problem}.`, { status: 500 });
  }
  const resolved = new Map<string, string>();
  for (const name of listTemplateFields(template)) {
    const spec = fieldsSpec.find((f) => f.name === name);
    if (spec === undefined) {
      throw new PipesError('catalog_invalid', `URL template uses undeclared config field "${name}".`, {
        status: 500,
      });
    }
    resolved.set(name, checkFieldValue(spec, Object.hasOwn(values, name) ? values[name] : undefined));
  }
  // A replacer function returns its result literally, so `$&`-style sequences in values are not interpreted.
  return template.replace(ANY_PLACEHOLDER, (_whole, inner: string) => {
    const name = CONFIG_PLACEHOLDER.exec(inner)?.[1] ?? '';
    return resolved.get(name) ?? '';
  });
}

function checkFieldValue(spec: TemplateFieldSpec, supplied: unknown): string {
  const value = supplied === undefined || supplied === '' ? spec.default : supplied;
  if (value === undefined || value === '') {
    throw invalidConfig(spec.name, 'required', `config.${spec.name} is required.`);
  }
  if (typeof value !== 'string') {
    throw invalidConfig(spec.name, 'invalid_type', `config.${spec.name} must be a string.`);
  }
  if (value.length > MAX_VALUE_LENGTH || !matchesFieldPattern(spec.pattern, value)) {
    const hint = spec.example === undefined ? '' : ` (for example "${spec.example}")`;
    throw invalidConfig(
      spec.name,
      'invalid_format',
      `config.${spec.name} does not have the expected format${hint}.`,
    );
  }
  return value;
}

function invalidConfig(name: string, code: string, message: string): PipesError {
  return new PipesError('invalid_config', message, { errors: [{ field: `config.${name}`, code, message }] });
}
