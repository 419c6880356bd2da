/**
 * Builds a simulated host root (directory tree) for one SGX machine shape, so
 * the probe, the device plugin and the node agent run unchanged against it:
 * tests use it, and `kubetee up` uses it for its simulated SGX node.
 *
 * What it writes under `root`:
 * - `dev/cpu/0/cpuid`: a sparse file laid out like the cpuid driver (16-byte
 *   records at offset leaf + subleaf * 2^32), so the real reader is exercised;
 * - `proc/cpuinfo` with the `sgx` / `sgx_lc` flags the kernel would print;
 * - `sys/devices/system/node/node<N>/x86/sgx_total_bytes` per NUMA node;
 * - device node placeholders (regular files; presence = existence);
 * - optionally `sys/fs/cgroup/misc.capacity` with an `sgx_epc` line;
 * - `var/run/aesmd/` (the AESM socket directory; start an AESM stand-in there).
 */
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeSgxCpuid, type SgxShape } from '../../sgx/cpuid-encode.js';
import { decodeSgxCpuid } from '../../sgx/cpuid.js';
import { dumpReader, parseCpuidDump, selectCpuidMachine } from '../../sgx/cpuid-dump.js';
import type { CpuidRegisters } from '../../sgx/cpuid.js';
import { cpuidDeviceRecord } from '../cpuid-device.js';
import { HOST_PATHS, SGX_DEVICE_PATHS, DEFAULT_AESM_SOCKET_DIR } from '../host-paths.js';

const MiB = 1024 * 1024;

/**
 * Machine shapes from the CPUID fixtures (fixtures/cpuid/README.md): the
 * decoded facts, re-encoded on demand, so no fixture file is needed at run time.
 */
export const SIMULATED_MACHINES = {
  /** Core i7-1065G7 (Ice Lake-U): SGX1+2, FLC, one 188 MiB section. */
  'icelake-client': { sgxSupported: true, flc: true, sgx1: true, sgx2: true, sections: [{ base: 0x30180000, sizeBytes: 188 * MiB }] },
  /** Xeon E-2276G (Coffee Lake server): SGX1 with FLC, 93.5 MiB. */
  'coffeelake-server': { sgxSupported: true, flc: true, sgx1: true, sgx2: false, sections: [{ base: 0x70200000, sizeBytes: 98_041_856 }] },
  /** Pentium 4415U (Kaby Lake-U): SGX1 without FLC (legacy isgx driver only), 93.5 MiB. */
  'kabylake-no-flc': { sgxSupported: true, flc: false, sgx1: true, sgx2: false, sections: [{ base: 0x70200000, sizeBytes: 98_041_856 }] },
  /** Azure DC2ds_v3 VM: 8 GiB above 4 GiB. */
  'azure-dc2ds-v3': { sgxSupported: true, flc: true, sgx1: true, sgx2: true, sections: [{ base: 0x4_c000_0000, sizeBytes: 8 * 1024 * MiB }] },
  /** PhoenixNAP Ice Lake-SP: two sockets, two sections (2,028 + 2,036 MiB). */
  'icelake-sp-2socket': {
    sgxSupported: true, flc: true, sgx1: true, sgx2: true,
    sections: [
      { base: 0x40_00c0_0000, sizeBytes: 2_126_512_128, property: 'confidentiality-only' },
      { base: 0x80_00c0_0000, sizeBytes: 2_134_900_736, property: 'confidentiality-only' },
    ],
  },
  /**
   * Two-socket Xeon at today's maximum: 512 GiB of EPC per socket, 1 TiB in all
   * (too many MiB for one ListAndWatch message; the large-EPC design case).
   */
  'xeon-2socket-1tib': {
    sgxSupported: true, flc: true, sgx1: true, sgx2: true,
    sections: [
      { base: 0x100_0000_0000, sizeBytes: 512 * 1024 * MiB },
      { base: 0x300_0000_0000, sizeBytes: 512 * 1024 * MiB },
    ],
  },
  /** Xeon Platinum 8351N with SGX disabled in BIOS: capable, EPC 0. */
  'icelake-sp-sgx-off': { sgxSupported: true, flc: true, sgx1: false, sgx2: false, sections: [] },
  /** A CPU without SGX. */
  'no-sgx': { sgxSupported: false, flc: false, sgx1: false, sgx2: false, sections: [] },
} as const satisfies Record<string, SgxShape>;

export type SimulatedMachine = keyof typeof SIMULATED_MACHINES;

/** Which device nodes exist. */
export type HostTreeDriver =
  /** /dev/sgx_enclave, /dev/sgx_provision (Linux 5.11+). */
  | 'in-kernel'
  /** in-kernel names plus the /dev/sgx/{enclave,provision} udev aliases. */
  | 'in-kernel-with-aliases'
  /** only /dev/sgx/enclave and /dev/sgx/provision (out-of-tree DCAP driver). */
  | 'dcap-alias'
  /** /dev/isgx (out-of-tree SGX1 driver). */
  | 'legacy'
  | 'none';

export interface HostTreeSpec {
  /** A preset, an explicit shape, or a CPUID dump (fixture text). */
  machine: SimulatedMachine | SgxShape | { dumpText: string; select?: string; name?: string };
  driver: HostTreeDriver;
  /** Write sysfs sgx_total_bytes (default: true unless driver is legacy/none, as old kernels lack it). */
  sysfs?: boolean;
  /** Write /dev/cpu/0/cpuid (default true). */
  cpuidDevice?: boolean;
  /** Write misc.capacity with an sgx_epc line (default false: mainline kernels lack it). */
  miscCgroupEpc?: boolean;
}

