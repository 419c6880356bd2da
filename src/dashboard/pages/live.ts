import { html, type SafeHtml } from '../html.js';

/**
 * Wraps the data part of a page so htmx refreshes it in place every few
 * seconds (the server sends the whole page; htmx keeps only this element).
 * Without JavaScript the page is simply static.
 */
export function live(url: string, body: SafeHtml, everySeconds = 3): SafeHtml {
  return html`<div id="live" hx-get="${url}" hx-trigger="every ${everySeconds}s" hx-select="#live" hx-swap="outerHTML">${body}</div>`;
}
