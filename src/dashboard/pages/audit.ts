import { html, type SafeHtml } from '../html.js';
import type { AuditView, Section } from '../model.js';
import { badge, sectionOr, shortHex, shortTime } from '../widgets.js';

export function chainBadge(audit: AuditView): SafeHtml {
  return audit.chainOk
    ? html`<span class="badge ok" data-chain="ok">chain OK (${audit.checkedEntries} entries)</span>`
    : html`<span class="badge bad" data-chain="broken">chain BROKEN</span>`;
}

function outcomeTone(outcome: string): 'ok' | 'bad' | 'info' {
  if (/denied|refused|fail|reject|error/i.test(outcome)) return 'bad';
  if (/ok|allow|released|success|created/i.test(outcome)) return 'ok';
  return 'info';
}

export function auditBody(section: Section<AuditView>): SafeHtml {
  return html`<p class="lead">The key broker's tamper-evident audit trail: each entry carries the hash of the previous one, and the whole chain is re-verified for this page.</p>
${sectionOr(section, 'Key broker audit trail', (audit) => html`<div class="card"><span class="verdict-big">${chainBadge(audit)}</span> ${audit.problem ? html`<p class="mono">${audit.problem}</p>` : ''}</div>
<div class="card table-wrap"><table class="audit stack"><thead><tr><th>#</th><th class="hide-narrow">When</th><th>Actor</th><th>Action</th><th>Subject</th><th>Outcome</th><th class="hide-narrow">Hash</th></tr></thead>
<tbody>${audit.entries.map(
  (e) => html`<tr><td>${e.seq}</td><td class="hide-narrow when" title="${e.at}">${shortTime(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td class="mono">${e.subject}</td><td class="reason">${badge(e.outcome, outcomeTone(e.outcome))} ${e.reason}</td><td class="mono hide-narrow" title="${e.hash}">${shortHex(e.hash, 12)}</td></tr>`,
)}</tbody></table></div>`)}`;
}
