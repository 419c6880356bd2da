import { html, type SafeHtml } from './html.js';
import type { Section } from './model.js';

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'off';

export function badge(text: string, tone: Tone): SafeHtml {
  return html`<span class="badge ${tone}">${text}</span>`;
}

/**
 * Colour of a TCB status. UpToDate is green; the "needs hardening or
 * configuration" family is amber because policies commonly accept it; anything
 * out of date or revoked is red.
 */
export function tcbTone(status: string | undefined): Tone {
  if (!status) return 'off';
  if (status === 'UpToDate') return 'ok';
  if (/Revoked|OutOfDate/.test(status)) return 'bad';
  if (/Needed/.test(status)) return 'warn';
  return 'info';
}

export function tcbBadge(status: string | undefined): SafeHtml {
  return badge(status ?? 'no status', tcbTone(status));
}

export function yesNo(value: boolean, yes = 'yes', no = 'no'): SafeHtml {
  return badge(value ? yes : no, value ? 'ok' : 'off');
}

/** Whole GiB as GiB; everything else in MiB, which is what EPC devices and labels count in. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 1048576;
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (Number.isInteger(mib)) return `${mib} MiB`;
  return `${mib.toFixed(1)} MiB`;
}

/** A horizontal usage bar; turns red above 90 %. */
export function usageBar(used: number, total: number, label: string): SafeHtml {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const width = `width:${pct.toFixed(1)}%`;
  return html`<div class="bar${pct > 90 ? ' high' : ''}" role="meter" aria-valuemin="0" aria-valuemax="${total}" aria-valuenow="${used}" aria-label="${label}"><span style="${width}"></span><em>${label}</em></div>`;
}

/** Renders a section, or a muted card saying why its component is not available. */
export function sectionOr<T>(section: Section<T>, what: string, body: (data: T) => SafeHtml): SafeHtml {
  if (section.available) return body(section.data);
  return html`<div class="card unavailable" data-unavailable="${what}"><strong>${what}: not available.</strong> <span class="muted">${section.reason}</span></div>`;
}

export function shortHex(hex: string | undefined, chars = 16): string {
  if (!hex) return '';
  return hex.length > chars ? `${hex.slice(0, chars)}…` : hex;
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05`: tables show seconds, the title keeps the full instant. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

/**
 * An identifier (rule id, resource name, path) that may wrap only after its
 * separators (`confidential.` / `translate-` / `/`), never mid-word.
 */
export function breakAt(id: string): SafeHtml {
  const parts = id.split(/(?<=[./_-])/);
  return html`${parts.map((p, i) => (i === 0 ? html`${p}` : html`<wbr>${p}`))}`;
}

/**
 * An extended resource's quantity in its own unit: `*_MiB` resources count
 * one device per MiB (the alibaba profile), anything else counts bytes.
 */
export function resourceQuantity(resourceName: string, bytes: number): string {
  if (/_MiB$/.test(resourceName)) return `${Math.floor(bytes / 1048576)} (MiB, one device each)`;
  return `${bytes} bytes`;
}
