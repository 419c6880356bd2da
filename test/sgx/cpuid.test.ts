import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decodeSgxCpuid,
  dumpReader,
  parseCpuidDump,
  selectCpuidMachine,
  formatCpuidLine,
  hexAddress,
  encodeSgxCpuid,
  type CpuidRegisters,
} from '../../src/sgx/index.js';
import { fixturePath } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;

interface Expected {
  name: string;
  file: string;
  machine?: string;
  sgx: boolean;
  flc: boolean;
  sgx1: boolean;
  sgx2: boolean;
  sections: { base: string; size: number; property: string }[];
  epcBytes: number;
  maxLog2?: [number, number];
}

// Values from the shared fixtures' cpuid/README.md ("What each machine implies").
const CASES: Expected[] = [
  {
    name: 'Core i7-1065G7 Ice Lake-U: SGX1+2, FLC, 188 MiB',
    file: 'instlatx64_00706E5_core-i7-1065G7_icelake-u_cpu0.txt',
    sgx: true, flc: true, sgx1: true, sgx2: true,
    sections: [{ base: '0x30180000', size: 0x0bc00000, property: 'confidentiality-integrity' }],
    epcBytes: 197_132_288,
    maxLog2: [31, 47],
  },
  {
    name: 'Core i3-10110U Comet Lake-U: SGX1, no FLC, 94 MiB',
    file: 'instlatx64_00806EC_core-i3-10110U_cometlake-u_cpu0.txt',
    sgx: true, flc: false, sgx1: true, sgx2: false,
    sections: [{ base: '0x70200000', size: 0x05e00000, property: 'confidentiality-integrity' }],
    epcBytes: 98_566_144,
  },
  {
    name: 'Pentium 4415U Kaby Lake-U: SGX1, no FLC, 93.5 MiB',
    file: 'instlatx64_00806E9_pentium-4415U_kabylake-u_cpu0.txt',
    sgx: true, flc: false, sgx1: true, sgx2: false,
    sections: [{ base: '0x70200000', size: 0x05d80000, property: 'confidentiality-integrity' }],
    epcBytes: 98_041_856,
  },
  {
    name: 'Xeon Platinum 8351N with SGX off in BIOS: capable, EPC 0',
    file: 'instlatx64_00606A6_xeon-platinum-8351N_icelake-sp_sgx-off_cpu0.txt',
    sgx: true, flc: true, sgx1: false, sgx2: false,
    sections: [],
    epcBytes: 0,
  },
  {
    name: 'Azure DC2ds_v3: 8 GiB above 4 GiB',
    file: 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt', machine: 'Azure',
    sgx: true, flc: true, sgx1: true, sgx2: true,
    sections: [{ base: '0x4c0000000', size: 0x2_0000_0000, property: 'confidentiality-integrity' }],
    epcBytes: 8_589_934_592,
  },
  {
    name: 'Alibaba g7t: 23,808 MiB, confidentiality-only',
    file: 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt', machine: 'Alibaba',
    sgx: true, flc: true, sgx1: true, sgx2: true,
    sections: [{ base: '0x640000000', size: 0x5_d000_0000, property: 'confidentiality-only' }],
    epcBytes: 24_964_497_408,
  },
  {
    name: 'PhoenixNAP two sections (two NUMA nodes)',
    file: 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt', machine: 'PhoenixNAP',
    sgx: true, flc: true, sgx1: true, sgx2: true,
    sections: [
      { base: '0x4000c00000', size: 2_126_512_128, property: 'confidentiality-only' },
      { base: '0x8000c00000', size: 2_134_900_736, property: 'confidentiality-only' },
    ],
    epcBytes: 4_261_412_864,
  },
  {
    name: 'Xeon Gold 5315Y: 65,144 MiB, size needs EDX high bits',
    file: 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt', machine: 'Gold 5315Y',
    sgx: true, flc: true, sgx1: true, sgx2: true,
    sections: [{ base: '0x7018000000', size: 68_308_434_944, property: 'confidentiality-only' }],
    epcBytes: 68_308_434_944,
  },
  {
    name: 'HPE DL20 E-2276G: SGX1 only with FLC, 93.5 MiB',
    file: 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt', machine: 'E-2276G',
    sgx: true, flc: true, sgx1: true, sgx2: false,
    sections: [{ base: '0x70200000', size: 0x05d80000, property: 'confidentiality-integrity' }],
    epcBytes: 98_041_856,
  },
];

for (const c of CASES) {
  test(`fixture decodes: ${c.name}`, (t) => {
    const path = fixturePath(t, 'cpuid', c.file);
    if (!path) return;
    const machine = selectCpuidMachine(parseCpuidDump(readFileSync(path, 'utf8'), c.file), c.machine);
    const info = decodeSgxCpuid(dumpReader(machine));
    assert.equal(info.sgxSupported, c.sgx);
    assert.equal(info.flc, c.flc);
    assert.equal(info.sgx1, c.sgx1);
    assert.equal(info.sgx2, c.sgx2);
    assert.deepEqual(
      info.epcSections.map((s) => ({ base: hexAddress(s.base), size: s.sizeBytes, property: s.property })),
      c.sections,
    );
    assert.equal(info.epcBytes, c.epcBytes);
    if (c.maxLog2) assert.deepEqual([info.maxEnclaveSizeLog2NonAmd64, info.maxEnclaveSizeLog2Amd64], c.maxLog2);
  });
}