export interface HostTree {
  root: string;
  /** Directory for the AESM socket inside the tree (created). */
  aesmSocketDir: string;
  /** Decoded shape the tree was written from. */
  shape: SgxShape;
  /** Device node host paths written (e.g. "/dev/sgx_enclave"). */
  devices: string[];
  /** Deletes a device node placeholder (simulates a driver unload / device loss). */
  removeDevice(hostPath: string): void;
  /** Re-creates a device node placeholder. */
  addDevice(hostPath: string): void;
  /** Absolute path of a host path inside the tree. */
  path(hostPath: string): string;
}

function resolveShape(machine: HostTreeSpec['machine']): { shape: SgxShape; registers: Map<string, CpuidRegisters> } {
  if (typeof machine === 'string') {
    const shape = SIMULATED_MACHINES[machine] as SgxShape;
    return { shape, registers: encodeSgxCpuid(shape) };
  }
  if ('dumpText' in machine) {
    const m = selectCpuidMachine(parseCpuidDump(machine.dumpText, machine.name), machine.select, machine.name);
    const d = decodeSgxCpuid(dumpReader(m));
    const shape: SgxShape = { sgxSupported: d.sgxSupported, flc: d.flc, sgx1: d.sgx1, sgx2: d.sgx2, sections: d.epcSections.map((s) => ({ base: s.base, sizeBytes: s.sizeBytes, property: s.property })) };
    const registers = new Map(m.registers);
    // Transcribed dumps lack leaf 0; without it a cpuid-driver reader sees max leaf 0 and no SGX.
    if (!registers.has('0:0')) registers.set('0:0', encodeSgxCpuid(shape).get('0:0')!);
    return { shape, registers };
  }
  return { shape: machine, registers: encodeSgxCpuid(machine) };
}

function devicesFor(driver: HostTreeDriver): string[] {
  switch (driver) {
    case 'in-kernel':
      return [SGX_DEVICE_PATHS.enclave, SGX_DEVICE_PATHS.provision];
    case 'in-kernel-with-aliases':
      return [SGX_DEVICE_PATHS.enclave, SGX_DEVICE_PATHS.provision, SGX_DEVICE_PATHS.enclaveAlias, SGX_DEVICE_PATHS.provisionAlias];
    case 'dcap-alias':
      return [SGX_DEVICE_PATHS.enclaveAlias, SGX_DEVICE_PATHS.provisionAlias];
    case 'legacy':
      return [SGX_DEVICE_PATHS.legacy];
    case 'none':
      return [];
  }
}

/** Writes the tree into `root` (created if needed) and returns a handle. */
export function createHostTree(root: string, spec: HostTreeSpec): HostTree {
  const { shape, registers } = resolveShape(spec.machine);
  const p = (hostPath: string): string => join(root, hostPath);
  const write = (hostPath: string, content: string | Buffer): void => {
    mkdirSync(dirname(p(hostPath)), { recursive: true });
    writeFileSync(p(hostPath), content);
  };
  mkdirSync(root, { recursive: true });

  if (spec.cpuidDevice ?? true) {
    mkdirSync(dirname(p(HOST_PATHS.cpuidDevice)), { recursive: true });
    const fd = openSync(p(HOST_PATHS.cpuidDevice), 'w');
    try {
      for (const [key, regs] of registers) {
        const [leaf, subleaf] = key.split(':').map(Number) as [number, number];
        writeSync(fd, cpuidDeviceRecord(regs), 0, 16, leaf + subleaf * 2 ** 32);
      }
    } finally {
      closeSync(fd);
    }
  }

  const enabled = shape.sgxSupported && shape.sgx1 && shape.sections.length > 0;
  const flags = ['fpu', 'vme', 'de', 'pse', 'tsc', 'msr'];
  // The kernel clears `sgx` when BIOS disabled SGX ("SGX disabled by BIOS").
  if (enabled) flags.push('sgx');
  if (shape.flc && shape.sgxSupported) flags.push('sgx_lc');
  write(HOST_PATHS.cpuinfo, `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${flags.join(' ')}\n\n`);

  const sysfs = spec.sysfs ?? (spec.driver !== 'legacy' && spec.driver !== 'none');
  const nodes = Math.max(1, shape.sections.length);
  for (let n = 0; n < nodes; n++) {
    mkdirSync(p(`${HOST_PATHS.numaNodesDir}/node${n}`), { recursive: true });
    // One section per socket / NUMA node, as multi-socket parts enumerate them.
    if (sysfs && enabled) write(`${HOST_PATHS.numaNodesDir}/node${n}/x86/sgx_total_bytes`, `${shape.sections[n]?.sizeBytes ?? 0}\n`);
  }

  const devices = devicesFor(spec.driver);
  for (const d of devices) write(d, '');
  if (spec.miscCgroupEpc) {
    const total = shape.sections.reduce((s, x) => s + x.sizeBytes, 0);
    write(HOST_PATHS.miscCapacity, `sev 0\nsgx_epc ${total}\n`);
  }
  const aesmSocketDir = p(DEFAULT_AESM_SOCKET_DIR);
  mkdirSync(aesmSocketDir, { recursive: true });

  return {
    root,
    aesmSocketDir,
    shape,
    devices,
    path: p,
    removeDevice(hostPath) {
      rmSync(p(hostPath), { force: true });
    },
    addDevice(hostPath) {
      if (!existsSync(p(hostPath))) write(hostPath, '');
    },
  };
}
