import type { ResourceProfile } from '../common/labels.js';
import { TRUST_LABEL } from '../common/labels.js';
import { decide, formatDenial, type Decision, type RuleResult } from './decide.js';
import { applyJsonPatch } from './json-patch.js';
import type { AdmissionPolicy } from './policy/schema.js';
import { namespaceTrustFromLabels } from './trust.js';

export interface Explanation {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly profile: ResourceProfile;
  /** What the mutating webhook does to the pod. */
  readonly mutate: Decision;
  /** What the validating webhook decides about the mutated pod. */
  readonly validate: Decision;
  readonly admitted: boolean;
}

/**
 * What the API server would end up with: the mutating webhook's patch
 * applied, then the validating webhook on the result. Pure.
 */
export function explainPod(input: { pod: unknown; namespace: string; namespaceLabels: Readonly<Record<string, string>>; policy: AdmissionPolicy; profile: ResourceProfile }): Explanation {
  const namespaceTrust = namespaceTrustFromLabels(input.namespaceLabels);
  const common = { namespace: input.namespace, namespaceTrust, policy: input.policy, profile: input.profile };
  const mutate = decide('mutate', { ...common, pod: input.pod });
  const patched = mutate.allowed ? applyJsonPatch(input.pod, mutate.patch) : input.pod;
  const validate = decide('validate', { ...common, pod: patched });
  return { namespace: input.namespace, namespaceLabels: input.namespaceLabels, profile: input.profile, mutate, validate, admitted: mutate.allowed && validate.allowed };
}

const MARK: Record<RuleResult['status'], string> = { pass: 'ok  ', mutated: 'edit', deny: 'DENY' };

function line(r: RuleResult): string {
  if (r.status === 'deny') return `  ${MARK[r.status]}  ${formatDenial(r)}`;
  return `  ${MARK[r.status]}  [${r.ruleId}]${r.container ? ` ${r.container}:` : ''} ${r.message}`;
}

/** Human-readable report of an explanation (the output of `kubetee policy explain`). */
export function formatExplanation(e: Explanation): string {
  const t = e.validate.trust ?? e.mutate.trust;
  const label = e.namespaceLabels[TRUST_LABEL];
  const out: string[] = [];
  out.push(`pod ${e.mutate.podName}`);
  if (t) {
    const why = t.source === 'pod annotation' ? `pod annotation, namespace is ${t.namespaceLevel}` : t.source === 'namespace label' ? `namespace label ${TRUST_LABEL}=${label}` : `policy default; namespace has no valid ${TRUST_LABEL} label`;
    out.push(`trust level: ${t.level} (${why}); EPC profile: ${e.profile}`);
  }
  out.push('', 'mutating webhook:');
  out.push(...(e.mutate.results.length ? e.mutate.results.map(line) : ['  (no mutation rule applies at this trust level)']));
  if (e.mutate.allowed) {
    out.push('', `patch (RFC 6902, ${e.mutate.patch.length} operation${e.mutate.patch.length === 1 ? '' : 's'}):`);
    out.push(...(e.mutate.patch.length ? e.mutate.patch.map((op) => `  ${JSON.stringify(op)}`) : ['  (none: the pod is admitted unchanged)']));
  }
  out.push('', 'validating webhook (on the patched pod):');
  out.push(...e.validate.results.map(line));
  const denials = [...e.mutate.denials, ...e.validate.denials];
  out.push('', e.admitted ? `result: ADMITTED${e.mutate.patch.length ? ' with the patch above' : ''}` : `result: DENIED (${denials.length} problem${denials.length === 1 ? '' : 's'})`, '');
  return out.join('\n');
}
