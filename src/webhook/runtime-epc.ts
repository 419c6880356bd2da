import { knownRuntimeByName } from '../common/sandbox-runtimes.js';
import type { AdmissionPolicy } from './policy/schema.js';

/**
 * How a confidential pod's enclave gets its EPC under the pod's RuntimeClass.
 * The policy's declarations win; a class it does not declare is looked up in
 * the built-in catalogue by name (the EPC facts only: whether it counts as a
 * sandbox is the policy's call). Anything else is `unknown`, and a pod that
 * requests EPC there is denied: kubetee never guesses, so an enclave is never
 * admitted into a VM that would start it without EPC.
 */
export type RuntimeEpc =
  | { readonly kind: 'host'; readonly runtimeClass?: string }
  | { readonly kind: 'annotation'; readonly runtimeClass: string; readonly source: RuntimeSource }
  | { readonly kind: 'unsupported'; readonly runtimeClass: string; readonly source: RuntimeSource; readonly reason: string }
  | { readonly kind: 'unknown'; readonly runtimeClass: string };

export type RuntimeSource = 'trust policy' | 'built-in runtime list';

export function runtimeEpcFor(policy: AdmissionPolicy, runtimeClassName: string | null | undefined): RuntimeEpc {
  if (!runtimeClassName) return { kind: 'host' };
  if (policy.hostRuntimeClasses.includes(runtimeClassName)) return { kind: 'host', runtimeClass: runtimeClassName };
  const declared = policy.sandboxRuntimeClasses.find((c) => c.name === runtimeClassName);
  const known = knownRuntimeByName(runtimeClassName);
  if (declared) {
    if (declared.epc === 'annotation') return { kind: 'annotation', runtimeClass: runtimeClassName, source: 'trust policy' };
    const reason = known && known.epc === 'unsupported' ? known.epcReason : 'the trust policy declares that it cannot give enclaves EPC (epc: unsupported)';
    return { kind: 'unsupported', runtimeClass: runtimeClassName, source: 'trust policy', reason };
  }
  if (known) {
    return known.epc === 'annotation'
      ? { kind: 'annotation', runtimeClass: runtimeClassName, source: 'built-in runtime list' }
      : { kind: 'unsupported', runtimeClass: runtimeClassName, source: 'built-in runtime list', reason: known.epcReason };
  }
  return { kind: 'unknown', runtimeClass: runtimeClassName };
}