test('MiB figures from the fixture README', (t) => {
  const path = fixturePath(t, 'cpuid', 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt');
  if (!path) return;
  const machines = parseCpuidDump(readFileSync(path, 'utf8'));
  assert.equal(machines.length, 5);
  const mib = machines.map((m) => decodeSgxCpuid(dumpReader(m)).epcBytes / MiB);
  assert.deepEqual(mib, [8192, 23808, 4064, 65144, 93.5]);
});

test('a multi-machine dump without a selection is refused with CPUID_DUMP_AMBIGUOUS', (t) => {
  const path = fixturePath(t, 'cpuid', 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt');
  if (!path) return;
  const machines = parseCpuidDump(readFileSync(path, 'utf8'));
  assert.throws(() => selectCpuidMachine(machines, undefined), { code: 'CPUID_DUMP_AMBIGUOUS' });
  assert.throws(() => selectCpuidMachine(machines, 'no such machine'), { code: 'CPUID_DUMP_AMBIGUOUS' });
  assert.throws(() => selectCpuidMachine(machines, 'Xeon'), { code: 'CPUID_DUMP_AMBIGUOUS' }); // matches 3
});

test('malformed and empty dumps get typed errors with the line number', () => {
  assert.throws(() => parseCpuidDump('hello\n'), { code: 'CPUID_DUMP_EMPTY' });
  assert.throws(() => parseCpuidDump(''), { code: 'CPUID_DUMP_EMPTY' });
  assert.throws(
    () => parseCpuidDump('CPUID 00000007: 00000000-F2BF27EF-40405F4E\n', 'x.txt'),
    (err: Error & { code?: string }) => err.code === 'CPUID_DUMP_MALFORMED' && /x\.txt line 1/.test(err.message),
  );
  assert.throws(() => parseCpuidDump('x\nCPUID 0000007: 00000000-00000000-00000000-00000000\n'), { code: 'CPUID_DUMP_MALFORMED' });
});

test('dump lines round-trip through formatCpuidLine, subleaf 0 without [SL]', () => {
  const r: CpuidRegisters = { eax: 0x00c00001, ebx: 0x80, ecx: 0x7f400002, edx: 0 };
  const line = formatCpuidLine(0x12, 3, r);
  assert.equal(line, 'CPUID 00000012: 00C00001-00000080-7F400002-00000000 [SL 03]');
  const [m] = parseCpuidDump(`${line}\nCPUID 00000007: 00000000-00000004-40000000-00000000 [feature text]\n`);
  assert.deepEqual(m!.registers.get('18:3'), r);
  assert.deepEqual(m!.registers.get('7:0'), { eax: 0, ebx: 4, ecx: 0x40000000, edx: 0 });
});

function table(entries: Record<string, [number, number, number, number]>) {
  return (leaf: number, subleaf: number): CpuidRegisters | undefined => {
    const e = entries[`${leaf}:${subleaf}`];
    return e && { eax: e[0], ebx: e[1], ecx: e[2], edx: e[3] };
  };
}

test('leaf 0x12 is not read when leaf 0 says the CPU stops below it', () => {
  // Intel returns the highest basic leaf for out-of-range requests; that must not look like EPC.
  const info = decodeSgxCpuid(table({
    '0:0': [0x0d, 0, 0, 0],
    '7:0': [0, 4, 0x40000000, 0],
    '18:0': [1, 0, 0, 0x241f],
    '18:2': [0x70200001, 0, 0x05d80001, 0],
  }));
  assert.equal(info.sgxSupported, true);
  assert.equal(info.leaf12Available, false);
  assert.equal(info.epcBytes, 0);
});

test('no SGX bit in leaf 7 means leaf 0x12 is ignored; reserved section types are skipped; the loop is bounded', () => {
  const none = decodeSgxCpuid(table({ '7:0': [0, 0, 0, 0], '18:0': [3, 0, 0, 0], '18:2': [0x1001, 0, 0x1001, 0] }));
  assert.equal(none.sgx1, false);
  assert.equal(none.epcBytes, 0);
  // Every subleaf reports a section: only SGX_MAX_EPC_SECTIONS are taken.
  const endless = decodeSgxCpuid((leaf, sub) => {
    if (leaf === 7) return { eax: 0, ebx: 4, ecx: 0, edx: 0 };
    if (leaf === 0x12 && sub === 0) return { eax: 1, ebx: 0, ecx: 0, edx: 0 };
    if (leaf === 0x12 && sub === 2) return { eax: 0x2, ebx: 0, ecx: 0x1001, edx: 0 }; // type 2: reserved
    if (leaf === 0x12) return { eax: 0x1001, ebx: 0, ecx: 0x100001, edx: 0 };
    return undefined;
  });
  assert.equal(endless.epcSections.length, 7);
  assert.equal(endless.epcSections[0]!.subleaf, 3);
  assert.equal(endless.epcBytes, 7 * 0x100000);
});

test('encodeSgxCpuid is the inverse of decodeSgxCpuid for every fixture machine', (t) => {
  for (const c of CASES) {
    const path = fixturePath(t, 'cpuid', c.file);
    if (!path) return;
    const d = decodeSgxCpuid(dumpReader(selectCpuidMachine(parseCpuidDump(readFileSync(path, 'utf8')), c.machine)));
    const regs = encodeSgxCpuid({ sgxSupported: d.sgxSupported, flc: d.flc, sgx1: d.sgx1, sgx2: d.sgx2, sections: d.epcSections });
    const back = decodeSgxCpuid((leaf, sub) => regs.get(`${leaf}:${sub}`));
    assert.deepEqual(
      { ...back, miscSelect: 0, maxEnclaveSizeLog2Amd64: 0, maxEnclaveSizeLog2NonAmd64: 0 },
      { ...d, miscSelect: 0, maxEnclaveSizeLog2Amd64: 0, maxEnclaveSizeLog2NonAmd64: 0, leaf12Available: true },
      c.name,
    );
  }
});
