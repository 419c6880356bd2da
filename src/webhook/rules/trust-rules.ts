import { POD_TRUST_ANNOTATION, TRUST_LABEL, TRUST_LEVELS } from '../../common/labels.js';
import { ALL_LEVELS, deny, pass, type ValidationRule } from './rule.js';

/** The namespace label must hold a known level: a typo must not silently mean "standard". */
export const namespaceLabelRule: ValidationRule = {
  id: 'trust.namespace-label',
  phase: 'validate',
  levels: ALL_LEVELS,
  summary: `the namespace label ${TRUST_LABEL} must be one of ${TRUST_LEVELS.join(', ')}`,
  validate(ctx) {
    if (ctx.trust.invalidLabel === undefined) return [pass(`namespace trust level is ${ctx.trust.namespaceLevel} (${ctx.trust.source === 'pod annotation' ? 'namespace label' : ctx.trust.source})`)];
    return [
      deny(
        `namespace "${ctx.namespace}" has ${TRUST_LABEL}=${JSON.stringify(ctx.trust.invalidLabel)}, which is not a trust level`,
        `kubectl label namespace ${ctx.namespace || '<namespace>'} ${TRUST_LABEL}=<${TRUST_LEVELS.join('|')}> --overwrite`,
      ),
    ];
  },
};

/** A pod may change its level by annotation only where the policy allows (never by default downwards). */
export const podOverrideRule: ValidationRule = {
  id: 'trust.pod-override',
  phase: 'validate',
  levels: ALL_LEVELS,
  summary: `a pod's ${POD_TRUST_ANNOTATION} annotation may only pick a level listed in podOverrides for its namespace's level`,
  validate(ctx) {
    const refused = ctx.trust.refusedOverride;
    if (refused === undefined) {
      return [pass(ctx.trust.source === 'pod annotation' ? `pod opts into ${ctx.trust.level} by annotation (allowed in ${ctx.trust.namespaceLevel} namespaces)` : 'pod does not override its trust level')];
    }
    const allowed = ctx.policy.podOverrides[ctx.trust.namespaceLevel];
    return [
      deny(
        `pod annotation ${POD_TRUST_ANNOTATION}=${JSON.stringify(refused)} is not allowed in a ${ctx.trust.namespaceLevel} namespace (allowed: ${allowed.length ? allowed.join(', ') : 'none'})`,
        allowed.length ? `remove the annotation or set it to one of: ${allowed.join(', ')}` : `remove the ${POD_TRUST_ANNOTATION} annotation, or deploy into a namespace of the level you need`,
      ),
    ];
  },
};
