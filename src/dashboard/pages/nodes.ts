import { html, type SafeHtml } from '../html.js';
import type { NodeView, Section } from '../model.js';
import { badge, breakAt, formatBytes, resourceQuantity, sectionOr, usageBar, yesNo } from '../widgets.js';

function nodeCard(node: NodeView): SafeHtml {
  const sections = node.sections.map(
    (s) => html`<div class="numa"><span class="muted">NUMA node ${s.numaNode}</span>${usageBar(
      s.allocatedBytes,
      s.capacityBytes,
      `${formatBytes(s.allocatedBytes)} of ${formatBytes(s.capacityBytes)} allocated`,
    )}</div>`,
  );
  const labels = Object.entries(node.labels).map(([k, v]) => html`<tr><td class="mono">${breakAt(k)}</td><td class="mono">${v}</td></tr>`);
  return html`<section class="card node" data-node="${node.name}">
<h2>${node.name} ${node.sgx1 ? badge('SGX', 'ok') : badge('no SGX', 'bad')}</h2>
<p class="muted">Built from CPU shape: ${node.source}</p>
<div class="features">SGX1 ${yesNo(node.sgx1)} SGX2 ${yesNo(node.sgx2)} FLC ${yesNo(node.flc)} driver ${badge(node.driver, node.driver === 'none' ? 'off' : 'info')} AESM ${yesNo(node.aesm, 'answers', 'absent')}</div>
<div><strong>EPC</strong> <span class="epc-total">${formatBytes(node.allocatedBytes)} of ${formatBytes(node.capacityBytes)} allocated</span> <span class="muted mono resource">(${breakAt(node.resourceName)}: ${resourceQuantity(node.resourceName, node.capacityBytes)})</span></div>
${sections}
<details><summary>Node labels</summary><div class="table-wrap"><table>${labels}</table></div></details>
</section>`;
}

export function nodesBody(nodes: Section<NodeView[]>): SafeHtml {
  return html`<p class="lead">SGX features detected by the node agent and the Enclave Page Cache it advertises to the kubelet, per NUMA section, with what pods have allocated.</p>
${sectionOr(nodes, 'Node agent', (list) =>
  list.length === 0 ? html`<div class="card">No nodes have registered yet.</div>` : html`${list.map(nodeCard)}`,
)}`;
}
