import { TRUST_LABEL } from '../../common/labels.js';
import { NODE_AGENT_FACTS } from '../../node/manifests.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, commonLabels, selectorLabels } from '../names.js';

/** Trust levels whose namespaces may call the key broker. */
export const BROKER_CLIENT_TRUST_LEVELS = ['confidential', 'sandboxed'] as const;

/**
 * Default-deny ingress for the install namespace, then the openings each
 * component needs:
 * - the webhook's HTTPS port from anywhere (the API server's source address
 *   is not knowable in general); its /metrics is served on that port too;
 * - the broker's port for workloads in confidential and sandboxed namespaces,
 *   and for the monitoring pods of `networkPolicies.metricsFrom` (the broker
 *   serves /metrics on its API port);
 * - with `metricsFrom`, the node agent's metrics port (9756: /metrics and
 *   /healthz) for the monitoring pods. Its device-plugin endpoints are unix
 *   sockets; kubelet's probes come from the node, which NetworkPolicy never
 *   blocks.
 * AESM serves only a unix socket and gets no opening.
 */
export function renderNetworkPolicies(values: Values): KubeObject[] {
  if (!values.networkPolicies.enabled) return [];
  const ns = values.namespace;
  const out: KubeObject[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'kubetee-default-deny-ingress', namespace: ns, labels: commonLabels('kubetee') },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    componentIngress(ns, COMPONENTS.webhook, [{ ports: [{ protocol: 'TCP', port: values.webhook.port }] }]),
  ];
  const metricsFrom = values.networkPolicies.metricsFrom;
  const monitoring = metricsFrom ? [JSON.parse(JSON.stringify(metricsFrom)) as Record<string, unknown>] : [];
  if (values.nodeAgent.enabled && metricsFrom) {
    out.push(componentIngress(ns, COMPONENTS.nodeAgent, [{ from: monitoring, ports: [{ protocol: 'TCP', port: NODE_AGENT_FACTS.metricsPort }] }]));
  }
  if (values.kbs.enabled) {
    out.push(
      componentIngress(ns, COMPONENTS.kbs, [
        { from: brokerClientPeers(values), ports: [{ protocol: 'TCP', port: values.kbs.port }] },
        // /metrics lives on the broker's API port.
        ...(metricsFrom ? [{ from: monitoring, ports: [{ protocol: 'TCP', port: values.kbs.port }] }] : []),
      ]),
    );
  }
  return out;
}

/** The ingress a component's pods accept (on top of the namespace's default deny). */
function componentIngress(namespace: string, component: string, ingress: Record<string, unknown>[]): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: component, namespace, labels: commonLabels(component) },
    spec: { podSelector: { matchLabels: selectorLabels(component) }, policyTypes: ['Ingress'], ingress },
  };
}

/**
 * Namespaces whose trust level is confidential or sandboxed: labelled so, and
 * unlabelled ones too when `webhook.defaultTrustLevel` is one of those levels
 * (the same rule the webhook configurations' selectors follow).
 */
export function brokerClientPeers(values: Values): Record<string, unknown>[] {
  const peers: Record<string, unknown>[] = [{ namespaceSelector: { matchExpressions: [{ key: TRUST_LABEL, operator: 'In', values: [...BROKER_CLIENT_TRUST_LEVELS] }] } }];
  if ((BROKER_CLIENT_TRUST_LEVELS as readonly string[]).includes(values.webhook.defaultTrustLevel)) {
    peers.push({ namespaceSelector: { matchExpressions: [{ key: TRUST_LABEL, operator: 'DoesNotExist' }] } });
  }
  return peers;
}
