import { NODE_AGENT_FACTS } from '../../node/manifests.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, TRUST_POLICY_CONFIGMAP, commonLabels } from '../names.js';

function serviceAccount(values: Values, name: string, automount: boolean): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
    automountServiceAccountToken: automount,
  };
}

function clusterRoleWithBinding(values: Values, name: string, rules: Record<string, unknown>[]): KubeObject[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: commonLabels(name) }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels: commonLabels(name) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: values.namespace }],
    },
  ];
}

function roleWithBinding(values: Values, name: string, rules: Record<string, unknown>[]): KubeObject[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: values.namespace, labels: commonLabels(name) }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: values.namespace }],
    },
  ];
}

/**
 * One ServiceAccount per component and only the verbs each one uses:
 * - node agent: the verbs the node component declares (get/patch its Node,
 *   patch node status for the intel profile's EPC capacity);
 * - webhook: read namespaces (trust label) and RuntimeClasses, read its own
 *   trust-policy ConfigMap by name;
 * - AESM and key broker: no API access at all (token not even mounted).
 */
export function renderRbac(values: Values): KubeObject[] {
  const out: KubeObject[] = [];
  if (values.nodeAgent.enabled) {
    out.push(serviceAccount(values, COMPONENTS.nodeAgent, true));
    out.push(
      ...clusterRoleWithBinding(values, COMPONENTS.nodeAgent, JSON.parse(JSON.stringify(NODE_AGENT_FACTS.rbac)) as Record<string, unknown>[]),
    );
  }
  if (values.aesm.enabled) out.push(serviceAccount(values, COMPONENTS.aesm, false));
  out.push(serviceAccount(values, COMPONENTS.webhook, true));
  out.push(
    ...clusterRoleWithBinding(values, COMPONENTS.webhook, [
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['node.k8s.io'], resources: ['runtimeclasses'], verbs: ['get', 'list', 'watch'] },
    ]),
    ...roleWithBinding(values, COMPONENTS.webhook, [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [TRUST_POLICY_CONFIGMAP], verbs: ['get', 'watch'] },
    ]),
  );
  if (values.kbs.enabled) out.push(serviceAccount(values, COMPONENTS.kbs, false));
  return out;
}
