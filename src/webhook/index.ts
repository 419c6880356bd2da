/**
 * kubetee admission webhook: trust levels per namespace, SGX wiring for
 * confidential pods, sandbox RuntimeClasses for untrusted ones.
 *
 * @example
 * import { createAdmissionHandler, DEFAULT_POLICY } from 'kubetee/webhook';
 * const admission = createAdmissionHandler({ policy: DEFAULT_POLICY, profile: 'alibaba' });
 * await app.register(admission.plugin, { prefix: '/admission' });
 * admission.decisionLog.recent(20);
 */
export { createAdmissionHandler, INVALID_LABEL_SEGMENT, type AdmissionHandler, type AdmissionHandlerOptions } from './handler.js';
export { DecisionLog, type DecisionEntry, type RuleCounts, type Verdict } from './decision-log.js';
export { createWebhookMetrics, type WebhookMetrics } from './metrics.js';
export { decide, denialMessage, formatDenial, type AdmissionInput, type Decision, type RuleResult } from './decide.js';
export { explainPod, formatExplanation, type Explanation } from './explain.js';
export { RULES, RULE_IDS, ENGINE_RULE_IDS } from './rules/catalogue.js';
export type { Rule, Finding, RulePhase } from './rules/rule.js';
export { DEFAULT_POLICY, defaultPolicyFor } from './policy/default-policy.js';
export { runtimeEpcFor, type RuntimeEpc } from './runtime-epc.js';
export { parsePolicy, loadPolicyFile, validatePolicy } from './policy/load-policy.js';
export { POLICY_API_VERSION, POLICY_KIND, policySchema, type AdmissionPolicy, type AdmissionPolicyInput } from './policy/schema.js';
export { buildWebhookConfigurations, namespaceSelectorFor, WEBHOOK_CONFIGURATION_NAME, DEFAULT_EXCLUDED_NAMESPACES, type ClientTarget, type WebhookConfigurationOptions } from './webhook-configurations.js';
export { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server.js';
export { SelfManagedCa, type SelfManagedCaOptions, type TlsMaterial } from './tls/self-managed-ca.js';
export { fileTlsSource, selfManagedTlsSource, type TlsSource } from './tls/tls-source.js';
export { publishCaBundle, admissionClientFromKubeconfig, type PublishResult } from './publish-ca-bundle.js';
export { applyJsonPatch, diffJson, type JsonPatchOp } from './json-patch.js';
export { namespaceTrustFromLabels, resolveTrust, type NamespaceTrust } from './trust.js';
export { EPC_RESOURCE_NAMES, EPC_RESOURCE_UNITS, activeEpcResource } from './epc.js';
export { WebhookError, PolicyError, type WebhookErrorCode, type PolicyErrorCode } from './errors.js';
