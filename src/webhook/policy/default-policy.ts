import type { ResourceProfile } from '../../common/labels.js';
import { defaultSandboxRuntimes } from '../../common/sandbox-runtimes.js';
import { validatePolicy } from './load-policy.js';
import { POLICY_API_VERSION, POLICY_KIND, type AdmissionPolicy } from './schema.js';

/**
 * The policy used when no --policy is given: standard by default, the sandbox
 * RuntimeClasses a default install of the default profile creates (runv,
 * kata-qemu, gvisor), every safety switch on. Equal to an empty document with
 * only apiVersion and kind.
 */
export const DEFAULT_POLICY: AdmissionPolicy = validatePolicy({ apiVersion: POLICY_API_VERSION, kind: POLICY_KIND }, 'default policy');

/**
 * The built-in policy for a profile: the sandbox RuntimeClasses a default
 * install of that profile creates (what `webhook serve --profile P` uses
 * without --policy, so it never injects a class the install did not create).
 */
export function defaultPolicyFor(profile: ResourceProfile): AdmissionPolicy {
  const classes = defaultSandboxRuntimes(profile).map((r) => r.name);
  return validatePolicy({ apiVersion: POLICY_API_VERSION, kind: POLICY_KIND, sandboxRuntimeClasses: classes }, `default policy (${profile} profile)`);
}
