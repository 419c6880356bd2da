/**
 * Pure: which EPC limit each container's cgroup should carry, and where that
 * cgroup lives. Used only where the kernel has the `sgx_epc` misc cgroup.
 *
 * Limits come from what kubelet actually allocated (alibaba `devices` mode:
 * device count x 1 MiB, from pod-resources) or from the container's limit
 * (`sgx.intel.com/epc` bytes, or `alibabacloud.com/sgx_epc_MiB` x 1 MiB in
 * `node-capacity` mode; extended resources require requests == limits, so
 * the limit is the amount the scheduler counted).
 */
import { RESOURCES, type EpcMode, type ResourceProfile } from '../common/labels.js';
import type { ContainerEpc } from './pod-resources.js';
import { QuantityError, parseWholeQuantity } from '../common/quantity.js';

export interface PodInfo {
  uid: string;
  namespace: string;
  name: string;
  qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort' | string;
  containers: { name: string; containerId: string | null; limits: Record<string, string> }[];
}

export interface EpcLimit {
  ref: string;
  podUid: string;
  qosClass: string;
  containerId: string;
  bytes: number;
}

/**
 * An integral Kubernetes quantity as a byte count ("64Mi", "1048576", "1G",
 * "1.5Gi"); null when it is not a whole byte count that fits a safe integer.
 * The grammar is the shared one (src/common/quantity.ts).
 */
export function parseByteQuantity(q: string): number | null {
  let bytes: bigint;
  try {
    bytes = parseWholeQuantity(q, 'EPC limit');
  } catch (err) {
    if (err instanceof QuantityError) return null;
    throw err;
  }
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : null;
}

/** "containerd://abc" → "abc". */
export function stripRuntimePrefix(id: string): string {
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

const MiB = 2 ** 20;

export function desiredEpcLimits(pods: PodInfo[], allocations: ContainerEpc[], profile: ResourceProfile, epcMode: Exclude<EpcMode, 'auto'> = profile === 'intel' ? 'node-capacity' : 'devices'): EpcLimit[] {
  const allocated = new Map(allocations.map((a) => [`${a.namespace}/${a.pod}/${a.container}`, a.epcBytes]));
  const out: EpcLimit[] = [];
  for (const pod of pods) {
    for (const c of pod.containers) {
      if (!c.containerId) continue; // not started yet: its cgroup does not exist
      const ref = `${pod.namespace}/${pod.name}/${c.name}`;
      let bytes: number | null = null;
      if (profile === 'alibaba' && epcMode === 'devices') bytes = allocated.get(ref) ?? null;
      else if (profile === 'alibaba') {
        // node-capacity mode: the MiB count the scheduler fitted (requests == limits for extended resources).
        const q = c.limits[RESOURCES.alibaba.epc];
        const mib = q === undefined ? null : parseByteQuantity(q);
        bytes = mib === null || !Number.isSafeInteger(mib * MiB) ? null : mib * MiB;
      } else {
        const q = c.limits[RESOURCES.intel.epc];
        bytes = q === undefined ? null : parseByteQuantity(q);
      }
      if (bytes === null || bytes <= 0) continue;
      out.push({ ref, podUid: pod.uid, qosClass: pod.qosClass, containerId: stripRuntimePrefix(c.containerId), bytes });
    }
  }
  return out;
}

/**
 * Container cgroup paths (relative to the cgroup v2 root) for the kubelet
 * cgroup drivers: systemd (`kubepods.slice/kubepods-burstable.slice/
 * kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope`) and cgroupfs
 * (`kubepods/burstable/pod<uid>/<id>`). Guaranteed pods sit directly under
 * kubepods.
 */
export function containerCgroupCandidates(limit: Pick<EpcLimit, 'podUid' | 'qosClass' | 'containerId'>): string[] {
  const qos = limit.qosClass === 'Burstable' ? 'burstable' : limit.qosClass === 'BestEffort' ? 'besteffort' : null;
  const uidUnderscore = limit.podUid.replace(/-/g, '_');
  const podSlice = qos ? `kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uidUnderscore}.slice` : `kubepods.slice/kubepods-pod${uidUnderscore}.slice`;
  const podDir = qos ? `kubepods/${qos}/pod${limit.podUid}` : `kubepods/pod${limit.podUid}`;
  return [
    ...['cri-containerd', 'crio', 'docker'].map((p) => `${podSlice}/${p}-${limit.containerId}.scope`),
    `${podDir}/${limit.containerId}`,
  ];
}
