import { html, type SafeHtml } from '../html.js';
import type { AdmissionsView, Section } from '../model.js';
import { badge, sectionOr, shortTime } from '../widgets.js';

export function admissionsBody(section: Section<AdmissionsView>): SafeHtml {
  return html`<p class="lead">Admission decisions of the webhook, counted by the rule that decided them, and the most recent ones.</p>
${sectionOr(section, 'Admission webhook', (a) => html`<div class="card table-wrap"><table class="rules"><thead><tr><th>Rule</th><th>Allowed</th><th>Mutated</th><th>Denied</th></tr></thead>
<tbody>${a.byRule.length === 0 ? html`<tr><td colspan="4" class="muted">No admission requests yet.</td></tr>` : a.byRule.map(
  (r) => html`<tr data-rule="${r.rule}"><td class="mono">${r.rule}</td><td>${badge(String(r.allowed), r.allowed ? 'ok' : 'off')}</td><td>${badge(String(r.mutated), r.mutated ? 'info' : 'off')}</td><td>${badge(String(r.denied), r.denied ? 'bad' : 'off')}</td></tr>`,
)}</tbody></table></div>
<h2>Recent decisions</h2>
<div class="card table-wrap"><table class="decisions stack"><thead><tr><th class="hide-narrow">When</th><th>Pod</th><th>Rule</th><th>Decision</th><th>Reason</th></tr></thead>
<tbody>${a.recent.map(
  (d) => html`<tr><td class="hide-narrow when" title="${d.at}">${shortTime(d.at)}</td><td class="mono">${d.namespace}/${d.name}</td><td class="mono">${d.rule.split(', ').map((r) => html`<div>${r}</div>`)}</td><td>${badge(d.decision, d.decision === 'denied' ? 'bad' : d.decision === 'mutated' ? 'info' : 'ok')}</td><td class="reason">${d.reason}</td></tr>`,
)}</tbody></table></div>`)}`;
}
