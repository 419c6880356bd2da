/**
 * RFC 8785 JSON Canonicalization Scheme for the JSON values the KBS protocol
 * hashes (runtime-data). ECMAScript's `JSON.stringify` already produces the
 * JCS forms of strings and finite numbers (RFC 8785 §3.2.2 defers to
 * ECMA-262 for both); what JCS adds is member order (sorted by UTF-16 code
 * units, which is JavaScript's default string comparison) and no whitespace.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS cannot represent NaN or Infinity');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`JCS cannot represent a ${typeof value}`);
  }
}
