/**
 * Pure inverse of `decodeSgxCpuid`: builds the CPUID registers a CPU with a
 * given SGX shape reports. Used to write simulated host-root trees
 * (`/dev/cpu/0/cpuid`) for `kubetee up` and the tests; the round trip against
 * the real fixtures is tested.
 */
import { CPUID_LEAF_EXTENDED_FEATURES, CPUID_LEAF_MAX_BASIC, CPUID_LEAF_SGX, SGX_FIRST_EPC_SUBLEAF, type CpuidRegisters, type EpcSectionProperty } from './cpuid.js';

export interface SgxShape {
  /** Leaf 7 SGX bit (CPU implements SGX). */
  sgxSupported: boolean;
  flc: boolean;
  /** SGX enabled (BIOS): SGX1 leaf functions reported. */
  sgx1: boolean;
  sgx2: boolean;
  sections: { base: number; sizeBytes: number; property?: EpcSectionProperty }[];
}

const TWO_POW_32 = 2 ** 32;

function split52(value: number): { low: number; high: number } {
  return { low: (value % TWO_POW_32) & 0xfffff000, high: Math.floor(value / TWO_POW_32) & 0xfffff };
}

/** Returns registers keyed `leaf:subleaf` for leaves 0, 7 and 0x12 (SL0, SL1, sections, terminator). */
export function encodeSgxCpuid(shape: SgxShape): Map<string, CpuidRegisters> {
  const out = new Map<string, CpuidRegisters>();
  // "GenuineIntel", max basic leaf 0x1B (an Ice Lake value) so leaf 0x12 is in range.
  out.set(`${CPUID_LEAF_MAX_BASIC}:0`, { eax: 0x1b, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 });
  out.set(`${CPUID_LEAF_EXTENDED_FEATURES}:0`, {
    eax: 0,
    ebx: shape.sgxSupported ? 1 << 2 : 0,
    ecx: shape.flc ? 0x40000000 : 0,
    edx: 0,
  });
  const enabled = shape.sgxSupported && shape.sgx1;
  out.set(`${CPUID_LEAF_SGX}:0`, {
    eax: enabled ? 1 | (shape.sgx2 ? 2 : 0) : 0,
    ebx: 0,
    ecx: 0,
    edx: enabled ? 0x381f : 0, // max enclave 2^31 / 2^56, as cloud Ice Lake parts report
  });
  out.set(`${CPUID_LEAF_SGX}:1`, enabled ? { eax: 0xb6, ebx: 0, ecx: 0x2e7, edx: 0 } : { eax: 0, ebx: 0, ecx: 0, edx: 0 });
  const sections = enabled ? shape.sections : [];
  sections.forEach((s, i) => {
    const base = split52(s.base);
    const size = split52(s.sizeBytes);
    const prop = s.property === 'confidentiality-only' ? 2 : 1;
    out.set(`${CPUID_LEAF_SGX}:${SGX_FIRST_EPC_SUBLEAF + i}`, {
      eax: (base.low | 1) >>> 0,
      ebx: base.high,
      ecx: (size.low | prop) >>> 0,
      edx: size.high,
    });
  });
  out.set(`${CPUID_LEAF_SGX}:${SGX_FIRST_EPC_SUBLEAF + sections.length}`, { eax: 0, ebx: 0, ecx: 0, edx: 0 });
  return out;
}
