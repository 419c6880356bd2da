import { html, type SafeHtml } from '../html.js';
import type { AttestationVerdict, AttestationView, Section } from '../model.js';
import { badge, sectionOr, shortHex, shortTime, tcbBadge, type Tone } from '../widgets.js';

const VERDICT_TONE: Record<AttestationVerdict, Tone> = { released: 'ok', verified: 'ok', refused: 'bad', rejected: 'bad' };

export function verdictBadge(verdict: AttestationVerdict): SafeHtml {
  return badge(verdict, VERDICT_TONE[verdict]);
}

function row(a: AttestationView): SafeHtml {
  return html`<tr data-verdict="${a.verdict}">
<td class="hide-narrow when" title="${a.at}">${shortTime(a.at)}</td>
<td>${a.subject}</td>
<td>${verdictBadge(a.verdict)}</td>
<td>${tcbBadge(a.tcbStatus)}</td>
<td>${a.advisoryIds.length === 0 ? html`<span class="muted">none</span>` : a.advisoryIds.map((id) => html`<span class="badge info">${id}</span> `)}</td>
<td class="mono nowrap hide-narrow" title="${a.mrEnclave ?? ''}">${shortHex(a.mrEnclave)}</td>
<td class="reason">${a.reason ?? ''}</td>
</tr>`;
}

export function attestationTable(list: AttestationView[]): SafeHtml {
  if (list.length === 0) return html`<div class="card">No attestations yet. Run the scenario or <code>kubetee demo model-protection</code>.</div>`;
  return html`<div class="card table-wrap"><table class="attestations stack">
<thead><tr><th class="hide-narrow">When</th><th>Who</th><th>Verdict</th><th>TCB status</th><th>Advisories</th><th class="hide-narrow">MRENCLAVE</th><th>Reason</th></tr></thead>
<tbody>${list.map(row)}</tbody></table></div>`;
}

export function attestationsBody(list: Section<AttestationView[]>): SafeHtml {
  return html`<p class="lead">Every attestation the key broker appraised, newest first: whether a key was released, the platform's TCB status and Intel security advisories.</p>
${sectionOr(list, 'Key broker', attestationTable)}`;
}
