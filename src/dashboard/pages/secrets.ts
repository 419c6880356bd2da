import { html, type SafeHtml } from '../html.js';
import type { SecretView, Section } from '../model.js';
import { badge, sectionOr } from '../widgets.js';

function stateBadge(state: string): SafeHtml {
  const tone = state === 'active' ? 'ok' : state === 'revoked' || state === 'destroyed' ? 'bad' : 'off';
  return badge(state, tone);
}

function secretCard(s: SecretView): SafeHtml {
  const versions = s.versions.map(
    (v) => html`<tr><td>v${v.version}</td><td>${stateBadge(v.state)}</td><td>${v.createdAt}</td><td>${v.expiresAt ?? html`<span class="muted">never</span>`}</td></tr>`,
  );
  return html`<section class="card secret" data-secret="${s.path}">
<h2 class="mono">${s.path}</h2>
<div class="table-wrap"><table><thead><tr><th>Version</th><th>State</th><th>Created</th><th>Expires</th></tr></thead><tbody>${versions}</tbody></table></div>
<p><strong>Release policy:</strong> ${s.policyName ? html`<span class="mono">${s.policyName}</span>` : html`<span class="muted">none (nothing is released)</span>`}</p>
${s.policyText ? html`<pre class="mono card">${s.policyText}</pre>` : ''}
</section>`;
}

export function secretsBody(list: Section<SecretView[]>): SafeHtml {
  return html`<p class="lead">Secrets held by the key broker with their key versions and the policy that gates release. Values are never shown.</p>
${sectionOr(list, 'Key broker', (secrets) =>
  secrets.length === 0 ? html`<div class="card">No secrets yet. The scenario creates one.</div>` : html`${secrets.map(secretCard)}`,
)}`;
}
