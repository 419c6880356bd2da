import { posix } from 'node:path';
import { KATA_EPC_ANNOTATION, NODE_LABELS, RESOURCES, TRUST_LABEL } from '../../common/labels.js';
import { EPC_RESOURCE_NAMES, activeEpcResource, readContainerEpc } from '../epc.js';
import { describeContainer, listContainers, listEphemeralContainers } from '../pod.js';
import { formatBinaryBytes } from '../../common/quantity.js';
import { AESMD } from '../quote-setup.js';
import { AESM_ENV, formatTaint, requiredNodeExpressions, termHasExpression, untoleratedSgxTaints } from './confidential-mutations.js';
import { runtimeEpcFor } from '../runtime-epc.js';
import { totalPodEpcBytes } from './epc-totals.js';
import { tryParseQuantity, quantityEquals } from '../../common/quantity.js';
import { deny, pass, type Finding, type ValidationRule } from './rule.js';

const MUTATOR_FIX = `make sure the kubetee mutating webhook (MutatingWebhookConfiguration kubetee-admission) covers this namespace and is reachable, then recreate the pod`;

export const epcQuantityValidRule: ValidationRule = {
  id: 'confidential.epc-quantity-valid',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'EPC quantities must parse, be whole resource units, and agree when several names are used',
  validate(_ctx, pod) {
    const out: Finding[] = [];
    for (const r of listContainers(pod)) {
      const epc = readContainerEpc(r.container);
      if (epc.problems.length) out.push(deny(`has an unusable EPC request: ${epc.problems.join('; ')}`, 'write EPC as a whole number, e.g. sgx.intel.com/epc: 64Mi or alibabacloud.com/sgx_epc_MiB: 64', describeContainer(r)));
    }
    return out.length ? out : [pass('every EPC quantity is a whole number of units')];
  },
};

/** Extended resources cannot be overcommitted; a request without the equal limit is a broken manifest (Intel containers.go check). */
export const epcLimitsEqualRequestsRule: ValidationRule = {
  id: 'confidential.epc-limits-equal-requests',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'every EPC request needs a limit, and requests must equal limits',
  validate(_ctx, pod) {
    const out: Finding[] = [];
    for (const r of listContainers(pod)) {
      const epc = readContainerEpc(r.container);
      if (epc.names.length === 0 || epc.problems.length) continue;
      const { requests, limits } = epc.bytes;
      if (limits === undefined) {
        out.push(deny(`requests ${formatBinaryBytes(requests!)} of EPC without a limit`, `set resources.limits to the same EPC amount as resources.requests`, describeContainer(r)));
      } else if (requests !== undefined && requests !== limits) {
        out.push(deny(`EPC requests (${formatBinaryBytes(requests)}) differ from limits (${formatBinaryBytes(limits)})`, 'make EPC requests equal to limits (EPC cannot be overcommitted)', describeContainer(r)));
      }
    }
    return out.length ? out : [pass('EPC requests equal limits')];
  },
};

export const confidentialNoPrivilegedRule: ValidationRule = {
  id: 'confidential.no-privileged',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'deny privileged containers in confidential pods (they can read enclave-adjacent host state and every device)',
  validate(_ctx, pod) {
    const out: Finding[] = [...listContainers(pod), ...listEphemeralContainers(pod)]
      .filter((r) => r.container.securityContext?.privileged === true)
      .map((r) => deny('is privileged; enclave workloads get their SGX devices from the device plugin and must not run privileged', 'remove securityContext.privileged', describeContainer(r)));
    return out.length ? out : [pass('no privileged container')];
  },
};

/**
 * A debug container joins the pod's namespaces and sees its filesystem and
 * any secret already released to the enclave workload, so confidential pods
 * refuse them unless the policy allows it.
 */
export const noEphemeralContainersRule: ValidationRule = {
  id: 'confidential.no-ephemeral-containers',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'deny debug (ephemeral) containers in confidential pods (policy confidential.allowEphemeralContainers)',
  validate(ctx, pod) {
    if (ctx.policy.confidential.allowEphemeralContainers) return [pass('allowed by policy (confidential.allowEphemeralContainers: true)')];
    const out: Finding[] = listEphemeralContainers(pod).map((r) =>
      deny('would attach a debug container to a confidential pod, exposing its files and released secrets', 'debug a non-confidential copy of the workload instead (kubectl debug --copy-to), or allow it in the policy', describeContainer(r)),
    );
    return out.length ? out : [pass('no ephemeral container')];
  },
};

