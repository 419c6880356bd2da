import { stringify } from 'yaml';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, TRUST_POLICY_CONFIGMAP, commonLabels } from '../names.js';
import { effectiveRuntimeClasses } from './runtime-classes.js';

/**
 * The default trust policy the webhook reads. The document is the webhook's
 * own policy format (policy.kubetee.io/v1 AdmissionPolicy); the webhook fills
 * every omitted field with its defaults, so only the apiVersion/kind header is
 * pinned here.
 */
export function defaultTrustPolicy(): Record<string, unknown> {
  return { apiVersion: 'policy.kubetee.io/v1', kind: 'AdmissionPolicy' };
}

export function renderTrustPolicy(values: Values): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: TRUST_POLICY_CONFIGMAP,
      namespace: values.namespace,
      labels: commonLabels(COMPONENTS.webhook),
      annotations: { 'kubetee.io/sandbox-runtime-classes': effectiveRuntimeClasses(values).map((rc) => rc.name).join(',') },
    },
    data: { 'policy.yaml': stringify(defaultTrustPolicy()) },
  };
}
