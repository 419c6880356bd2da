/**
 * Reads CPUID through the Linux cpuid driver (`/dev/cpu/N/cpuid`): the file
 * position selects the input (low 32 bits = leaf, high 32 bits = subleaf) and
 * each 16-byte read returns EAX, EBX, ECX, EDX little-endian
 * (arch/x86/kernel/cpuid.c). Offsets stay below 2^53 for the subleaves we use.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import type { CpuidRegisters } from '../sgx/cpuid.js';

export interface CpuidSnapshot {
  /** Registers keyed `leaf:subleaf`. */
  registers: Map<string, CpuidRegisters>;
}

/** The (leaf, subleaf) pairs SGX decoding needs. */
const WANTED: [number, number][] = [[0, 0], [7, 0], [0x12, 0], [0x12, 1], ...Array.from({ length: 9 }, (_, i): [number, number] => [0x12, 2 + i])];

/**
 * Reads the SGX-relevant leaves once; returns undefined when the device is
 * absent or unreadable (module not loaded, not root), which callers treat as
 * "no CPUID source" rather than an error.
 */
export function readCpuidDevice(path: string): CpuidSnapshot | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const registers = new Map<string, CpuidRegisters>();
    const buf = Buffer.alloc(16);
    for (const [leaf, subleaf] of WANTED) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, 16, leaf + subleaf * 2 ** 32);
      } catch {
        return registers.size > 0 ? { registers } : undefined;
      }
      if (n !== 16) continue;
      registers.set(`${leaf}:${subleaf}`, { eax: buf.readUInt32LE(0), ebx: buf.readUInt32LE(4), ecx: buf.readUInt32LE(8), edx: buf.readUInt32LE(12) });
    }
    return registers.size > 0 ? { registers } : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Encodes registers the way the cpuid driver returns them (for writing simulated host trees). */
export function cpuidDeviceRecord(r: CpuidRegisters): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeUInt32LE(r.eax >>> 0, 0);
  buf.writeUInt32LE(r.ebx >>> 0, 4);
  buf.writeUInt32LE(r.ecx >>> 0, 8);
  buf.writeUInt32LE(r.edx >>> 0, 12);
  return buf;
}
