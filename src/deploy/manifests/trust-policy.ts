import { stringify } from 'yaml';
import { POLICY_API_VERSION, POLICY_KIND, type AdmissionPolicy } from '../../webhook/policy/schema.js';
import { validatePolicy } from '../../webhook/policy/load-policy.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, TRUST_POLICY_CONFIGMAP, commonLabels } from '../names.js';
import { sandboxClassesOf } from './runtime-classes.js';

/**
 * The trust policy the webhook enforces: the webhook's defaults, with the
 * level of unlabelled namespaces from `webhook.defaultTrustLevel`, the sandbox
 * RuntimeClasses set to exactly the cluster's (those kubetee creates, then the
 * operator's `existingRuntimeClasses`; the first is injected into sandboxed
 * pods that name none), each with how it carries EPC, and the operator's
 * `hostRuntimeClasses`. Validated by the webhook's own
 * schema, so render fails rather than ship a policy the webhook rejects. The
 * webhook configurations' namespace selectors are built from this same
 * document, so the level the API server picks (by path) and the policy agree.
 */
export function trustPolicyFor(values: Values): AdmissionPolicy {
  const classes = sandboxClassesOf(values).map(({ name, epc }) => ({ name, epc }));
  return validatePolicy(
    {
      apiVersion: POLICY_API_VERSION,
      kind: POLICY_KIND,
      defaultTrustLevel: values.webhook.defaultTrustLevel,
      sandboxRuntimeClasses: classes,
      hostRuntimeClasses: [...values.hostRuntimeClasses],
      sandboxed: { defaultRuntimeClass: classes[0]?.name },
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
