import { RESOURCES, TRUST_LABEL } from '../../common/labels.js';
import { readContainerEpc } from '../epc.js';
import { describeContainer, listContainers } from '../pod.js';
import { deny, pass, type Finding, type ValidationRule } from './rule.js';

function hasResource(c: { resources?: { requests?: Record<string, unknown> | null; limits?: Record<string, unknown> | null } | null }, name: string): boolean {
  return Object.hasOwn(c.resources?.requests ?? {}, name) || Object.hasOwn(c.resources?.limits ?? {}, name);
}

/**
 * PROVISIONKEY access lets a container obtain platform provisioning secrets;
 * only a confidential pod's quoting container may have it (Intel meters it separately for this reason).
 */
export const provisionOutsideConfidentialRule: ValidationRule = {
  id: 'global.provision-outside-confidential',
  phase: 'validate',
  levels: ['sandboxed', 'standard'],
  summary: `deny ${RESOURCES.intel.provision} outside confidential pods`,
  validate(ctx, pod) {
    if (!ctx.policy.global.denyProvisionOutsideConfidential) return [pass('disabled by policy (global.denyProvisionOutsideConfidential: false)')];
    const out: Finding[] = listContainers(pod)
      .filter((r) => hasResource(r.container, RESOURCES.intel.provision))
      .map((r) =>
        deny(
          `requests ${RESOURCES.intel.provision} in a ${ctx.trust.level} pod; SGX provisioning is only for the quoting container of a confidential pod`,
          `remove ${RESOURCES.intel.provision}, or run the pod in a namespace labelled ${TRUST_LABEL}=confidential`,
          describeContainer(r),
        ),
      );
    return out.length ? out : [pass(`no container requests ${RESOURCES.intel.provision}`)];
  },
};

/**
 * EPC outside a confidential pod would start without SGX devices wired
 * (the Intel webhook failure mode of issues #1344/#1695), so it is refused.
 */
export const epcOutsideConfidentialRule: ValidationRule = {
  id: 'global.epc-outside-confidential',
  phase: 'validate',
  levels: ['sandboxed', 'standard'],
  summary: 'deny EPC requests (any supported resource name) outside confidential pods',
  validate(ctx, pod) {
    if (!ctx.policy.global.denyEpcOutsideConfidential) return [pass('disabled by policy (global.denyEpcOutsideConfidential: false)')];
    const out: Finding[] = [];
    for (const r of listContainers(pod)) {
      const epc = readContainerEpc(r.container);
      if (epc.names.length === 0) continue;
      out.push(
        deny(
          `requests SGX EPC (${epc.names.join(', ')}) in a ${ctx.trust.level} pod, where enclaves are not wired`,
          `run the pod in a namespace labelled ${TRUST_LABEL}=confidential (or annotate it kubetee.io/trust=confidential where the policy allows), or remove the EPC request`,
          describeContainer(r),
        ),
      );
    }
    return out.length ? out : [pass('no container requests EPC')];
  },
};
