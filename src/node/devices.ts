/** Finds the SGX device nodes under a host root and names the driver kind. */
import { statSync } from 'node:fs';
import { SGX_DEVICE_PATHS, underRoot } from './host-paths.js';

export type SgxDriverKind = 'in-kernel' | 'legacy' | 'none';

export interface SgxDevices {
  /** Absolute host paths (as seen on the node, without the host root) that exist. */
  present: string[];
  driver: SgxDriverKind;
}

/**
 * Presence is existence of the path (tests use regular files; a real node has
 * character devices or udev symlinks). /dev/sgx only counts as the early legacy
 * node when it is not a directory (newer systems use it as the alias folder).
 */
export function detectSgxDevices(hostRoot: string): SgxDevices {
  const kind = (p: string): 'dir' | 'node' | 'absent' => {
    try {
      return statSync(underRoot(hostRoot, p)).isDirectory() ? 'dir' : 'node';
    } catch {
      return 'absent';
    }
  };
  const present: string[] = [];
  for (const p of Object.values(SGX_DEVICE_PATHS)) {
    const k = kind(p);
    if (k === 'node') present.push(p);
  }
  const has = (p: string): boolean => present.includes(p);
  // The DCAP driver offers the same enclave API as the in-kernel one (FLC-based), so its aliases count as in-kernel.
  const driver: SgxDriverKind =
    has(SGX_DEVICE_PATHS.enclave) || has(SGX_DEVICE_PATHS.enclaveAlias)
      ? 'in-kernel'
      : has(SGX_DEVICE_PATHS.legacy) || has(SGX_DEVICE_PATHS.legacyEarly)
        ? 'legacy'
        : 'none';
  return { present, driver };
}