const SGX_DEVICE_PREFIXES = ['/dev/sgx', '/dev/isgx', '/dev/gsgx'];

/** True when mounting `hostPath` exposes an SGX device node (the path itself, or a directory above one). */
export function exposesSgxDevice(hostPath: string): boolean {
  const p = posix.normalize(`${hostPath}/`).replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/dev') return true;
  return SGX_DEVICE_PREFIXES.some((prefix) => p.startsWith(prefix));
}

export const noHostSgxDevicesRule: ValidationRule = {
  id: 'confidential.no-host-sgx-devices',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'deny hostPath mounts of /dev/sgx* (or /dev, /): SGX devices come only from the device plugin, metered and per container',
  validate(_ctx, pod) {
    const out: Finding[] = [];
    for (const v of pod.spec.volumes ?? []) {
      if (!v.hostPath || !exposesSgxDevice(v.hostPath.path)) continue;
      const users = listContainers(pod).filter((r) => (r.container.volumeMounts ?? []).some((m) => m.name === v.name));
      out.push(
        deny(
          `volume "${v.name}" mounts host path ${v.hostPath.path}, which exposes the SGX device nodes outside the device plugin`,
          `remove volume "${v.name}" and request EPC instead (${EPC_RESOURCE_NAMES[0]}); the device plugin adds the devices`,
          users.length ? users.map(describeContainer).join(', ') : undefined,
        ),
      );
    }
    return out.length ? out : [pass('no hostPath exposes SGX devices')];
  },
};

export const requiresEpcRule: ValidationRule = {
  id: 'confidential.requires-epc',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'a confidential pod must request EPC in at least one container (policy confidential.requireEpc)',
  validate(ctx, pod) {
    if (!ctx.policy.confidential.requireEpc) return [pass('disabled by policy (confidential.requireEpc: false)')];
    if (listContainers(pod).some((r) => readContainerEpc(r.container).names.length > 0)) return [pass('pod requests EPC')];
    const first = pod.spec.containers[0]!;
    return [
      deny(
        `pod is confidential (${ctx.trust.source === 'pod annotation' ? 'by annotation' : `namespace ${TRUST_LABEL}=${ctx.trust.namespaceLevel}`}) but no container requests EPC, so nothing would run in an enclave`,
        `add EPC to the enclave container, e.g. resources.limits["${activeEpcResource(ctx.profile)}"]: ${ctx.profile === 'intel' ? '64Mi' : '64'}, or run the pod in a non-confidential namespace`,
        describeContainer({ kind: 'container', container: first }),
      ),
    ];
  },
};

export const quoteProviderKnownRule: ValidationRule = {
  id: 'confidential.quote-provider-known',
  phase: 'validate',
  levels: ['confidential'],
  summary: 'the quote-provider annotation must be "aesmd" or name a container of the pod that requests EPC; an aesmd sidecar must request EPC',
  validate(ctx, pod) {
    if (ctx.quote.mode === 'aesmd' && ctx.quote.aesmSidecar) {
      // AESM runs the quoting and provisioning enclaves itself, so the sidecar needs EPC.
      const sidecar = listContainers(pod).find((r) => r.container.name === AESMD && r.kind !== 'initContainer')!;
      if (readContainerEpc(sidecar.container).names.length === 0) {
        return [deny('is the AESM sidecar but requests no EPC, so AESM cannot run its quoting enclaves', `add EPC to it, e.g. resources.limits["${activeEpcResource(ctx.profile)}"]: ${ctx.profile === 'intel' ? '1Mi' : '1'}`, describeContainer(sidecar))];
      }
      return [pass(`quotes through the ${AESMD} sidecar`)];
    }
    if (ctx.quote.mode !== 'in-process') return [pass(ctx.quote.mode === 'aesmd' ? "quotes through the node's AESM" : 'pod does not quote')];
    const name = ctx.quote.quotingContainer!;
    const ref = listContainers(pod).find((r) => r.container.name === name && r.kind !== 'initContainer');
    if (!ref) {
      return [deny(`annotation ${ctx.quote.annotation}=${JSON.stringify(name)} names no container of this pod`, `set ${ctx.quote.annotation} to "${AESMD}" or to the name of the container that produces quotes`)];
    }
    if (readContainerEpc(ref.container).names.length === 0) {
      return [deny('quotes in-process (DCAP) but requests no EPC, so the quoting enclave cannot start', `add EPC to it, e.g. resources.limits["${activeEpcResource(ctx.profile)}"]`, describeContainer(ref))];
    }
    return [pass(`container "${name}" quotes in-process`)];
  },
};

