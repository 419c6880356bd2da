import { RESOURCES } from '../../common/labels.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { AESM_CONFIGMAP, COMPONENTS, commonLabels, selectorLabels } from '../names.js';
import { imagePullSecrets, imageRef, restrictedContainerSecurity } from './common.js';
import { sgxNodeAffinity, sgxTolerations } from './sgx-placement.js';

/** SGX resources AESM needs to run the quoting enclaves, per profile. */
function aesmSgxResources(values: Values): Record<string, string> {
  return values.profile === 'intel'
    ? { [RESOURCES.intel.epc]: '1Mi', [RESOURCES.intel.enclave]: '1', [RESOURCES.intel.provision]: '1' }
    : { [RESOURCES.alibaba.epc]: '1' };
}

/**
 * AESM on every SGX node: DCAP quoting enclaves (ECDSA) with the quote
 * provider library pointed at the configured PCCS. It gets the SGX devices
 * through the node agent's device plugin (an EPC request) rather than
 * privilege, and publishes its socket in the host's /var/run/aesmd, where
 * the webhook mounts it into enclave pods.
 */
export function renderAesm(values: Values): KubeObject[] {
  if (!values.aesm.enabled) return [];
  const name = COMPONENTS.aesm;
  const sgx = aesmSgxResources(values);
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: AESM_CONFIGMAP, namespace: values.namespace, labels: commonLabels(name) },
      data: {
        'aesmd.conf': 'default quoting type = ecdsa_256\n',
        'sgx_default_qcnl.conf': `${JSON.stringify({ pccs_url: values.aesm.pccsURL, use_secure_cert: true, retry_times: 6, retry_delay: 10, local_cache_only: false }, null, 2)}\n`,
      },
    },
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
            automountServiceAccountToken: false,
            priorityClassName: 'system-node-critical',
            affinity: sgxNodeAffinity(values),
            tolerations: sgxTolerations(),
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'aesmd',
                image: imageRef(values.aesm.image),
                imagePullPolicy: values.aesm.image.pullPolicy,
                env: [{ name: 'SGX_AESM_ADDR', value: '1' }],
                resources: {
                  requests: { ...values.aesm.resources.requests, ...sgx },
                  limits: { ...values.aesm.resources.limits, ...sgx },
                },
                // aesmd writes its socket and state; the root filesystem stays read-only.
                securityContext: { ...restrictedContainerSecurity(false), runAsUser: 0, runAsNonRoot: false },
                volumeMounts: [
                  { name: 'aesmd-socket', mountPath: '/var/run/aesmd' },
                  { name: 'aesmd-state', mountPath: '/var/opt/aesmd' },
                  { name: 'config', mountPath: '/etc/aesmd.conf', subPath: 'aesmd.conf', readOnly: true },
                  { name: 'config', mountPath: '/etc/sgx_default_qcnl.conf', subPath: 'sgx_default_qcnl.conf', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'DirectoryOrCreate' } },
              { name: 'aesmd-state', emptyDir: {} },
              { name: 'config', configMap: { name: AESM_CONFIGMAP } },
            ],
          },
        },
      },
    },
  ];
}
