import { KATA_EPC_ANNOTATION, NODE_LABELS, RESOURCES, SGX_TAINT } from '../../common/labels.js';
import { SGX_RESOURCE_NAMES, confidentialTaints, tolerates, tolerationFor, type Taint, type Toleration } from '../../common/sgx-tolerations.js';
import { runtimeEpcFor } from '../runtime-epc.js';
import { EPC_RESOURCE_NAMES, activeEpcResource, epcQuantityForProfile, epcValueMatches, readContainerEpc, type EpcSide } from '../epc.js';
import { describeContainer, listContainers, type Container, type ContainerRef, type Pod } from '../pod.js';
import { formatBinaryBytes, tryParseQuantity, quantityEquals } from '../../common/quantity.js';
import { AESMD } from '../quote-setup.js';
import { totalPodEpcBytes } from './epc-totals.js';
import { deny, mutated, pass, type Finding, type MutationRule, type RuleContext } from './rule.js';

/** Name of the volume carrying the AESM socket directory (Intel's name, so existing pods match). */
export const AESM_VOLUME = 'aesmd-socket';
/** Tells the Intel quote library to use AESM (out-of-process quoting). */
export const AESM_ENV = { name: 'SGX_AESM_ADDR', value: '1' } as const;

function epcContainers(pod: Pod): ContainerRef[] {
  return listContainers(pod).filter((r) => readContainerEpc(r.container).names.length > 0);
}

function resourceMap(c: Container, side: EpcSide): Record<string, string | number> {
  c.resources ??= {};
  return (c.resources[side] ??= {});
}

/**
 * Sets `name: value` in limits, and in requests when the container lists
 * requests (Kubernetes defaults a missing request to the limit); true when changed.
 */
function ensureCount(c: Container, name: string, value: string): boolean {
  let changed = false;
  const want = tryParseQuantity(value)!;
  for (const side of ['requests', 'limits'] as const) {
    if (side === 'requests' && !c.resources?.requests) continue;
    const map = resourceMap(c, side);
    const have = tryParseQuantity(map[name]);
    if (have && quantityEquals(have, want)) continue;
    map[name] = value;
    changed = true;
  }
  return changed;
}

/**
 * Rewrites every EPC request into the active profile's resource, in its
 * units (Intel bytes, Alibaba MiB), so manifests written for any of the
 * three device plugins schedule here.
 */
export const translateEpcRule: MutationRule = {
  id: 'confidential.translate-epc',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `translate ${EPC_RESOURCE_NAMES.join(', ')} requests/limits into the active profile's EPC resource, exactly (Intel: bytes; Alibaba: MiB, rounded up only when not whole)`,
  mutate(ctx, draft) {
    const active = activeEpcResource(ctx.profile);
    const out: Finding[] = [];
    for (const r of listContainers(draft)) {
      const epc = readContainerEpc(r.container);
      const who = describeContainer(r);
      if (epc.names.length === 0) continue;
      if (epc.problems.length > 0) {
        out.push(deny(`has an unusable EPC request: ${epc.problems.join('; ')}`, 'write EPC as a whole number, e.g. sgx.intel.com/epc: 64Mi or alibabacloud.com/sgx_epc_MiB: 64, identical in requests and limits', who));
        continue;
      }
      const notes: string[] = [];
      for (const side of ['requests', 'limits'] as const) {
        const bytes = epc.bytes[side];
        if (bytes === undefined) continue;
        const map = resourceMap(r.container, side);
        for (const name of EPC_RESOURCE_NAMES) {
          if (name !== active && Object.hasOwn(map, name)) {
            notes.push(`${side}: ${name}=${String(map[name])} → ${active}=${epcQuantityForProfile(bytes, ctx.profile).value}`);
            delete map[name];
          }
        }
        if (!epcValueMatches(map[active], bytes, ctx.profile)) {
          const q = epcQuantityForProfile(bytes, ctx.profile);
          if (!notes.some((n) => n.startsWith(`${side}:`))) notes.push(`${side}: ${active}=${q.value}`);
          if (q.roundedUp) notes.push(`${side}: ${formatBinaryBytes(bytes)} is not a whole MiB, rounded up to ${q.value} MiB`);
          map[active] = q.value;
        }
      }
      // The alibaba plugin gives every EPC container both device nodes; Intel's slot
      // resources do not exist on those nodes and would leave the pod Pending.
      if (ctx.profile === 'alibaba') {
        for (const side of ['requests', 'limits'] as const) {
          const map = r.container.resources?.[side];
          if (!map) continue;
          for (const slot of [RESOURCES.intel.enclave, RESOURCES.intel.provision]) {
            if (Object.hasOwn(map, slot)) {
              delete map[slot];
              notes.push(`${side}: removed ${slot} (the alibaba profile has no such resource; its plugin provides the device nodes)`);
            }
          }
        }
      }
      out.push(notes.length ? mutated(notes.join('; '), who) : pass(`already requests ${active}`, who));
    }
    return out.length ? out : [pass('no container requests EPC')];
  },
};

