/**
 * Pure preferred allocation by NUMA locality: keep a container's devices on
 * one NUMA node when they fit there, otherwise use as few nodes as possible.
 * Generic: it only looks at `numaNodes` of each device.
 */
import type { DeviceInfo, PreferredRequest } from './api.js';

const NO_NODE = -1;

function nodeOf(devices: ReadonlyMap<string, DeviceInfo>, id: string): number {
  return devices.get(id)?.numaNodes?.[0] ?? NO_NODE;
}

/**
 * Picks `size` IDs from `available`, always including `mustInclude`.
 * Single-node fit: among nodes that can hold the whole request (together with
 * the must-include devices, which must already be on that node), take the one
 * with the fewest free devices (best fit keeps big nodes whole for big
 * requests); ties go to the lower node id. Otherwise fill from the nodes with
 * most free devices first. IDs within a node keep the order of `available`.
 */
export function preferByNuma(request: PreferredRequest, devices: ReadonlyMap<string, DeviceInfo>): string[] {
  const size = Math.max(0, Math.floor(request.size));
  const must = [...new Set(request.mustInclude)];
  if (must.length >= size) return must;
  const mustSet = new Set(must);
  const byNode = new Map<number, string[]>();
  for (const id of request.available) {
    if (mustSet.has(id)) continue;
    const n = nodeOf(devices, id);
    const list = byNode.get(n) ?? [];
    list.push(id);
    byNode.set(n, list);
  }
  const need = size - must.length;
  const mustNodes = new Set(must.map((id) => nodeOf(devices, id)));
  const candidates = [...byNode.entries()]
    .filter(([node, free]) => free.length >= need && (mustNodes.size === 0 || (mustNodes.size === 1 && mustNodes.has(node))))
    .sort((a, b) => a[1].length - b[1].length || a[0] - b[0]);
  if (candidates.length > 0) return [...must, ...candidates[0]![1].slice(0, need)];
  // Spill: nodes of the must-include devices first, then the fullest nodes.
  const order = [...byNode.entries()].sort((a, b) => Number(mustNodes.has(b[0])) - Number(mustNodes.has(a[0])) || b[1].length - a[1].length || a[0] - b[0]);
  const picked = [...must];
  for (const [, free] of order) {
    for (const id of free) {
      if (picked.length >= size) break;
      picked.push(id);
    }
  }
  return picked;
}