export const provisionOnlyQuotingContainerRule: ValidationRule = {
  id: 'confidential.provision-only-quoting-container',
  phase: 'validate',
  levels: ['confidential'],
  summary: `only the quoting container may request ${RESOURCES.intel.provision}`,
  validate(ctx, pod) {
    const out: Finding[] = [];
    for (const r of listContainers(pod)) {
      const res = r.container.resources;
      const has = Object.hasOwn(res?.requests ?? {}, RESOURCES.intel.provision) || Object.hasOwn(res?.limits ?? {}, RESOURCES.intel.provision);
      if (!has || (r.container.name === ctx.quote.quotingContainer && r.kind !== 'initContainer')) continue;
      out.push(
        deny(
          `requests ${RESOURCES.intel.provision} but is not the pod's quoting container${ctx.quote.quotingContainer ? ` ("${ctx.quote.quotingContainer}")` : ''}`,
          `remove ${RESOURCES.intel.provision}; if this container produces quotes, annotate the pod kubetee.io/quote-provider=${r.container.name}`,
          describeContainer(r),
        ),
      );
    }
    return out.length ? out : [pass('provisioning is limited to the quoting container')];
  },
};

/**
 * The final pod must carry the complete wiring. This catches a pod that
 * skipped the mutating webhook (or lost wiring to a later mutator), so a
 * confidential pod never starts unwired.
 */
export const wiringCompleteRule: ValidationRule = {
  id: 'confidential.wiring-complete',
  phase: 'validate',
  levels: ['confidential'],
  summary: "EPC containers use the active profile's resources plus its enclave slot (and provision slot on intel), the AESM socket when quoting through AESM, SGX node affinity and the SGX tolerations (kubetee's taint and one per requested SGX resource)",
  validate(ctx, pod) {
    const active = activeEpcResource(ctx.profile);
    const out: Finding[] = [];
    const epcRefs = listContainers(pod).filter((r) => readContainerEpc(r.container).names.length > 0);
    if (epcRefs.length === 0) return [pass('no container requests EPC')];
    for (const r of epcRefs) {
      const c = r.container;
      const missing: string[] = [];
      const foreign = readContainerEpc(c).names.filter((n) => n !== active);
      if (foreign.length) missing.push(`uses ${foreign.join(', ')} instead of ${active}`);
      const limits = c.resources?.limits ?? {};
      const slot = ctx.profile === 'intel' ? RESOURCES.intel.enclave : RESOURCES.alibaba.enclave;
      if (!Object.hasOwn(limits, slot)) missing.push(`has no ${slot} slot`);
      if (ctx.profile === 'intel' && c.name === ctx.quote.quotingContainer && r.kind !== 'initContainer' && !Object.hasOwn(limits, RESOURCES.intel.provision)) missing.push(`quotes but has no ${RESOURCES.intel.provision} slot`);
      if (ctx.quote.mode === 'aesmd') {
        if (!(c.volumeMounts ?? []).some((m) => m.mountPath === ctx.policy.confidential.aesmSocketMountPath)) missing.push(`does not mount the AESM socket at ${ctx.policy.confidential.aesmSocketMountPath}`);
        if (!(c.env ?? []).some((e) => e.name === AESM_ENV.name && e.value === AESM_ENV.value)) missing.push(`lacks ${AESM_ENV.name}=1`);
      }
      if (missing.length) out.push(deny(`is not wired for SGX: ${missing.join('; ')}`, MUTATOR_FIX, describeContainer(r)));
    }
    const spec = pod.spec as Record<string, any>;
    const terms: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] = spec['affinity']?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const exprs = requiredNodeExpressions(ctx);
    if (terms.length === 0 || !terms.every((t) => exprs.every((e) => termHasExpression(t, e)))) {
      out.push(deny(`pod does not require nodes labelled ${exprs.map((e) => `${e.key}=true`).join(' and ')}`, MUTATOR_FIX));
    }
    const untolerated = untoleratedSgxTaints(pod);
    if (untolerated.length) out.push(deny(`pod does not tolerate the SGX node taint${untolerated.length > 1 ? 's' : ''} ${untolerated.map(formatTaint).join(', ')}`, MUTATOR_FIX));
    return out.length ? out : [pass(`wired for ${ctx.profile} (${NODE_LABELS.sgx} nodes)`)];
  },
};

