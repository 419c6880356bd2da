/**
 * Pure: which NUMA node each EPC section belongs to. CPUID gives sections
 * (base, size) but no node; sysfs gives EPC bytes per node but no sections.
 * The kernel attaches a section to the node whose memory contains it, and
 * multi-socket parts enumerate one section per socket in address order, so
 * walking nodes in id order and consuming sections in base order until each
 * node's byte count is matched exactly reproduces the kernel's mapping. When
 * the numbers do not add up we say "unknown" (null) rather than guess.
 */
import type { EpcSection } from './cpuid.js';

export interface NumaEpc {
  node: number;
  bytes: number;
}

/** Returns the NUMA node of each section (same order as `sections`), or null for all when it cannot be matched. */
export function assignEpcSectionsToNuma(sections: readonly EpcSection[], perNode: readonly NumaEpc[]): (number | null)[] {
  const unknown = sections.map(() => null);
  const nodes = perNode.filter((n) => n.bytes > 0).sort((a, b) => a.node - b.node);
  if (nodes.length === 0 || sections.length === 0) return unknown;
  const order = sections.map((s, i) => ({ s, i })).sort((a, b) => a.s.base - b.s.base);
  const result: (number | null)[] = [...unknown];
  let next = 0;
  for (const node of nodes) {
    let sum = 0;
    while (sum < node.bytes && next < order.length) {
      const item = order[next++]!;
      sum += item.s.sizeBytes;
      result[item.i] = node.node;
    }
    if (sum !== node.bytes) return unknown;
  }
  return next === order.length ? result : unknown;
}
