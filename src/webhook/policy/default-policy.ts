import { validatePolicy } from './load-policy.js';
import { POLICY_API_VERSION, POLICY_KIND, type AdmissionPolicy } from './schema.js';

/**
 * The policy used when no --policy is given: standard by default, sandboxes
 * runv/kata/kata-qemu/runsc, every safety switch on. Equal to an empty
 * document with only apiVersion and kind.
 */
export const DEFAULT_POLICY: AdmissionPolicy = validatePolicy({ apiVersion: POLICY_API_VERSION, kind: POLICY_KIND }, 'default policy');
