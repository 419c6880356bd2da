import { html, type SafeHtml } from '../html.js';
import type { Section, VerifyResultView } from '../model.js';
import { badge, sectionOr, tcbBadge } from '../widgets.js';
import type { CheckState } from '../model.js';

const CHECK_BADGE: Record<CheckState, SafeHtml> = {
  passed: badge('pass', 'ok'),
  failed: badge('FAIL', 'bad'),
  'not-reached': badge('not reached', 'off'),
};

export function verifyForm(action: string, trustAnchors: string[]): SafeHtml {
  return html`<form class="upload card" method="post" action="${action}" enctype="multipart/form-data" hx-post="${action}" hx-encoding="multipart/form-data" hx-target="#verify-result" hx-select="#verify-result" hx-swap="outerHTML">
<label>Quote (binary, or hex text)<input type="file" name="quote" required></label>
<label>Collateral (QuoteCollateralV3 JSON)<input type="file" name="collateral" required></label>
<label>Verification time (ISO-8601, empty = now)<input type="text" name="at" placeholder="2025-08-30T00:00:00Z" autocomplete="off"></label>
<label>Trust anchor<select name="trustAnchor">${trustAnchors.map((t) => html`<option value="${t}">${t}</option>`)}</select></label>
<div><button type="submit">Verify</button> <span class="spinner muted">verifying…</span></div>
</form>`;
}

export function verifyResult(result: Section<VerifyResultView> | undefined): SafeHtml {
  if (!result) return html`<div id="verify-result"></div>`;
  return html`<div id="verify-result">${sectionOr(result, 'Quote verifier', (r) => html`<section class="card result" data-ok="${r.ok ? 'true' : 'false'}">
<p class="verdict-big">${r.ok ? badge('quote verified', 'ok') : badge('quote rejected', 'bad')} ${r.status ? tcbBadge(r.status) : ''}</p>
${r.errorCode ? html`<p><strong class="mono error-code">${r.errorCode}</strong>: ${r.errorMessage ?? ''}</p>` : ''}
<div class="table-wrap"><table>
<tr><th>Verified at</th><td>${r.at}</td></tr>
<tr><th>Trust anchor</th><td>${r.trustAnchor}</td></tr>
${r.tee ? html`<tr><th>TEE</th><td>${r.tee}</td></tr>` : ''}
${r.fmspc ? html`<tr><th>FMSPC</th><td class="mono">${r.fmspc}</td></tr>` : ''}
${r.mrEnclave ? html`<tr><th>MRENCLAVE</th><td class="mono">${r.mrEnclave}</td></tr>` : ''}
${r.mrSigner ? html`<tr><th>MRSIGNER</th><td class="mono">${r.mrSigner}</td></tr>` : ''}
${r.debug === undefined ? '' : html`<tr><th>Debug enclave</th><td>${r.debug ? badge('DEBUG', 'bad') : badge('production', 'ok')}</td></tr>`}
${r.advisoryIds.length ? html`<tr><th>Advisories</th><td>${r.advisoryIds.map((id) => html`<span class="badge info">${id}</span> `)}</td></tr>` : ''}
${r.collateralExpiresAt ? html`<tr><th>Collateral valid until</th><td>${r.collateralExpiresAt}</td></tr>` : ''}
</table></div>
<h2>Checks</h2>
<ul class="checks">${r.checks.map(
  (c) => html`<li data-check="${c.name}" data-state="${c.state}">${CHECK_BADGE[c.state]} ${c.name}${c.detail ? html` <span class="muted">${c.detail}</span>` : ''}</li>`,
)}</ul>
</section>`)}</div>`;
}

export function verifyBody(action: string, trustAnchors: string[], result?: Section<VerifyResultView>, samples: { label: string; href: string }[] = []): SafeHtml {
  return html`<p class="lead">Upload an SGX or TDX DCAP quote with its collateral (TCB Info, QE Identity, CRLs, issuer chains) to see every verification step. Nothing is stored.</p>
${samples.length ? html`<p class="muted">No quote at hand? ${samples.map((s, i) => html`${i ? ' · ' : ''}<a href="${s.href}" download>${s.label}</a>`)}</p>` : ''}
${verifyForm(action, trustAnchors)}
${verifyResult(result)}`;
}
