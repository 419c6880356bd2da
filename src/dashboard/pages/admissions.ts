import { html, type SafeHtml } from '../html.js';
import type { AdmissionsView, Section } from '../model.js';
import { badge, breakAt, sectionOr, shortTime } from '../widgets.js';

function tables(a: AdmissionsView): SafeHtml {
  if (a.byRule.length === 0 && a.recent.length === 0) {
    return html`<div class="card empty" data-empty="admissions">No admission requests yet. Run a <a href="scenario">scenario</a> (its model-server pod and a debug shell go through the webhook), or send an AdmissionReview to <code class="mono">/webhook/mutate/confidential</code>.</div>`;
  }
  return html`<div class="card table-wrap"><table class="rules"><thead><tr><th>Rule</th><th>Allowed</th><th>Mutated</th><th>Denied</th></tr></thead>
<tbody>${a.byRule.map(
    (r) => html`<tr data-rule="${r.rule}"><td class="mono rule">${breakAt(r.rule)}</td><td>${badge(String(r.allowed), r.allowed ? 'ok' : 'off')}</td><td>${badge(String(r.mutated), r.mutated ? 'info' : 'off')}</td><td>${badge(String(r.denied), r.denied ? 'bad' : 'off')}</td></tr>`,
  )}</tbody></table></div>
<h2>Recent decisions</h2>
<div class="card table-wrap"><table class="decisions stack"><thead><tr><th class="hide-narrow">When</th><th>Pod</th><th>Rule</th><th>Decision</th><th>Reason</th></tr></thead>
<tbody>${a.recent.map(
    (d) => html`<tr data-pod="${d.namespace}/${d.name}" data-decision="${d.decision}"><td class="hide-narrow when" title="${d.at}">${shortTime(d.at)}</td><td class="mono">${d.namespace}/${d.name}</td><td class="mono rule">${d.rule.split(', ').map((r) => html`<div>${breakAt(r)}</div>`)}</td><td>${badge(d.decision, d.decision === 'denied' ? 'bad' : d.decision === 'mutated' ? 'info' : 'ok')}</td><td class="reason">${d.reason}</td></tr>`,
  )}</tbody></table></div>`;
}

export function admissionsBody(section: Section<AdmissionsView>): SafeHtml {
  return html`<p class="lead">Admission decisions of the webhook, counted by the rule that decided them, and the most recent ones (one per admission request).</p>
${sectionOr(section, 'Admission webhook', tables)}`;
}
