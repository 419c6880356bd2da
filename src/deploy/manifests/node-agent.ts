import { NODE_AGENT_FACTS } from '../../node/manifests.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, commonLabels, selectorLabels } from '../names.js';
import { imagePullSecrets, imageRef } from './common.js';
import { sgxNodeAffinity } from './sgx-placement.js';

/** Deep copy of the node component's readonly facts into plain mutable manifest data. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * Node agent DaemonSet, only on SGX nodes. Host access, security context,
 * args and tolerations come from the node component's own facts
 * (src/node/manifests.ts), so what the agent touches is declared once, by the
 * code that touches it: device-plugin and pod-resources directories, /dev
 * and NUMA sysfs read-only, the AESM socket directory. Not privileged, no
 * capabilities; root only because kubelet's directories are root-owned.
 */
export function renderNodeAgent(values: Values): KubeObject[] {
  if (!values.nodeAgent.enabled) return [];
  const name = COMPONENTS.nodeAgent;
  const facts = NODE_AGENT_FACTS;
  const probe = { httpGet: { path: facts.healthPath, port: 'metrics' } };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      spec: {
        selector: { matchLabels: selectorLabels(name) },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: commonLabels(name) },
          spec: {
            serviceAccountName: name,
            priorityClassName: facts.priorityClassName,
            affinity: sgxNodeAffinity(values),
            tolerations: plain(facts.tolerations),
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'agent',
                image: imageRef(values.image),
                imagePullPolicy: values.image.pullPolicy,
                args: facts.args(values.profile),
                env: plain(facts.env),
                ports: [{ name: 'metrics', containerPort: facts.metricsPort, protocol: 'TCP' }],
                readinessProbe: { ...probe, periodSeconds: 10 },
                livenessProbe: { ...probe, periodSeconds: 20, failureThreshold: 3 },
                resources: values.nodeAgent.resources,
                securityContext: plain(facts.securityContext),
                volumeMounts: facts.hostPaths.map((h) => ({ name: h.name, mountPath: h.mountPath, readOnly: h.readOnly })),
              },
            ],
            volumes: facts.hostPaths.map((h) => ({ name: h.name, hostPath: { path: h.hostPath, type: h.type } })),
          },
        },
      },
    },
  ];
}
