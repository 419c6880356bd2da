/**
 * The taints a confidential pod tolerates, shared by the webhook (which adds
 * the tolerations) and doctor (which warns about SGX nodes whose taints no
 * confidential pod would tolerate).
 *
 * SGX node pools are tainted one of two ways: with kubetee's own taint
 * `kubetee.io/sgx=true:NoSchedule`, or with the name of the extended resource
 * they offer (`<resource>:NoSchedule`), the Kubernetes convention that the
 * ExtendedResourceToleration admission plugin serves (as GPU clusters do with
 * `nvidia.com/gpu`). A confidential pod tolerates both, for every SGX
 * resource it requests after mutation, whether or not that plugin is enabled.
 */
import { RESOURCES, SGX_TAINT } from './labels.js';

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** Every SGX extended resource name a node may advertise or a pod request. */
export const SGX_RESOURCE_NAMES: readonly string[] = Object.freeze([RESOURCES.alibaba.epc, RESOURCES.alibaba.provision, RESOURCES.intel.epc, RESOURCES.intel.enclave, RESOURCES.intel.provision, RESOURCES.azure.epc]);

/** Kubernetes toleration matching (k8s.io/api core/v1 Toleration.ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const operator = t.operator ?? 'Equal';
  if (!t.key) return operator === 'Exists';
  if (t.key !== taint.key) return false;
  if (operator === 'Exists') return true;
  return operator === 'Equal' && (t.value ?? '') === (taint.value ?? '');
}

/** The taint named after an extended resource. */
export function resourceTaint(resource: string): Taint {
  return { key: resource, effect: 'NoSchedule' };
}

/** What the webhook adds for a taint: an exact toleration for kubetee's, `Exists` for a resource name. */
export function tolerationFor(taint: Taint): Toleration {
  return taint.value === undefined ? { key: taint.key, operator: 'Exists', effect: taint.effect } : { key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect };
}

/** The taints a confidential pod tolerates, given the SGX resources it requests. */
export function confidentialTaints(requestedSgxResources: readonly string[]): Taint[] {
  const names = SGX_RESOURCE_NAMES.filter((n) => requestedSgxResources.includes(n));
  return [{ ...SGX_TAINT }, ...names.map(resourceTaint)];
}

/** Taints about a node's state (not-ready, unreachable, cordoned...), handled by Kubernetes itself. */
export function isNodeStateTaint(taint: Taint): boolean {
  return taint.key.startsWith('node.kubernetes.io/') || taint.key.startsWith('node.cloudprovider.kubernetes.io/');
}
