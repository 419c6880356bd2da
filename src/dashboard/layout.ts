import { html, type SafeHtml } from './html.js';
import { VERSION } from '../common/version.js';

export interface NavItem {
  path: string;
  label: string;
}

export const NAV: NavItem[] = [
  { path: '/', label: 'Overview' },
  { path: '/nodes', label: 'Nodes' },
  { path: '/attestations', label: 'Attestations' },
  { path: '/secrets', label: 'Secrets' },
  { path: '/audit', label: 'Audit' },
  { path: '/admissions', label: 'Admission' },
  { path: '/verify', label: 'Verify a quote' },
  { path: '/scenario', label: 'Scenarios' },
];

/**
 * htmx swaps only 2xx answers by default, so a 400 with a perfectly good error
 * fragment (a collateral that is not JSON, a time like "yesterday") left the
 * verify page silent. The dashboard answers every error as a page or fragment,
 * so 4xx and 5xx are swapped like successes (still marked as errors for htmx).
 */
export const HTMX_CONFIG = JSON.stringify({
  responseHandling: [
    { code: '204', swap: false },
    { code: '[23]..', swap: true },
    { code: '[45]..', swap: true, error: true },
    { code: '...', swap: false },
  ],
});

export interface PageOptions {
  title: string;
  path: string;
  body: SafeHtml;
  /** Base path the dashboard is mounted on ('' or '/ui'). */
  base: string;
}

/**
 * The page shell. The yellow strip is deliberate and on every page: this stack
 * trusts a simulated attestation root, which must never be mistaken for a
 * production deployment.
 */
export function page(options: PageOptions): SafeHtml {
  const { base } = options;
  const nav = NAV.map(
    (item) =>
      html`<a href="${base + item.path}"${item.path === options.path ? html` aria-current="page"` : ''}>${item.label}</a>`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · kubetee</title>
<link rel="icon" href="data:,">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<link rel="stylesheet" href="${base}/assets/style.css">
<script src="${base}/assets/htmx.min.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="${base}/">kubetee</a><nav>${nav}</nav></header>
<div class="devnote" role="note"><strong>Local development stack.</strong> The key broker trusts a <em>simulated</em> SGX attestation root, so nothing here proves real hardware. Never use this setup for real secrets.</div>
<main>
<h1>${options.title}</h1>
${options.body}
</main>
<footer>kubetee ${VERSION} · all services on loopback</footer>
</body>
</html>`;
}
