/**
 * View models of the dashboard: plain data the pages render. The local stack
 * (src/up/) fills them from the components; the pages never call a component
 * directly, so every page can be rendered and tested from literal data.
 */

/** A section either has data or says why the component behind it is missing. */
export type Section<T> = { available: true; data: T } | { available: false; reason: string };

export function available<T>(data: T): Section<T> {
  return { available: true, data };
}

export function unavailable<T>(reason: string): Section<T> {
  return { available: false, reason };
}

export interface ComponentStatus {
  name: string;
  available: boolean;
  /** Where it answers, or why it is not running. */
  detail: string;
}

export interface EpcSectionView {
  /** NUMA node (or section index when the platform does not say). */
  numaNode: number;
  capacityBytes: number;
  allocatedBytes: number;
}

export interface NodeView {
  name: string;
  /** Which CPU shape the simulated node was built from. */
  source: string;
  sgx1: boolean;
  sgx2: boolean;
  flc: boolean;
  driver: string;
  aesm: boolean;
  resourceName: string;
  capacityBytes: number;
  allocatedBytes: number;
  sections: EpcSectionView[];
  labels: Record<string, string>;
}

export type AttestationVerdict = 'released' | 'refused' | 'verified' | 'rejected';

export interface AttestationView {
  at: string;
  /** Who asked: a scenario step, an enclave name, an upload. */
  subject: string;
  verdict: AttestationVerdict;
  tee?: string;
  tcbStatus?: string;
  advisoryIds: string[];
  mrEnclave?: string;
  /** Error code or policy reason when refused/rejected. */
  reason?: string;
}

export interface KeyVersionView {
  version: number;
  state: string;
  createdAt: string;
  expiresAt?: string;
}

export interface SecretView {
  path: string;
  versions: KeyVersionView[];
  policyName?: string;
  policyText?: string;
}

export interface AuditEntryView {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  /** success | denied | failure */
  outcome: string;
  reason: string;
  hash: string;
}

export interface AuditView {
  chainOk: boolean;
  checkedEntries: number;
  /** Why the chain failed to verify (code and position). */
  problem?: string;
  entries: AuditEntryView[];
}

export interface RuleCountView {
  rule: string;
  allowed: number;
  denied: number;
  mutated: number;
}

export interface AdmissionDecisionView {
  at: string;
  namespace: string;
  name: string;
  rule: string;
  decision: string;
  reason: string;
}

export interface AdmissionsView {
  byRule: RuleCountView[];
  recent: AdmissionDecisionView[];
}

export type CheckState = 'passed' | 'failed' | 'not-reached';

export interface VerifyCheckView {
  name: string;
  state: CheckState;
  detail?: string;
}

export interface VerifyResultView {
  ok: boolean;
  trustAnchor: string;
  at: string;
  tee?: string;
  status?: string;
  advisoryIds: string[];
  fmspc?: string;
  mrEnclave?: string;
  mrSigner?: string;
  debug?: boolean;
  collateralExpiresAt?: string;
  checks: VerifyCheckView[];
  errorCode?: string;
  errorMessage?: string;
}

export type ScenarioStepOutcome = 'ok' | 'refused-as-expected' | 'failed';

export interface ScenarioStepView {
  title: string;
  outcome: ScenarioStepOutcome;
  detail: string;
}

export interface ScenarioRunView {
  name: string;
  startedAt: string;
  finishedAt?: string;
  passed: boolean;
  steps: ScenarioStepView[];
}

/** Everything the dashboard reads; implemented by the local stack. */
export interface DashboardSource {
  components(): ComponentStatus[];
  nodes(): Promise<Section<NodeView[]>>;
  attestations(): Promise<Section<AttestationView[]>>;
  secrets(): Promise<Section<SecretView[]>>;
  audit(): Promise<Section<AuditView>>;
  admissions(): Promise<Section<AdmissionsView>>;
  trustAnchors(): string[];
  /** Downloadable sample inputs for the verify page (for example a simulated quote and its collateral). */
  verifySamples(): { label: string; href: string }[];
  verifyQuote(input: { quote: Uint8Array; collateral: unknown; at: Date; trustAnchor: string }): Promise<Section<VerifyResultView>>;
  scenarios(): string[];
  lastScenarioRun(name: string): ScenarioRunView | undefined;
  runScenario(name: string): Promise<ScenarioRunView>;
}
