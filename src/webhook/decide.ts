import type { ResourceProfile, TrustLevel } from '../common/labels.js';
import { describeError } from '../common/errors.js';
import { cloneJson, diffJson, type JsonPatchOp } from './json-patch.js';
import { checkPodShape, podDisplayName, type Pod } from './pod.js';
import type { AdmissionPolicy } from './policy/schema.js';
import { readQuoteSetup } from './quote-setup.js';
import { ENGINE_RULE_IDS, RULES } from './rules/catalogue.js';
import type { Finding, RuleContext, RulePhase } from './rules/rule.js';
import { resolveTrust, type NamespaceTrust, type ResolvedTrust } from './trust.js';

export interface AdmissionInput {
  /** The pod as received (AdmissionReview request.object or a manifest). */
  readonly pod: unknown;
  /** Namespace of the request (request.namespace; the pod's own metadata may omit it). */
  readonly namespace: string;
  readonly namespaceTrust: NamespaceTrust;
  readonly policy: AdmissionPolicy;
  readonly profile: ResourceProfile;
}

/** A finding with the rule that produced it. */
export interface RuleResult extends Finding {
  readonly ruleId: string;
  readonly phase: RulePhase;
}

export interface Decision {
  readonly phase: RulePhase;
  readonly allowed: boolean;
  /** Undefined only when the object was not a pod. */
  readonly trust: ResolvedTrust | undefined;
  readonly podName: string;
  /** Every rule's findings, in rule order. */
  readonly results: readonly RuleResult[];
  readonly denials: readonly RuleResult[];
  /** RFC 6902 patch (mutate phase, allowed only); empty when nothing changes. */
  readonly patch: readonly JsonPatchOp[];
  /** The pod after mutation (mutate phase) or as validated. */
  readonly pod: Pod | undefined;
}

/**
 * Runs the rules of one phase over a pod. Pure: same input, same decision.
 * A rule that throws denies the pod with code RULE_FAILED (fail closed;
 * a bug must never become an allow).
 */
export function decide(phase: RulePhase, input: AdmissionInput): Decision {
  const shape = checkPodShape(input.pod);
  if (!shape.pod) {
    const r: RuleResult = {
      ruleId: ENGINE_RULE_IDS.podShape,
      phase,
      status: 'deny',
      code: 'POD_INVALID',
      message: `the object is not a valid Pod: ${shape.problems.slice(0, 5).join('; ')}${shape.problems.length > 5 ? ` (+${shape.problems.length - 5} more)` : ''}`,
      fix: 'send a core/v1 Pod with spec.containers',
    };
    return { phase, allowed: false, trust: undefined, podName: `${input.namespace}/?`, results: [r], denials: [r], patch: [], pod: undefined };
  }
  const original = shape.pod;
  const trust = resolveTrust(input.namespaceTrust, original.metadata?.annotations, input.policy);
  const podName = podDisplayName(original, input.namespace);
  const draft: Pod = phase === 'mutate' ? cloneJson(original) : original;
  const ctx: RuleContext = { policy: input.policy, profile: input.profile, trust, namespace: input.namespace, quote: readQuoteSetup(original) };
  const results: RuleResult[] = [];
  // An unknown namespace label leaves the level undecidable: mutate nothing, let validation deny.
  const level: TrustLevel | undefined = trust.invalidLabel === undefined ? trust.level : undefined;
  for (const rule of RULES) {
    if (rule.phase !== phase) continue;
    const applies = rule.levels.includes(trust.level) && (level !== undefined || rule.phase === 'validate');
    if (!applies) continue;
    let findings: Finding[];
    try {
      findings = rule.phase === 'mutate' ? rule.mutate(ctx, draft) : rule.validate(ctx, draft);
    } catch (err) {
      findings = [
        {
          status: 'deny',
          code: 'RULE_FAILED',
          message: `rule failed unexpectedly (${describeError(err)}); the pod is denied rather than admitted unchecked`,
          fix: 'report this with the pod manifest; meanwhile adjust the pod or the policy',
        },
      ];
    }
    for (const f of findings) results.push({ ...f, ruleId: rule.id, phase });
  }
  const denials = results.filter((r) => r.status === 'deny');
  const allowed = denials.length === 0;
  const patch = phase === 'mutate' && allowed ? diffJson(original, draft) : [];
  return { phase, allowed, trust, podName, results, denials, patch, pod: draft };
}

/** One line per denial: `[rule-id] container "app": what. Fix: what to do.` */
export function formatDenial(d: RuleResult): string {
  return `[${d.ruleId}]${d.container ? ` ${d.container}:` : ''} ${d.message}. Fix: ${d.fix ?? 'see docs/admission.md'}`;
}

/** The message of a denied AdmissionReview response. */
export function denialMessage(decision: Decision): string {
  return `kubetee denied pod ${decision.podName}${decision.trust ? ` (trust level ${decision.trust.level})` : ''}: ${decision.denials.map(formatDenial).join('; ')}`;
}
