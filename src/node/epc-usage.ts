/**
 * EPC use per NUMA node, from what the kubelet knows: the EPC devices it can
 * allocate (each with its NUMA node) and the device IDs containers hold
 * (pod-resources accounting). Pure: the dashboard's node view (`kubetee up`)
 * and the real-kubelet e2e tier compute it the same way. One device = 1 MiB
 * (alibaba profile).
 */
const MiB = 1024 * 1024;

export interface EpcSectionUsage {
  numaNode: number;
  capacityBytes: number;
  allocatedBytes: number;
}

export interface EpcUsage {
  capacityBytes: number;
  allocatedBytes: number;
  /** One entry per NUMA node that has EPC devices, ascending. */
  sections: EpcSectionUsage[];
}

export function epcUsage(devices: Iterable<{ id: string; numaNode: number }>, allocations: readonly { deviceIds: readonly string[] }[]): EpcUsage {
  const numaOf = new Map<string, number>();
  for (const d of devices) numaOf.set(d.id, d.numaNode);
  const capacity = new Map<number, number>();
  for (const n of numaOf.values()) capacity.set(n, (capacity.get(n) ?? 0) + MiB);
  const allocated = new Map<number, number>();
  // A device ID counts once even if two records name it (the kubelet never hands one out twice).
  const held = new Set(allocations.flatMap((a) => a.deviceIds));
  for (const id of held) {
    const n = numaOf.get(id) ?? 0;
    allocated.set(n, (allocated.get(n) ?? 0) + MiB);
  }
  return {
    capacityBytes: [...capacity.values()].reduce((a, b) => a + b, 0),
    allocatedBytes: held.size * MiB,
    sections: [...capacity.entries()].sort(([a], [b]) => a - b).map(([numaNode, bytes]) => ({ numaNode, capacityBytes: bytes, allocatedBytes: allocated.get(numaNode) ?? 0 })),
  };
}
