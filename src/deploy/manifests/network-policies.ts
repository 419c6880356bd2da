import { TRUST_LABEL } from '../../common/labels.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, commonLabels, selectorLabels } from '../names.js';

/** Trust levels whose namespaces may call the key broker. */
export const BROKER_CLIENT_TRUST_LEVELS = ['confidential', 'sandboxed'] as const;

/**
 * Default-deny ingress for the install namespace, then exactly two openings:
 * the webhook's HTTPS port (the API server's source address is not knowable
 * in general) and the broker's port for workloads in trust-labelled
 * namespaces. The node agent and AESM serve unix sockets only.
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
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: COMPONENTS.webhook, namespace: ns, labels: commonLabels(COMPONENTS.webhook) },
      spec: {
        podSelector: { matchLabels: selectorLabels(COMPONENTS.webhook) },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: values.webhook.port }] }],
      },
    },
  ];
  if (values.kbs.enabled) {
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: COMPONENTS.kbs, namespace: ns, labels: commonLabels(COMPONENTS.kbs) },
      spec: {
        podSelector: { matchLabels: selectorLabels(COMPONENTS.kbs) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: brokerClientPeers(values),
            ports: [{ protocol: 'TCP', port: values.kbs.port }],
          },
        ],
      },
    });
  }
  return out;
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
