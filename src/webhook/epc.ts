import { RESOURCES, type ResourceProfile } from '../common/labels.js';
import type { Container } from './pod.js';
import { MAX_INT64, MIB, ceilInteger, formatBinaryBytes, isInteger, multiply, tryParseQuantity, quantityEquals, type Quantity } from '../common/quantity.js';

/**
 * Every EPC resource name a manifest may use, with the size of one unit:
 * Intel counts bytes, Alibaba and Azure count MiB.
 */
export const EPC_RESOURCE_UNITS: Readonly<Record<string, bigint>> = Object.freeze({
  [RESOURCES.intel.epc]: 1n,
  [RESOURCES.alibaba.epc]: MIB,
  [RESOURCES.azure.epc]: MIB,
});
export const EPC_RESOURCE_NAMES: readonly string[] = Object.freeze(Object.keys(EPC_RESOURCE_UNITS));

/** The EPC resource name the active profile's device plugin advertises. */
export function activeEpcResource(profile: ResourceProfile): string {
  return profile === 'intel' ? RESOURCES.intel.epc : RESOURCES.alibaba.epc;
}

export type EpcSide = 'requests' | 'limits';

// Kubernetes quantities are int64; anything larger is a typo, not a size.
const MAX_EPC_BYTES = MAX_INT64;

/** What one container asks for, read without judging it. */
export interface ContainerEpc {
  /** EPC resource names present in requests or limits. */
  readonly names: string[];
  /** Total bytes per side (undefined when the side names no EPC). */
  readonly bytes: Record<EpcSide, bigint | undefined>;
  /** Problems that make the request unusable (unparseable, fractional, conflicting). */
  readonly problems: string[];
}

function sideBytes(map: Record<string, string | number> | null | undefined, side: EpcSide, names: Set<string>, problems: string[]): bigint | undefined {
  if (!map) return undefined;
  let bytes: bigint | undefined;
  for (const name of EPC_RESOURCE_NAMES) {
    if (!Object.hasOwn(map, name)) continue;
    names.add(name);
    const q: Quantity | undefined = tryParseQuantity(map[name]);
    if (!q) {
      problems.push(`${side}["${name}"] = ${JSON.stringify(map[name])} is not a Kubernetes quantity`);
      continue;
    }
    if (!isInteger(q)) {
      problems.push(`${side}["${name}"] = ${JSON.stringify(map[name])} is not a whole number of ${EPC_RESOURCE_UNITS[name] === 1n ? 'bytes' : 'MiB'} (extended resources are integers)`);
      continue;
    }
    const b = multiply(q, EPC_RESOURCE_UNITS[name]!).num;
    if (b > MAX_EPC_BYTES) {
      problems.push(`${side}["${name}"] = ${JSON.stringify(map[name])} is larger than any EPC (over 2^63 bytes)`);
      continue;
    }
    if (bytes !== undefined && bytes !== b) {
      problems.push(`${side} names EPC twice with different sizes (${formatBinaryBytes(bytes)} vs ${formatBinaryBytes(b)} from "${name}")`);
      continue;
    }
    bytes = b;
  }
  return bytes;
}

/** Reads a container's EPC requests and limits under every supported name. */
export function readContainerEpc(container: Container): ContainerEpc {
  const names = new Set<string>();
  const problems: string[] = [];
  const requests = sideBytes(container.resources?.requests, 'requests', names, problems);
  const limits = sideBytes(container.resources?.limits, 'limits', names, problems);
  return { names: [...names], bytes: { requests, limits }, problems };
}

export function requestsEpc(container: Container): boolean {
  return readContainerEpc(container).names.length > 0;
}

/**
 * The quantity to write under the active profile's name for `bytes` of EPC.
 * Intel: bytes, printed with a binary suffix when exact ("64Mi").
 * Alibaba: whole MiB; a size that is not a whole MiB is rounded up, never down
 * (an enclave sized for N bytes must get at least N bytes).
 */
export function epcQuantityForProfile(bytes: bigint, profile: ResourceProfile): { value: string; roundedUp: boolean } {
  if (profile === 'intel') return { value: formatBinaryBytes(bytes), roundedUp: false };
  const mib = ceilInteger({ num: bytes, den: MIB });
  return { value: mib.toString(), roundedUp: mib * MIB !== bytes };
}

/** True when `value` (under the active name) already equals what we would write. */
export function epcValueMatches(value: unknown, bytes: bigint, profile: ResourceProfile): boolean {
  const q = tryParseQuantity(value);
  if (!q) return false;
  const want = tryParseQuantity(epcQuantityForProfile(bytes, profile).value);
  return want !== undefined && quantityEquals(q, want);
}
