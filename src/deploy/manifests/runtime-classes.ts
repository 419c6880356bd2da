import type { RuntimeClassValues, Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { commonLabels } from '../names.js';

/** Node labels that mark nodes able to run a sandbox runtime (kata-deploy sets the Kata one itself). */
export const SANDBOX_NODE_LABELS = {
  kata: 'katacontainers.io/kata-runtime',
  gvisor: 'kubetee.io/runtime.gvisor',
  runv: 'kubetee.io/runtime.runv',
} as const;

/**
 * Default sandbox runtimes per profile. Overheads: kata-deploy's 160Mi/250m
 * for kata-qemu; runV's upper bound (64 MiB + 2% of the pod, clamped to 512 MiB)
 * so scheduling is never optimistic; a small fixed gVisor overhead.
 */
export function defaultRuntimeClasses(profile: Values['profile']): RuntimeClassValues[] {
  const common: RuntimeClassValues[] = [
    { name: 'kata-qemu', handler: 'kata-qemu', overhead: { cpu: '250m', memory: '160Mi' }, nodeSelector: { [SANDBOX_NODE_LABELS.kata]: 'true' }, tolerations: [] },
    { name: 'gvisor', handler: 'runsc', overhead: { cpu: '100m', memory: '64Mi' }, nodeSelector: { [SANDBOX_NODE_LABELS.gvisor]: 'true' }, tolerations: [] },
  ];
  if (profile === 'alibaba') {
    common.unshift({ name: 'runv', handler: 'runv', overhead: { cpu: '250m', memory: '512Mi' }, nodeSelector: { [SANDBOX_NODE_LABELS.runv]: 'true' }, tolerations: [] });
  }
  return common;
}

export function effectiveRuntimeClasses(values: Values): RuntimeClassValues[] {
  return values.runtimeClasses ?? defaultRuntimeClasses(values.profile);
}

export function renderRuntimeClasses(values: Values): KubeObject[] {
  return effectiveRuntimeClasses(values).map((rc) => ({
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: rc.name, labels: commonLabels('kubetee-runtime-classes') },
    handler: rc.handler,
    overhead: { podFixed: { ...rc.overhead } },
    scheduling: { nodeSelector: { ...rc.nodeSelector }, ...(rc.tolerations.length ? { tolerations: rc.tolerations.map((t) => ({ ...t })) } : {}) },
  }));
}
