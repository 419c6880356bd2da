import { html, type SafeHtml } from '../html.js';
import type { ScenarioRunView, ScenarioStepOutcome } from '../model.js';
import { badge, type Tone } from '../widgets.js';

const OUTCOME: Record<ScenarioStepOutcome, [string, Tone]> = {
  ok: ['ok', 'ok'],
  'refused-as-expected': ['refused, as expected', 'warn'],
  failed: ['FAILED', 'bad'],
};

export interface ScenarioInfo {
  name: string;
  title: string;
  button: string;
  description: SafeHtml;
}

export const SCENARIOS: ScenarioInfo[] = [
  {
    name: 'model-protection',
    title: 'Protected model',
    button: 'Run the protected-model scenario',
    description: html`<p>A model owner seals a model file and stores its key in the key broker with a policy: release only to one MRENCLAVE, and only on platforms whose TCB is <em>UpToDate</em> or <em>SWHardeningNeeded</em>.</p>
<p>Then: the webhook admits the model-server pod and the node allocates its EPC; the right enclave attests and unseals the model; a debug build and a build with another MRENCLAVE are refused; a simulated TCB recovery makes the platform <em>OutOfDate</em> and the next release is refused until the platform is updated.</p>
<p class="muted">Same as <code>kubetee demo model-protection</code>. Every step lands in Attestations and the Audit trail.</p>`,
  },
  {
    name: 'data-sharing',
    title: 'Multi-party data sharing',
    button: 'Run the data-sharing scenario',
    description: html`<p>Two owners each seal a dataset and release its key only to the analytics enclave they both reviewed. That enclave joins the two datasets; another enclave and a debug build are refused; when one owner withdraws its key, only that owner's data stops flowing.</p>
<p class="muted">Same as <code>kubetee demo data-sharing</code>.</p>`,
  },
];

export function scenarioRun(name: string, run: ScenarioRunView | undefined): SafeHtml {
  const id = `scenario-result-${name}`;
  if (!run) return html`<div id="${id}" class="card muted">Not run yet.</div>`;
  return html`<div id="${id}" class="card" data-passed="${run.passed ? 'true' : 'false'}">
<p class="verdict-big">${run.passed ? badge('scenario passed', 'ok') : badge('scenario failed', 'bad')} <span class="muted">${run.startedAt}</span></p>
<ol class="steps">${run.steps.map((s, i) => {
    const [label, tone] = OUTCOME[s.outcome];
    return html`<li data-outcome="${s.outcome}"><span class="n">${i + 1}</span><div><strong>${s.title}</strong> ${badge(label, tone)}<div class="muted">${s.detail}</div></div></li>`;
  })}</ol>
</div>`;
}

function scenarioSection(base: string, info: ScenarioInfo, run: ScenarioRunView | undefined, canRun: boolean, why: string): SafeHtml {
  const action = `${base}/scenario/${info.name}/run`;
  const target = `#scenario-result-${info.name}`;
  return html`<section class="scenario" data-scenario="${info.name}"><h2>${info.title}</h2><div class="card">${info.description}
<form method="post" action="${action}" hx-post="${action}" hx-target="${target}" hx-select="${target}" hx-swap="outerHTML" hx-disabled-elt="find button">
<button type="submit" id="run-${info.name}" ${canRun ? '' : html`disabled`}>${info.button}</button> <span class="spinner muted">running…</span>
${canRun ? '' : html`<p class="muted">${why}</p>`}
</form></div>
${scenarioRun(info.name, run)}</section>`;
}

export function scenarioBody(base: string, available: string[], lastRun: (name: string) => ScenarioRunView | undefined): SafeHtml {
  return html`${SCENARIOS.map((info) => scenarioSection(base, info, lastRun(info.name), available.includes(info.name), 'The key broker or the simulated platform is not available in this build.'))}`;
}
