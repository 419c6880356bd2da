import { html, type SafeHtml } from '../html.js';
import type { ScenarioRunView, ScenarioStepOutcome } from '../model.js';
import { badge, type Tone } from '../widgets.js';

const OUTCOME: Record<ScenarioStepOutcome, [string, Tone]> = {
  ok: ['ok', 'ok'],
  'refused-as-expected': ['refused, as expected', 'warn'],
  failed: ['FAILED', 'bad'],
};

export function scenarioRun(run: ScenarioRunView | undefined): SafeHtml {
  if (!run) return html`<div id="scenario-result" class="card muted">Not run yet.</div>`;
  return html`<div id="scenario-result" class="card" data-passed="${run.passed ? 'true' : 'false'}">
<p class="verdict-big">${run.passed ? badge('scenario passed', 'ok') : badge('scenario failed', 'bad')} <span class="muted">${run.startedAt}</span></p>
<ol class="steps">${run.steps.map((s, i) => {
    const [label, tone] = OUTCOME[s.outcome];
    return html`<li data-outcome="${s.outcome}"><span class="n">${i + 1}</span><div><strong>${s.title}</strong> ${badge(label, tone)}<div class="muted">${s.detail}</div></div></li>`;
  })}</ol>
</div>`;
}

export function scenarioBody(base: string, name: string, description: SafeHtml, run: ScenarioRunView | undefined, canRun: boolean, why?: string): SafeHtml {
  const action = `${base}/scenario/${name}/run`;
  return html`<div class="card">${description}
<form method="post" action="${action}" hx-post="${action}" hx-target="#scenario-result" hx-select="#scenario-result" hx-swap="outerHTML" hx-disabled-elt="find button">
<button type="submit" id="run-scenario" ${canRun ? '' : html`disabled`}>Run the protected-model scenario</button> <span class="spinner muted">running…</span>
${canRun ? '' : html`<p class="muted">${why ?? ''}</p>`}
</form></div>
${scenarioRun(run)}`;
}

export const MODEL_PROTECTION_DESCRIPTION: SafeHtml = html`<p>A model owner seals a model file and stores its key in the key broker with a policy: release only to one MRENCLAVE, and only on platforms whose TCB is <em>UpToDate</em> or <em>SWHardeningNeeded</em>.</p>
<p>Then: the right enclave attests and unseals the model; a debug build and a build with another MRENCLAVE are refused; a simulated TCB recovery makes the platform <em>OutOfDate</em> and the next release is refused until the platform is updated.</p>
<p class="muted">Same as <code>kubetee demo model-protection</code>. Every step lands in Attestations and the Audit trail.</p>`;
