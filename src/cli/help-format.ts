import type { Option } from 'commander';

/**
 * A default value the way a user would type it on the command line:
 * `0.0.0.0:8443` rather than `{"host":"0.0.0.0","port":8443}`, `none` for an
 * empty list, paths and names without JSON quotes. Undefined means "do not
 * show a default".
 */
export function formatDefault(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? '""' : /\s/.test(value) ? `"${value}"` : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : undefined;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((v) => formatDefault(v) ?? '').join(', ');
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 0) return 'none';
    if (typeof o['host'] === 'string' && typeof o['port'] === 'number' && Object.keys(o).length === 2) {
      const host = o['host'].includes(':') ? `[${o['host']}]` : o['host'];
      return `${host}:${o['port']}`;
    }
    return Object.entries(o)
      .map(([k, v]) => `${k}=${formatDefault(v) ?? ''}`)
      .join(',');
  }
  return String(value);
}

/** commander's option description with defaults and choices written as typed (replaces its JSON rendering). */
export function optionDescription(option: Option): string {
  const extra: string[] = [];
  if (option.argChoices) extra.push(`one of: ${option.argChoices.join(', ')}`);
  const takesValue = option.required || option.optional;
  if (option.defaultValue !== undefined && (takesValue || typeof option.defaultValue === 'boolean')) {
    const shown = option.defaultValueDescription ?? formatDefault(option.defaultValue);
    if (shown !== undefined) extra.push(`default: ${shown}`);
  }
  if (option.presetArg !== undefined && option.optional) extra.push(`if given without a value: ${formatDefault(option.presetArg) ?? ''}`);
  if (option.envVar !== undefined) extra.push(`env: ${option.envVar}`);
  if (extra.length === 0) return option.description;
  return option.description ? `${option.description} (${extra.join('; ')})` : `(${extra.join('; ')})`;
}
