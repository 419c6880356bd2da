import {
  available,
  unavailable,
  type AdmissionsView,
  type AttestationView,
  type AuditView,
  type ComponentStatus,
  type DashboardSource,
  type NodeView,
  type ScenarioRunView,
  type SecretView,
  type Section,
  type VerifyResultView,
} from '../dashboard/model.js';
import { describeError } from '../common/errors.js';
import type { ActivityLog } from './activity-log.js';
import type { StepReporter } from '../demo/model-protection.js';
import type { AdmissionPart, BrokerPart, NodePart, Part, ScenarioPart, VerifierPart } from './parts.js';

export interface LocalParts {
  node: Part<NodePart>;
  broker: Part<BrokerPart>;
  admission: Part<AdmissionPart>;
  verifier: Part<VerifierPart>;
  scenario: Part<ScenarioPart>;
  extra: ComponentStatus[];
  /** Sample downloads offered on the verify page. */
  samples: { label: string; href: string }[];
}

/**
 * The dashboard's view of the local stack. A component that is missing, or
 * that throws while answering, shows as "not available" with the reason; the
 * dashboard itself never fails because one part did.
 */
export class LocalDashboardSource implements DashboardSource {
  readonly #parts: LocalParts;
  readonly #activity: ActivityLog;
  readonly #lastRuns = new Map<string, ScenarioRunView>();
  #running: Promise<ScenarioRunView> | undefined;

  constructor(parts: LocalParts, activity: ActivityLog) {
    this.#parts = parts;
    this.#activity = activity;
  }

  components(): ComponentStatus[] {
    const p = this.#parts;
    return [p.broker.status, p.verifier.status, p.admission.status, p.node.status, ...p.extra, p.scenario.status];
  }

  nodes(): Promise<Section<NodeView[]>> {
    return ask(this.#parts.node, (api) => api.nodes());
  }

  /** Release decisions from the key broker's audit trail merged with quotes checked on the verify page. */
  async attestations(): Promise<Section<AttestationView[]>> {
    const fromBroker = await ask(this.#parts.broker, (api) => api.attestations());
    const merged = [...(fromBroker.available ? fromBroker.data : []), ...this.#activity.recent()];
    merged.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return available(merged.slice(0, 200));
  }

  secrets(): Promise<Section<SecretView[]>> {
    return ask(this.#parts.broker, (api) => api.secrets());
  }

  audit(): Promise<Section<AuditView>> {
    return ask(this.#parts.broker, (api) => api.audit());
  }

  admissions(): Promise<Section<AdmissionsView>> {
    return ask(this.#parts.admission, (api) => api.admissions());
  }

  trustAnchors(): string[] {
    return this.#parts.verifier.api?.trustAnchors ?? [];
  }

  verifySamples(): { label: string; href: string }[] {
    return this.#parts.samples;
  }

  async verifyQuote(input: { quote: Uint8Array; collateral: unknown; at: Date; trustAnchor: string }): Promise<Section<VerifyResultView>> {
    const section = await ask(this.#parts.verifier, (api) => api.verify(input));
    if (section.available) {
      const r = section.data;
      this.#activity.record({
        at: new Date().toISOString(),
        subject: 'quote uploaded on the verify page',
        verdict: r.ok ? 'verified' : 'rejected',
        ...(r.tee ? { tee: r.tee } : {}),
        ...(r.status ? { tcbStatus: r.status } : {}),
        advisoryIds: r.advisoryIds,
        ...(r.mrEnclave ? { mrEnclave: r.mrEnclave } : {}),
        ...(r.errorCode ? { reason: r.errorCode } : {}),
      });
    }
    return section;
  }

  scenarios(): string[] {
    return this.#parts.scenario.api?.names ?? [];
  }

  lastScenarioRun(name: string): ScenarioRunView | undefined {
    return this.#lastRuns.get(name);
  }

  /** A run that happened outside the dashboard (`kubetee demo --url` against this stack). */
  recordScenarioRun(run: ScenarioRunView): void {
    this.#lastRuns.set(run.name, run);
  }

  /** One run at a time: a second click waits for the run in progress instead of interleaving steps. */
  async runScenario(name: string, report?: StepReporter): Promise<ScenarioRunView> {
    const api = this.#parts.scenario.api;
    if (!api) throw new Error('no scenario runner is available');
    while (this.#running) await this.#running.catch(() => undefined);
    this.#running = api.run(name, report);
    try {
      const run = await this.#running;
      this.#lastRuns.set(name, run);
      return run;
    } finally {
      this.#running = undefined;
    }
  }
}

async function ask<A, T>(part: Part<A>, read: (api: A) => Promise<T>): Promise<Section<T>> {
  if (!part.api) return unavailable(part.status.detail);
  try {
    return available(await read(part.api));
  } catch (err) {
    return unavailable(`${part.status.name} did not answer: ${describeError(err)}`);
  }
}
