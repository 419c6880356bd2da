import { SANDBOX_NODE_LABELS, defaultSandboxRuntimes, knownRuntimeByHandler, knownRuntimeByName, type EpcCarriage } from '../../common/sandbox-runtimes.js';
import type { RuntimeClassValues, Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { commonLabels } from '../names.js';

export { SANDBOX_NODE_LABELS };

/** The RuntimeClasses a default install of `profile` creates, from kubetee's runtime list (src/common/sandbox-runtimes.ts). */
export function defaultRuntimeClasses(profile: Values['profile']): RuntimeClassValues[] {
  return defaultSandboxRuntimes(profile).map((r) => ({
    name: r.name,
    handler: r.handler,
    overhead: { ...r.overhead },
    nodeSelector: { [r.nodeLabel]: 'true' },
    tolerations: [],
    epc: r.epc,
  }));
}

/** The RuntimeClasses install creates. */
export function effectiveRuntimeClasses(values: Values): RuntimeClassValues[] {
  return values.runtimeClasses ?? defaultRuntimeClasses(values.profile);
}

/**
 * How a created class gives enclaves EPC: as the values say, else by its
 * handler (what actually runs), else by its name. Values validation refuses
 * a class none of these decide.
 */
export function epcOfCreatedClass(rc: RuntimeClassValues): EpcCarriage {
  const epc = rc.epc ?? knownRuntimeByHandler(rc.handler)?.epc ?? knownRuntimeByName(rc.name)?.epc;
  if (!epc) throw new Error(`RuntimeClass ${rc.name}: no EPC handling (values validation should have refused it)`);
  return epc;
}

/** Every sandbox class of the trust policy, in order: created ones first, then the cluster's own. */
export function sandboxClassesOf(values: Values): { name: string; epc: EpcCarriage; created: boolean }[] {
  return [
    ...effectiveRuntimeClasses(values).map((rc) => ({ name: rc.name, epc: epcOfCreatedClass(rc), created: true })),
    ...values.existingRuntimeClasses.map((rc) => ({ name: rc.name, epc: rc.epc, created: false })),
  ];
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