/**
 * An enclave in a sandbox VM needs the VM to have EPC. Where the runtime
 * takes it from the Kata annotation, the final pod must carry the right size
 * (a later mutator may have dropped it); where the runtime cannot carry EPC
 * (gVisor, Firecracker, runV) or kubetee does not know the class, the pod is
 * denied: it would be admitted and scheduled, and its enclave fail at start.
 */
export const runtimeCarriesEpcRule: ValidationRule = {
  id: 'confidential.runtime-carries-epc',
  phase: 'validate',
  levels: ['confidential'],
  summary: `a confidential pod requesting EPC runs on the host kernel or in a RuntimeClass that can carry EPC (Kata: with the ${KATA_EPC_ANNOTATION} annotation of the pod's total EPC); gVisor, Firecracker, runV and classes the policy does not declare are denied`,
  validate(ctx, pod) {
    const total = totalPodEpcBytes(pod);
    if (total === 0n) return [pass('no container requests EPC')];
    const runtime = runtimeEpcFor(ctx.policy, pod.spec.runtimeClassName);
    const rc = `RuntimeClass "${pod.spec.runtimeClassName ?? ''}"`;
    switch (runtime.kind) {
      case 'host':
        return [pass(runtime.runtimeClass ? `${rc} runs on the host kernel (hostRuntimeClasses)` : 'pod runs on the host kernel')];
      case 'annotation': {
        const want = formatBinaryBytes(total);
        const have = pod.metadata?.annotations?.[KATA_EPC_ANNOTATION];
        const q = tryParseQuantity(have);
        if (q && quantityEquals(q, tryParseQuantity(want)!)) return [pass(`${rc} VM gets ${want} of EPC (${KATA_EPC_ANNOTATION})`)];
        return [
          deny(
            `${rc} is a Kata VM that takes its EPC from the ${KATA_EPC_ANNOTATION} annotation, but the pod ${have === undefined ? 'lacks it' : `has ${KATA_EPC_ANNOTATION}=${JSON.stringify(have)}`} instead of ${want}, so its enclave would start without the EPC it requests`,
            MUTATOR_FIX,
          ),
        ];
      }
      case 'unsupported':
        return [
          deny(
            `${rc} cannot give an enclave EPC: ${runtime.reason} (${runtime.source}); the pod requests ${formatBinaryBytes(total)} of EPC and its enclave would fail at start`,
            `run the pod on the host kernel (remove spec.runtimeClassName) or in a Kata RuntimeClass that carries EPC (e.g. kata-qemu), or run this workload outside the confidential level`,
          ),
        ];
      case 'unknown':
        return [
          deny(
            `kubetee does not know how ${rc} gives an enclave EPC (the trust policy lists it neither in sandboxRuntimeClasses nor in hostRuntimeClasses, and it is not a runtime kubetee knows), so it cannot make sure the enclave gets the ${formatBinaryBytes(total)} it requests`,
            `declare the class in the install values: existingRuntimeClasses as {name: ${runtime.runtimeClass}, epc: annotation} for a Kata VM (or epc: unsupported), or hostRuntimeClasses when it runs pods on the host kernel (policy: sandboxRuntimeClasses / hostRuntimeClasses)`,
          ),
        ];
    }
  },
};