/**
 * EPC alone injects no device node where EPC is node capacity (intel; alibaba on
 * large-EPC nodes, docs/node-agent.md): every enclave container needs one enclave
 * slot (Intel issue #1344). On alibaba nodes that list EPC per MiB the slot is
 * harmless (kubelet de-duplicates the device nodes).
 */
export const enclaveSlotRule: MutationRule = {
  id: 'confidential.enclave-slot',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `add the profile's enclave slot (${RESOURCES.intel.enclave} or ${RESOURCES.alibaba.enclave}): 1 to every container that requests EPC`,
  mutate(ctx, draft) {
    const slot = ctx.profile === 'intel' ? RESOURCES.intel.enclave : RESOURCES.alibaba.enclave;
    const out = epcContainers(draft).map((r) =>
      ensureCount(r.container, slot, '1') ? mutated(`added ${slot}: 1`, describeContainer(r)) : pass(`already has ${slot}: 1`, describeContainer(r)),
    );
    return out.length ? out : [pass('no container requests EPC')];
  },
};

/**
 * AESM-based quoting: every enclave container sees the AESM socket directory
 * and SGX_AESM_ADDR=1. The socket comes from an `aesmd` sidecar (shared
 * memory-backed emptyDir) or from the node's AESM (hostPath; the node must
 * have it, see confidential.sgx-node-affinity).
 */
export const aesmSocketRule: MutationRule = {
  id: 'confidential.aesm-socket',
  phase: 'mutate',
  levels: ['confidential'],
  summary: 'quote-provider aesmd: mount the AESM socket directory and set SGX_AESM_ADDR=1 in every EPC container',
  mutate(ctx, draft) {
    if (ctx.quote.mode !== 'aesmd') return [pass('pod does not quote through AESM (no quote-provider: aesmd annotation)')];
    const targets = epcContainers(draft);
    if (targets.length === 0) return [pass('no container requests EPC')];
    const out: Finding[] = [];
    draft.spec.volumes ??= [];
    if (!draft.spec.volumes.some((v) => v.name === AESM_VOLUME)) {
      draft.spec.volumes.push(
        ctx.quote.aesmSidecar
          ? { name: AESM_VOLUME, emptyDir: { medium: 'Memory' } }
          : { name: AESM_VOLUME, hostPath: { path: ctx.policy.confidential.aesmSocketHostPath, type: 'Directory' } },
      );
      out.push(mutated(ctx.quote.aesmSidecar ? `added volume ${AESM_VOLUME} (memory emptyDir shared with the ${AESMD} sidecar)` : `added volume ${AESM_VOLUME} (hostPath ${ctx.policy.confidential.aesmSocketHostPath})`));
    }
    const mountPath = ctx.policy.confidential.aesmSocketMountPath;
    for (const r of targets) {
      const c = r.container;
      const changes: string[] = [];
      c.volumeMounts ??= [];
      if (!c.volumeMounts.some((m) => m.mountPath === mountPath)) {
        c.volumeMounts.push({ name: AESM_VOLUME, mountPath });
        changes.push(`mounted ${AESM_VOLUME} at ${mountPath}`);
      }
      c.env ??= [];
      const env = c.env.find((e) => e.name === AESM_ENV.name);
      if (!env) {
        c.env.push({ ...AESM_ENV });
        changes.push(`set ${AESM_ENV.name}=1`);
      } else if (env.value !== AESM_ENV.value || env['valueFrom'] !== undefined) {
        delete env['valueFrom'];
        env.value = AESM_ENV.value;
        changes.push(`replaced ${AESM_ENV.name} with 1`);
      }
      out.push(changes.length ? mutated(changes.join('; '), describeContainer(r)) : pass('already wired to AESM', describeContainer(r)));
    }
    return out;
  },
};

