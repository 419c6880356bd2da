/**
 * Pure decoding of the CPUID leaves that describe SGX (Intel SDM vol. 2A,
 * CPUID leaf 07H and leaf 12H; kernel arch/x86/include/asm/sgx.h). No I/O:
 * callers pass a `CpuidReader` backed by /dev/cpu/N/cpuid, a dump file or a
 * test table.
 */

/** The four 32-bit output registers of one CPUID invocation (unsigned). */
export interface CpuidRegisters {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Returns the registers for (leaf, subleaf), or undefined when the source has no data for it. */
export type CpuidReader = (leaf: number, subleaf: number) => CpuidRegisters | undefined;

export const CPUID_LEAF_MAX_BASIC = 0x0;
export const CPUID_LEAF_EXTENDED_FEATURES = 0x7;
export const CPUID_LEAF_SGX = 0x12;
/** Leaf 0x12 subleaves from 2 upward enumerate EPC sections. */
export const SGX_FIRST_EPC_SUBLEAF = 2;
/** The kernel (SGX_MAX_EPC_SECTIONS) and NFD both stop after 8 sections; so do we, which also bounds the loop. */
export const SGX_MAX_EPC_SECTIONS = 8;

/** Section property nibble (leaf 0x12 subleaf n>=2, ECX[3:0]). */
export type EpcSectionProperty = 'confidentiality-integrity' | 'confidentiality-only' | 'reserved';

export interface EpcSection {
  /** Subleaf the section was enumerated at (2, 3, ...). */
  subleaf: number;
  /** Physical base address (bits 51:12); always < 2^52 so a Number is exact. */
  base: number;
  /** Size in bytes (bits 51:12); always < 2^52 so a Number is exact. */
  sizeBytes: number;
  property: EpcSectionProperty;
}

export interface SgxCpuid {
  /** Leaf 7 EBX bit 2: the CPU implements SGX (it may still be disabled by BIOS). */
  sgxSupported: boolean;
  /** Leaf 7 ECX bit 30: Flexible Launch Control (required by the in-kernel driver). */
  flc: boolean;
  /** Leaf 0x12 SL0 EAX bit 0: SGX1 leaf functions available (0 when BIOS disabled SGX). */
  sgx1: boolean;
  /** Leaf 0x12 SL0 EAX bit 1: SGX2 (EDMM) leaf functions. */
  sgx2: boolean;
  /** Leaf 0x12 SL0 EBX: supported MISCSELECT bits. */
  miscSelect: number;
  /** log2 of the maximum enclave size outside / inside 64-bit mode (EDX[7:0], EDX[15:8]); 0 when unknown. */
  maxEnclaveSizeLog2NonAmd64: number;
  maxEnclaveSizeLog2Amd64: number;
  epcSections: EpcSection[];
  /** Sum of all section sizes, exact. */
  epcBytes: number;
  /** True when leaf 0x12 was readable at all (max basic leaf >= 0x12 and data present). */
  leaf12Available: boolean;
}

const TWO_POW_32 = 2 ** 32;

/** Combines bits 31:12 of `low` with bits 19:0 of `high` into a 52-bit address/size. */
function combine52(low: number, high: number): number {
  return (high & 0xfffff) * TWO_POW_32 + ((low & 0xfffff000) >>> 0);
}

function bit(value: number, index: number): boolean {
  return ((value >>> index) & 1) === 1;
}

function decodeProperty(nibble: number): EpcSectionProperty {
  if (nibble === 1) return 'confidentiality-integrity';
  if (nibble === 2) return 'confidentiality-only';
  return 'reserved';
}

/**
 * Decodes SGX support, features and EPC sections.
 *
 * Leaf 0x12 is only consulted when leaf 0 says the CPU has it: on Intel parts,
 * asking for a leaf above the maximum returns the data of the highest basic leaf,
 * which would be misread as EPC. A source without leaf 0 (a transcribed dump)
 * is trusted as is.
 */
export function decodeSgxCpuid(read: CpuidReader): SgxCpuid {
  const leaf0 = read(CPUID_LEAF_MAX_BASIC, 0);
  const leaf7 = leaf0 === undefined || leaf0.eax >= CPUID_LEAF_EXTENDED_FEATURES ? read(CPUID_LEAF_EXTENDED_FEATURES, 0) : undefined;
  const sgxSupported = leaf7 !== undefined && bit(leaf7.ebx, 2);
  const flc = leaf7 !== undefined && bit(leaf7.ecx, 30);
  const leaf12Allowed = leaf0 === undefined || leaf0.eax >= CPUID_LEAF_SGX;
  const sl0 = leaf12Allowed ? read(CPUID_LEAF_SGX, 0) : undefined;
  const result: SgxCpuid = {
    sgxSupported,
    flc,
    sgx1: false,
    sgx2: false,
    miscSelect: 0,
    maxEnclaveSizeLog2NonAmd64: 0,
    maxEnclaveSizeLog2Amd64: 0,
    epcSections: [],
    epcBytes: 0,
    leaf12Available: sl0 !== undefined,
  };
  // Without the leaf 7 SGX bit, leaf 0x12 is reserved and its contents meaningless.
  if (!sgxSupported || sl0 === undefined) return result;
  result.sgx1 = bit(sl0.eax, 0);
  result.sgx2 = bit(sl0.eax, 1);
  result.miscSelect = sl0.ebx >>> 0;
  result.maxEnclaveSizeLog2NonAmd64 = sl0.edx & 0xff;
  result.maxEnclaveSizeLog2Amd64 = (sl0.edx >>> 8) & 0xff;
  for (let i = 0; i < SGX_MAX_EPC_SECTIONS; i++) {
    const subleaf = SGX_FIRST_EPC_SUBLEAF + i;
    const regs = read(CPUID_LEAF_SGX, subleaf);
    // A missing subleaf or type 0 ends the list; other types are reserved and skipped like the kernel does.
    if (regs === undefined) break;
    const type = regs.eax & 0xf;
    if (type === 0) break;
    if (type !== 1) continue;
    const sizeBytes = combine52(regs.ecx, regs.edx);
    if (sizeBytes === 0) continue;
    result.epcSections.push({
      subleaf,
      base: combine52(regs.eax, regs.ebx),
      sizeBytes,
      property: decodeProperty(regs.ecx & 0xf),
    });
  }
  result.epcBytes = result.epcSections.reduce((sum, s) => sum + s.sizeBytes, 0);
  return result;
}

/** `0x` + lower-case hex of a non-negative integer below 2^53. */
export function hexAddress(value: number): string {
  return `0x${value.toString(16)}`;
}
