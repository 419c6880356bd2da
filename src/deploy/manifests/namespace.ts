import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { commonLabels } from '../names.js';

/**
 * The install namespace. Pod Security is `privileged` here because the node
 * agent and AESM need hostPath volumes (device-plugin sockets, the AESM socket
 * directory); every container still drops all capabilities and runs
 * unprivileged. The webhook never intercepts this namespace.
 */
export function renderNamespace(values: Values): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: values.namespace,
      labels: {
        ...commonLabels('kubetee'),
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/warn': 'baseline',
      },
    },
  };
}
