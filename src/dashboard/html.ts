/**
 * The one HTML template helper of the dashboard. Every interpolated value is
 * escaped unless it is already `SafeHtml` (produced by `html` itself), so
 * markup can only come from template literals in our own source code. There is
 * deliberately no "raw string" escape hatch: data from components, uploads and
 * the audit trail always reaches the page as text.
 */
export class SafeHtml {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for use in element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** What may be interpolated: text, numbers, safe fragments, lists of them; null/undefined/false render nothing. */
export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<td>${name}</td>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Joins fragments (already safe or text to escape) without a separator. */
export function join(values: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  return new SafeHtml(values.map((v) => render(v)).join(render(separator)));
}
