/**
 * The `sgx_epc` misc cgroup (kernel series "Add Cgroup support for SGX EPC
 * memory"; not in mainline as of this writing). Where the root cgroup's
 * misc.capacity lists it, per-container limits go into `misc.max`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_PATHS, underRoot } from './host-paths.js';

export interface MiscCgroupEpc {
  available: boolean;
  /** Capacity the kernel reports for sgx_epc (bytes), when available. */
  capacityBytes: number | null;
}

/** Pure: finds the `sgx_epc <n>` line in misc.capacity/misc.max text. */
export function parseMiscEpc(text: string): number | null {
  for (const line of text.split('\n')) {
    const m = /^sgx_epc\s+(\d+|max)\s*$/.exec(line.trim());
    if (m) return m[1] === 'max' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  }
  return null;
}

export function detectMiscCgroupEpc(hostRoot: string): MiscCgroupEpc {
  try {
    const capacity = parseMiscEpc(readFileSync(underRoot(hostRoot, HOST_PATHS.miscCapacity), 'utf8'));
    return { available: capacity !== null, capacityBytes: capacity };
  } catch {
    return { available: false, capacityBytes: null };
  }
}

/** Writes `sgx_epc <bytes>` into a cgroup's misc.max (cgroup v2 takes one key per write). */
export function writeEpcLimit(cgroupDir: string, bytes: number): void {
  writeFileSync(join(cgroupDir, 'misc.max'), `sgx_epc ${bytes}\n`);
}
