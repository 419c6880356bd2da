import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuinfoFlags, assignEpcSectionsToNuma, type EpcSection } from '../../src/sgx/index.js';

test('cpuinfo flags: sgx and sgx_lc from the first flags line', () => {
  const text = 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme sgx avx sgx_lc rdpid\n\nprocessor\t: 1\nflags\t\t: fpu\n';
  assert.deepEqual(parseCpuinfoFlags(text), { flagsPresent: true, sgx: true, sgxLc: true });
  assert.deepEqual(parseCpuinfoFlags('flags : fpu sgx\n'), { flagsPresent: true, sgx: true, sgxLc: false });
  // "sgx_lc" alone must not count as "sgx".
  assert.deepEqual(parseCpuinfoFlags('flags : fpu sgx_lc\n'), { flagsPresent: true, sgx: false, sgxLc: true });
  assert.deepEqual(parseCpuinfoFlags('Features: fp asimd\n'), { flagsPresent: false, sgx: false, sgxLc: false });
});

const sec = (base: number, sizeBytes: number, subleaf: number): EpcSection => ({ base, sizeBytes, subleaf, property: 'confidentiality-only' });

test('EPC sections map to NUMA nodes when sysfs byte counts match exactly', () => {
  const s = [sec(0x80_00c0_0000, 2_134_900_736, 3), sec(0x40_00c0_0000, 2_126_512_128, 2)];
  assert.deepEqual(assignEpcSectionsToNuma(s, [{ node: 1, bytes: 2_134_900_736 }, { node: 0, bytes: 2_126_512_128 }]), [1, 0]);
  // Node without EPC is skipped.
  assert.deepEqual(assignEpcSectionsToNuma(s, [{ node: 0, bytes: 2_126_512_128 }, { node: 1, bytes: 0 }, { node: 2, bytes: 2_134_900_736 }]), [2, 0]);
});

test('EPC sections stay unassigned (null) when the numbers do not add up', () => {
  const s = [sec(0x1000, 0x2000, 2), sec(0x10000, 0x3000, 3)];
  assert.deepEqual(assignEpcSectionsToNuma(s, [{ node: 0, bytes: 0x5000 }]), [0, 0]);
  assert.deepEqual(assignEpcSectionsToNuma(s, [{ node: 0, bytes: 0x2500 }, { node: 1, bytes: 0x2500 }]), [null, null]);
  assert.deepEqual(assignEpcSectionsToNuma(s, [{ node: 0, bytes: 0x2000 }]), [null, null]);
  assert.deepEqual(assignEpcSectionsToNuma(s, []), [null, null]);
  assert.deepEqual(assignEpcSectionsToNuma([], [{ node: 0, bytes: 1 }]), []);
});