/** Only the quoting container opens /dev/sgx_provision (PROVISIONKEY); nobody else gets it. */
export const provisionForQuotingContainerRule: MutationRule = {
  id: 'confidential.provision-quoting-container',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `intel profile: add ${RESOURCES.intel.provision}: 1 to the quoting container only (quote-provider = its name, or the aesmd sidecar)`,
  mutate(ctx, draft) {
    const name = ctx.quote.quotingContainer;
    if (name === undefined) return [pass(ctx.quote.mode === 'aesmd' ? 'AESM runs on the node; no container in this pod quotes' : 'pod names no quoting container')];
    if (ctx.profile !== 'intel') return [pass(`${ctx.profile} profile: the device plugin hands /dev/sgx_provision to EPC containers itself`)];
    const ref = listContainers(draft).find((r) => r.container.name === name && r.kind !== 'initContainer');
    if (!ref) return [pass(`quoting container "${name}" is not in the pod (confidential.quote-provider-known denies it)`)];
    if (readContainerEpc(ref.container).names.length === 0) return [pass('requests no EPC, so it cannot quote (confidential.quote-provider-known denies it)', describeContainer(ref))];
    return ensureCount(ref.container, RESOURCES.intel.provision, '1')
      ? [mutated(`added ${RESOURCES.intel.provision}: 1 (it quotes)`, describeContainer(ref))]
      : [pass(`already has ${RESOURCES.intel.provision}: 1`, describeContainer(ref))];
  },
};

/** The node expressions a confidential pod needs: SGX, and AESM when it uses the node's AESM. */
export function requiredNodeExpressions(ctx: RuleContext): { key: string; operator: 'In'; values: string[] }[] {
  const exprs: { key: string; operator: 'In'; values: string[] }[] = [{ key: NODE_LABELS.sgx, operator: 'In', values: ['true'] }];
  if (ctx.quote.mode === 'aesmd' && !ctx.quote.aesmSidecar) exprs.push({ key: NODE_LABELS.aesm, operator: 'In', values: ['true'] });
  return exprs;
}

interface NodeSelectorTerm {
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
  [k: string]: unknown;
}

/** The required node-affinity terms of a pod, created when absent. */
function requiredTerms(pod: Pod, create: boolean): NodeSelectorTerm[] | undefined {
  const spec = pod.spec as Record<string, any>;
  if (!create) return spec['affinity']?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  spec['affinity'] ??= {};
  spec['affinity'].nodeAffinity ??= {};
  spec['affinity'].nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ??= { nodeSelectorTerms: [] };
  const req = spec['affinity'].nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  req.nodeSelectorTerms ??= [];
  if (req.nodeSelectorTerms.length === 0) req.nodeSelectorTerms.push({ matchExpressions: [] });
  return req.nodeSelectorTerms;
}

export function termHasExpression(term: NodeSelectorTerm, expr: { key: string; values: string[] }): boolean {
  return (term.matchExpressions ?? []).some((e) => e.key === expr.key && e.operator === 'In' && e.values?.length === 1 && e.values[0] === expr.values[0]);
}

/** Terms are ORed, so the SGX expression goes into every term; an existing user term keeps its meaning on SGX nodes. */
export const sgxNodeAffinityRule: MutationRule = {
  id: 'confidential.sgx-node-affinity',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `require nodes labelled ${NODE_LABELS.sgx}=true (and ${NODE_LABELS.aesm}=true when quoting through the node's AESM)`,
  mutate(ctx, draft) {
    if (epcContainers(draft).length === 0) return [pass('no container requests EPC')];
    const exprs = requiredNodeExpressions(ctx);
    const existing = requiredTerms(draft, false);
    if (existing && existing.length > 0 && existing.every((t) => exprs.every((e) => termHasExpression(t, e)))) return [pass('node affinity already requires SGX nodes')];
    const added: string[] = [];
    for (const term of requiredTerms(draft, true)!) {
      term.matchExpressions ??= [];
      for (const e of exprs) {
        if (termHasExpression(term, e)) continue;
        term.matchExpressions.push({ key: e.key, operator: 'In', values: [...e.values] });
        if (!added.includes(e.key)) added.push(e.key);
      }
    }
    return [mutated(`required node affinity ${added.map((k) => `${k}=true`).join(', ')}`)];
  },
};

