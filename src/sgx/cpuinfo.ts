/**
 * Pure parsing of /proc/cpuinfo. The kernel prints `sgx` (CPU has SGX and the
 * kernel did not disable it, e.g. "SGX disabled by BIOS" clears it) and
 * `sgx_lc` (Flexible Launch Control); its synthetic sgx1/sgx2 bits are hidden.
 */
export interface CpuinfoSgxFlags {
  /** False when the text has no `flags` line at all (not an x86 cpuinfo). */
  flagsPresent: boolean;
  sgx: boolean;
  sgxLc: boolean;
}

export function parseCpuinfoFlags(text: string): CpuinfoSgxFlags {
  // The first processor's flags stand for all: the kernel keeps SGX flags uniform across CPUs.
  const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
  if (line === undefined) return { flagsPresent: false, sgx: false, sgxLc: false };
  const flags = new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
  return { flagsPresent: true, sgx: flags.has('sgx'), sgxLc: flags.has('sgx_lc') };
}
