import { AESM_FACTS } from '../../node/manifests.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { AESM_CONFIGMAP, AESM_QCNL_KEY, COMPONENTS, commonLabels, selectorLabels } from '../names.js';
import { imagePullSecrets, imageRef } from './common.js';
import { sgxNodeAffinity } from './sgx-placement.js';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * AESM on every SGX node: DCAP quoting enclaves (ECDSA) with the quote
 * provider library pointed at the configured PCCS. It gets EPC and
 * PROVISIONKEY through the node agent's device plugin (resource requests from
 * the node component's facts) rather than privilege, and publishes its socket
 * in the host's /var/run/aesmd, which the webhook and the device plugin hand
 * to enclave pods.
 */
export function renderAesm(values: Values): KubeObject[] {
  if (!values.aesm.enabled) return [];
  const name = COMPONENTS.aesm;
  const facts = AESM_FACTS;
  const sgx = plain(facts.sgxResources[values.profile]) as Record<string, string>;
  const qcnl = { pccs_url: values.aesm.pccsURL, use_secure_cert: true, retry_times: 6, retry_delay: 10, local_cache_only: false };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: AESM_CONFIGMAP, namespace: values.namespace, labels: commonLabels(name) },
      data: { 'aesmd.conf': facts.config.aesmdConf, [AESM_QCNL_KEY]: `${JSON.stringify(qcnl, null, 2)}\n` },
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
            tolerations: plain(facts.tolerations),
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'aesmd',
                image: imageRef(values.aesm.image),
                imagePullPolicy: values.aesm.image.pullPolicy,
                env: plain(facts.env),
                resources: {
                  requests: { ...values.aesm.resources.requests, ...sgx },
                  limits: { ...values.aesm.resources.limits, ...sgx },
                },
                readinessProbe: { exec: { command: [...facts.readinessExec] }, periodSeconds: 10 },
                securityContext: plain(facts.securityContext),
                volumeMounts: [
                  ...facts.hostPaths.map((h) => ({ name: h.name, mountPath: h.mountPath, readOnly: h.readOnly })),
                  { name: 'aesmd-state', mountPath: facts.stateDir },
                  { name: 'config', mountPath: '/etc/aesmd.conf', subPath: 'aesmd.conf', readOnly: true },
                  { name: 'config', mountPath: facts.config.qcnlConfPath, subPath: AESM_QCNL_KEY, readOnly: true },
                ],
              },
            ],
            volumes: [
              ...facts.hostPaths.map((h) => ({ name: h.name, hostPath: { path: h.hostPath, type: h.type } })),
              { name: 'aesmd-state', emptyDir: {} },
              { name: 'config', configMap: { name: AESM_CONFIGMAP } },
            ],
          },
        },
      },
    },
  ];
}
