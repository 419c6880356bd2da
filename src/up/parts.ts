import type {
  AdmissionsView,
  AttestationView,
  AuditView,
  ComponentStatus,
  NodeView,
  ScenarioRunView,
  SecretView,
  VerifyResultView,
} from '../dashboard/model.js';
import type { ControlPlaneComponent } from './control-plane.js';
import type { StepReporter } from '../demo/model-protection.js';

/**
 * What the local stack needs from each component, in the dashboard's terms.
 * One adapter per component (src/up/adapters/) maps the component's own API
 * onto these; a missing component is a part with `available: false`.
 */
export interface NodePart {
  nodes(): Promise<NodeView[]>;
}

export interface BrokerPart {
  secrets(): Promise<SecretView[]>;
  audit(): Promise<AuditView>;
  /** Release decisions with their attestation claims, newest first. */
  attestations(): Promise<AttestationView[]>;
}

export interface AdmissionPart {
  admissions(): Promise<AdmissionsView>;
}

export interface VerifierPart {
  trustAnchors: string[];
  verify(input: { quote: Uint8Array; collateral: unknown; at: Date; trustAnchor: string }): Promise<VerifyResultView>;
}

export interface ScenarioPart {
  names: string[];
  run(name: string, report?: StepReporter): Promise<ScenarioRunView>;
}

/** A loaded part: its status line, optional server component, and what it offers. */
export interface Part<T> {
  status: ComponentStatus;
  component?: ControlPlaneComponent;
  api?: T;
}
