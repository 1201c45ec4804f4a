import type { FieldError } from '../errors.ts';
import type { ProviderEntry } from './catalog-schema.ts';
import { compileFieldPattern } from './templates.ts';

/**
 * Checks provider config values (integration-level `config`, or connect-time `config` on authorize): only fields
 * the provider declares, none of the automated ones (filled from provider metadata after connecting), each
 * matching its field's strict pattern. These values end up in provider URLs, so a hostile value (`evil.test#`,
 * `a/../b`) is refused here, and never echoed back.
 */
export function checkConnectConfig(
  entry: ProviderEntry,
  config: Readonly<Record<string, string>>,
  errors: FieldError[],
  prefix = 'config',
): void {
  for (const [name, value] of Object.entries(config)) {
    const field = entry.connect_config.find((f) => f.name === name);
    const at = `${prefix}.${name}`;
    if (field === undefined) {
      const known = entry.connect_config.filter((f) => !f.automated).map((f) => f.name);
      errors.push({
        field: at,
        code: 'unknown_field',
        message: `${entry.name} has no config field "${name}"${known.length > 0 ? ` (fields: ${known.join(', ')})` : ''}.`,
      });
    } else if (field.automated) {
      errors.push({
        field: at,
        code: 'not_allowed',
        message: `${name} is filled in by Pipes after connecting.`,
      });
    } else if (value.length > 0 && !compileFieldPattern(field.pattern).test(value)) {
      errors.push({
        field: at,
        code: 'invalid_format',
        message: `${name} does not have the expected format (for example "${field.example}").`,
      });
    }
  }
}
