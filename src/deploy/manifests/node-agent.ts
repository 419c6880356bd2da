import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { COMPONENTS, commonLabels, selectorLabels } from '../names.js';
import { imagePullSecrets, imageRef, restrictedContainerSecurity } from './common.js';
import { sgxNodeAffinity, sgxTolerations } from './sgx-placement.js';

/**
 * Node agent DaemonSet, only on SGX nodes. Host access is exactly what it
 * uses: the kubelet's device-plugin directory (to serve its socket and
 * register), the pod-resources socket directory (to see EPC assignments),
 * /dev read-only (to see which SGX device nodes exist), the NUMA sysfs tree
 * read-only (sgx_total_bytes) and the AESM socket directory read-only (AESM
 * health). It runs as root only because the kubelet's directories are
 * root-owned; it is not privileged and holds no capabilities.
 */
export function renderNodeAgent(values: Values): KubeObject[] {
  if (!values.nodeAgent.enabled) return [];
  const name = COMPONENTS.nodeAgent;
  const hostPaths: [string, string, string, boolean][] = [
    ['device-plugins', '/var/lib/kubelet/device-plugins', 'Directory', false],
    ['pod-resources', '/var/lib/kubelet/pod-resources', 'Directory', true],
    ['dev', '/dev', 'Directory', true],
    ['sys-node', '/sys/devices/system/node', 'Directory', true],
    ['aesmd', '/var/run/aesmd', 'DirectoryOrCreate', true],
  ];
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
            priorityClassName: 'system-node-critical',
            affinity: sgxNodeAffinity(values),
            tolerations: sgxTolerations(),
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'agent',
                image: imageRef(values.image),
                imagePullPolicy: values.image.pullPolicy,
                args: ['node', 'agent', '--profile', values.profile, '--node-name', '$(NODE_NAME)'],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                resources: values.nodeAgent.resources,
                securityContext: { ...restrictedContainerSecurity(false), runAsUser: 0, runAsNonRoot: false },
                volumeMounts: hostPaths.map(([vol, path, , readOnly]) => ({ name: vol, mountPath: path, readOnly })),
              },
            ],
            volumes: hostPaths.map(([vol, path, type]) => ({ name: vol, hostPath: { path, type } })),
          },
        },
      },
    },
  ];
}
