import type { Rule } from './rule.js';
import { namespaceLabelRule, podOverrideRule } from './trust-rules.js';
import { epcOutsideConfidentialRule, provisionOutsideConfidentialRule } from './global-rules.js';
import { injectRuntimeClassRule, runtimeClassAllowedRule, sandboxNoHostNamespacesRule, sandboxNoHostPathRule, sandboxNoPrivilegedRule } from './sandboxed-rules.js';
import {
  aesmSocketRule,
  enclaveSlotRule,
  kataEpcAnnotationRule,
  provisionForQuotingContainerRule,
  sgxNodeAffinityRule,
  sgxTolerationRule,
  translateEpcRule,
} from './confidential-mutations.js';
import {
  confidentialNoPrivilegedRule,
  epcLimitsEqualRequestsRule,
  epcQuantityValidRule,
  noEphemeralContainersRule,
  noHostSgxDevicesRule,
  provisionOnlyQuotingContainerRule,
  quoteProviderKnownRule,
  requiresEpcRule,
  runtimeCarriesEpcRule,
  wiringCompleteRule,
} from './confidential-validations.js';

/**
 * Every admission rule, in evaluation order. Mutation rules run on
 * `POST /mutate`, validation rules on `POST /validate` (which sees the pod
 * after all mutating webhooks). Order matters for mutation: translation
 * first, then what depends on the translated resources.
 */
export const RULES: readonly Rule[] = Object.freeze([
  // mutate
  injectRuntimeClassRule,
  translateEpcRule,
  enclaveSlotRule,
  provisionForQuotingContainerRule,
  aesmSocketRule,
  sgxNodeAffinityRule,
  sgxTolerationRule,
  kataEpcAnnotationRule,
  // validate
  namespaceLabelRule,
  podOverrideRule,
  provisionOutsideConfidentialRule,
  epcOutsideConfidentialRule,
  runtimeClassAllowedRule,
  sandboxNoPrivilegedRule,
  sandboxNoHostNamespacesRule,
  sandboxNoHostPathRule,
  epcQuantityValidRule,
  epcLimitsEqualRequestsRule,
  confidentialNoPrivilegedRule,
  noEphemeralContainersRule,
  noHostSgxDevicesRule,
  requiresEpcRule,
  quoteProviderKnownRule,
  provisionOnlyQuotingContainerRule,
  runtimeCarriesEpcRule,
  wiringCompleteRule,
]);

/** Every rule id (stable; used in denials, metrics labels and docs/admission.md). */
export const RULE_IDS: readonly string[] = Object.freeze(RULES.map((r) => r.id));

/** Pseudo-rule ids for denials that no policy rule produced. */
export const ENGINE_RULE_IDS = Object.freeze({
  /** The pod object itself is not a Pod (bad shape). */
  podShape: 'engine.pod-shape',
  /** A rule threw: the pod is denied (fail closed) with code RULE_FAILED. */
  ruleFailed: 'engine.rule-failed',
});