/** Kubernetes toleration matching, for kubetee's own SGX taint. */
export function toleratesSgxTaint(t: Toleration): boolean {
  return tolerates(t, SGX_TAINT);
}

/** SGX extended resources any container of the pod requests (requests or limits). */
export function requestedSgxResources(pod: Pod): string[] {
  const names = new Set<string>();
  for (const r of listContainers(pod)) {
    for (const side of ['requests', 'limits'] as const) {
      for (const name of Object.keys(r.container.resources?.[side] ?? {})) if (SGX_RESOURCE_NAMES.includes(name)) names.add(name);
    }
  }
  return [...names];
}

/** The taints a confidential pod must tolerate (kubetee's and one per requested SGX resource) that its tolerations do not cover. */
export function untoleratedSgxTaints(pod: Pod): Taint[] {
  const list = ((pod.spec as Record<string, unknown>)['tolerations'] ?? []) as Toleration[];
  return confidentialTaints(requestedSgxResources(pod)).filter((taint) => !list.some((t) => tolerates(t, taint)));
}

export const formatTaint = (t: Taint): string => `${t.key}${t.value === undefined ? '' : `=${t.value}`}:${t.effect}`;

/**
 * SGX nodes carry kubetee's taint or one named after the resource they offer
 * (ExtendedResourceToleration convention); tolerate both, for every SGX
 * resource the pod requests (the provision slot only where it is requested).
 */
export const sgxTolerationRule: MutationRule = {
  id: 'confidential.sgx-toleration',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `tolerate the SGX node taint ${SGX_TAINT.key}=${SGX_TAINT.value}:${SGX_TAINT.effect} and <resource>:NoSchedule for every SGX resource the pod requests (EPC, and the enclave/provision slots where requested)`,
  mutate(_ctx, draft) {
    if (epcContainers(draft).length === 0) return [pass('no container requests EPC')];
    const missing = untoleratedSgxTaints(draft);
    if (missing.length === 0) return [pass('already tolerates the SGX taints')];
    const list = ((draft.spec as Record<string, unknown>)['tolerations'] ??= []) as Toleration[];
    for (const taint of missing) list.push(tolerationFor(taint));
    return [mutated(`added toleration${missing.length > 1 ? 's' : ''} ${missing.map(formatTaint).join(', ')}`)];
  },
};

/**
 * Kata sizes the guest VM's EPC section from this pod annotation (kata-containers
 * PRs #484, #3619): without it the enclave starts in a VM without EPC. Set for
 * every runtime whose EPC comes that way (runtime-epc.ts); runtimes that cannot
 * carry EPC are denied by confidential.runtime-carries-epc.
 */
export const kataEpcAnnotationRule: MutationRule = {
  id: 'confidential.kata-epc-annotation',
  phase: 'mutate',
  levels: ['confidential'],
  summary: `pods whose RuntimeClass is a Kata VM: annotate ${KATA_EPC_ANNOTATION} with the pod's total EPC so the VM gets it`,
  mutate(ctx, draft) {
    const runtime = runtimeEpcFor(ctx.policy, draft.spec.runtimeClassName);
    if (runtime.kind !== 'annotation') return [pass(runtime.kind === 'host' ? 'pod runs on the host kernel' : `runtimeClassName "${runtime.runtimeClass}" is not sized by the ${KATA_EPC_ANNOTATION} annotation`)];
    const total = totalPodEpcBytes(draft);
    if (total === 0n) return [pass('no container requests EPC')];
    const value = formatBinaryBytes(total);
    const annotations = ((draft.metadata ??= {}).annotations ??= {});
    const have = tryParseQuantity(annotations[KATA_EPC_ANNOTATION]);
    if (have && quantityEquals(have, tryParseQuantity(value)!)) return [pass(`already annotated ${KATA_EPC_ANNOTATION}=${annotations[KATA_EPC_ANNOTATION]}`)];
    annotations[KATA_EPC_ANNOTATION] = value;
    return [mutated(`annotated ${KATA_EPC_ANNOTATION}=${value} for the ${runtime.runtimeClass} VM`)];
  },
};
