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
