import { NODE_AGENT_FACTS } from '../../node/manifests.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, commonLabels } from '../names.js';

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

/**
 * One ServiceAccount per component and only the verbs each one uses:
 * - node agent: the verbs the node component declares (get/patch its Node,
 *   patch node status for the intel profile's EPC capacity, list pods for the
 *   EPC cgroup limits);
 * - webhook, AESM and key broker: no API access at all (token not even
 *   mounted). The webhook gets the trust level from the URL path the API
 *   server's namespace selectors chose, its policy and TLS material from
 *   mounted files, and install writes the caBundle, so it never calls the API.
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
  out.push(serviceAccount(values, COMPONENTS.webhook, false));
  if (values.kbs.enabled) out.push(serviceAccount(values, COMPONENTS.kbs, false));
  return out;
}
