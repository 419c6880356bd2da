import { html, type SafeHtml } from '../html.js';
import type { AttestationView, AuditView, ComponentStatus, NodeView, Section } from '../model.js';
import { badge, breakAt, formatBytes, usageBar } from '../widgets.js';
import { attestationTable } from './attestations.js';
import { chainBadge } from './audit.js';

export interface OverviewData {
  components: ComponentStatus[];
  nodes: Section<NodeView[]>;
  attestations: Section<AttestationView[]>;
  audit: Section<AuditView>;
}

export function overviewBody(base: string, d: OverviewData): SafeHtml {
  const comps = d.components.map(
    (c) => html`<div class="card component" data-component="${c.name}"><strong>${c.name}</strong> ${c.available ? badge('running', 'ok') : badge('not available', 'off')}<div class="muted detail">${breakAt(c.detail)}</div></div>`,
  );
  const epc = d.nodes.available
    ? d.nodes.data.map((n) => html`<div><a href="${base}/nodes">${n.name}</a>${usageBar(n.allocatedBytes, n.capacityBytes, `EPC ${formatBytes(n.allocatedBytes)} of ${formatBytes(n.capacityBytes)}`)}</div>`)
    : html`<span class="muted">node agent not available</span>`;
  const recent = d.attestations.available ? attestationTable(d.attestations.data.slice(0, 5)) : html`<span class="muted">key broker not available</span>`;
  const audit = d.audit.available ? chainBadge(d.audit.data) : html`<span class="muted">not available</span>`;
  return html`<p class="lead">Everything below runs in this one process on loopback. Start with the <a href="${base}/scenario">scenarios</a>.</p>
<div class="grid">${comps}</div>
<h2>EPC</h2><div class="card">${epc}</div>
<h2>Audit chain</h2><div class="card">${audit} <a href="${base}/audit">open the trail</a></div>
<h2>Recent attestations</h2>${recent}`;
}
