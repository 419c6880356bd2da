import { stringify } from 'yaml';
import { POLICY_API_VERSION, POLICY_KIND, type AdmissionPolicy } from '../../webhook/policy/schema.js';
import { validatePolicy } from '../../webhook/policy/load-policy.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, TRUST_POLICY_CONFIGMAP, commonLabels } from '../names.js';
import { effectiveRuntimeClasses } from './runtime-classes.js';

/**
 * The trust policy the webhook enforces: the webhook's defaults, with the
 * level of unlabelled namespaces from `webhook.defaultTrustLevel` and the
 * sandbox RuntimeClasses set to exactly those kubetee installs (the first one
 * injected into sandboxed pods that name none). Validated by the webhook's own
 * schema, so render fails rather than ship a policy the webhook rejects. The
 * webhook configurations' namespace selectors are built from this same
 * document, so the level the API server picks (by path) and the policy agree.
 */
export function trustPolicyFor(values: Values): AdmissionPolicy {
  const classes = effectiveRuntimeClasses(values).map((rc) => rc.name);
  return validatePolicy(
    {
      apiVersion: POLICY_API_VERSION,
      kind: POLICY_KIND,
      defaultTrustLevel: values.webhook.defaultTrustLevel,
      ...(classes.length ? { sandboxRuntimeClasses: classes, sandboxed: { defaultRuntimeClass: classes[0] } } : {}),
    },
    'rendered trust policy',
  );
}

export function renderTrustPolicy(values: Values): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: TRUST_POLICY_CONFIGMAP, namespace: values.namespace, labels: commonLabels(COMPONENTS.webhook) },
    data: { 'policy.yaml': stringify(trustPolicyFor(values), { aliasDuplicateObjects: false }) },
  };
}
