/**
 * `probeNode`: everything the node agent needs to know about SGX on this
 * host, read under a host root. I/O lives in the small readers; the merge of
 * their answers (`summarize`) is pure.
 */
import { readFileSync, statSync } from 'node:fs';
import { decodeSgxCpuid, hexAddress, type CpuidRegisters, type EpcSectionProperty, type SgxCpuid } from '../sgx/cpuid.js';
import { dumpReader, parseCpuidDump, selectCpuidMachine } from '../sgx/cpuid-dump.js';
import { parseCpuinfoFlags, type CpuinfoSgxFlags } from '../sgx/cpuinfo.js';
import { assignEpcSectionsToNuma, type NumaEpc } from '../sgx/epc-numa.js';
import { aesmSocketPath, checkAesmSocket } from './aesm.js';
import { readCpuidDevice } from './cpuid-device.js';
import { detectSgxDevices, type SgxDriverKind } from './devices.js';
import { NodeError } from './errors.js';
import { HOST_PATHS, underRoot } from './host-paths.js';
import { detectMiscCgroupEpc, type MiscCgroupEpc } from './misc-cgroup.js';
import { readSysfsEpc } from './sysfs-epc.js';

export interface ProbeOptions {
  /** Root of the host filesystem ("/" on a node). */
  hostRoot: string;
  /** CPUID dump text to use instead of /dev/cpu/0/cpuid. */
  cpuidDump?: { text: string; name: string; machine?: string };
  /** AESM socket directory on the host (not under hostRoot when the agent mounts it itself); null = do not check. */
  aesmSocketDir: string | null;
  aesmTimeoutMs?: number;
}

export interface ProbedEpcSection {
  /** Physical base, or null when only sysfs (per NUMA node totals) was available. */
  base: number | null;
  sizeBytes: number;
  numaNode: number | null;
  property: EpcSectionProperty | null;
}

export interface NodeProbe {
  /** SGX is implemented and enabled by the BIOS: SGX1 reported and EPC > 0. */
  sgx: boolean;
  flc: boolean;
  sgx1: boolean;
  sgx2: boolean;
  epcBytes: number;
  epcSections: ProbedEpcSection[];
  /** EPC per NUMA node: sysfs when present, else derived from sections (unknown node = -1 absent). */
  numaEpc: NumaEpc[];
  driver: SgxDriverKind;
  /** Device nodes present (host paths). */
  devices: string[];
  aesm: boolean;
  aesmSocket: string | null;
  /** SGX enabled, a driver present: enclaves can run here. */
  usable: boolean;
  /** Why `usable` is false (empty when usable). */
  reasons: string[];
  miscCgroupEpc: MiscCgroupEpc;
  sources: { cpuid: 'dump' | 'device' | 'none'; epc: 'sysfs' | 'cpuid' | 'none'; cpuinfo: boolean };
}

/** The exact `kubetee node probe --json` shape (issue 5). */
export interface NodeProbeJson {
  sgx: boolean;
  flc: boolean;
  sgx1: boolean;
  sgx2: boolean;
  epcBytes: number;
  epcSections: { base: string | null; size: number; numaNode: number | null }[];
  driver: SgxDriverKind;
  devices: string[];
  aesm: boolean;
}

export async function probeNode(options: ProbeOptions): Promise<NodeProbe> {
  let rootIsDir = false;
  try {
    rootIsDir = statSync(options.hostRoot).isDirectory();
  } catch {
    rootIsDir = false;
  }
  if (!rootIsDir) {
    throw new NodeError('HOST_ROOT_MISSING', `host root ${options.hostRoot} is not a directory`, {
      hint: 'pass --host-root with the directory where the node filesystem is mounted (default /)',
      exitCode: 2,
    });
  }
  let registers: Map<string, CpuidRegisters> | undefined;
  let cpuidSource: NodeProbe['sources']['cpuid'] = 'none';
  if (options.cpuidDump) {
    const machine = selectCpuidMachine(parseCpuidDump(options.cpuidDump.text, options.cpuidDump.name), options.cpuidDump.machine, options.cpuidDump.name);
    registers = machine.registers;
    cpuidSource = 'dump';
  } else {
    const snap = readCpuidDevice(underRoot(options.hostRoot, HOST_PATHS.cpuidDevice));
    if (snap) {
      registers = snap.registers;
      cpuidSource = 'device';
    }
  }
  const cpuid = registers ? decodeSgxCpuid(dumpReader({ title: '', registers })) : undefined;
  let cpuinfo: CpuinfoSgxFlags | undefined;
  try {
    cpuinfo = parseCpuinfoFlags(readFileSync(underRoot(options.hostRoot, HOST_PATHS.cpuinfo), 'utf8'));
  } catch {
    cpuinfo = undefined;
  }
  const sysfs = readSysfsEpc(options.hostRoot);
  const devices = detectSgxDevices(options.hostRoot);
  const socket = options.aesmSocketDir === null ? null : aesmSocketPath(options.aesmSocketDir);
  const aesm = socket === null ? false : await checkAesmSocket(socket, options.aesmTimeoutMs);
  return summarize({ cpuid, cpuidSource, cpuinfo, sysfs, driver: devices.driver, devices: devices.present, aesm, aesmSocket: socket, misc: detectMiscCgroupEpc(options.hostRoot) });
}

export interface ProbeFacts {
  cpuid: SgxCpuid | undefined;
  cpuidSource: NodeProbe['sources']['cpuid'];
  cpuinfo: CpuinfoSgxFlags | undefined;
  sysfs: NumaEpc[] | undefined;
  driver: SgxDriverKind;
  devices: string[];
  aesm: boolean;
  aesmSocket: string | null;
  misc: MiscCgroupEpc;
}

/**
 * Pure merge. sysfs is the kernel's own count of the EPC it manages, so it
 * wins for the total; CPUID adds section bases, SGX2 and FLC (cpuinfo hides
 * sgx1/sgx2 but shows sgx_lc).
 */
export function summarize(f: ProbeFacts): NodeProbe {
  const cpuidEpc = f.cpuid?.epcBytes ?? 0;
  const sysfsEpc = f.sysfs?.reduce((s, n) => s + n.bytes, 0);
  const epcBytes = sysfsEpc ?? cpuidEpc;
  const epcSource: NodeProbe['sources']['epc'] = sysfsEpc !== undefined ? 'sysfs' : f.cpuid && cpuidEpc > 0 ? 'cpuid' : 'none';
  const kernelSgx = f.cpuinfo?.sgx ?? false;
  const sgx1 = (f.cpuid?.sgx1 ?? false) || (kernelSgx && epcBytes > 0);
  const sgx = epcBytes > 0 && sgx1 && (f.cpuid ? f.cpuid.sgxSupported : kernelSgx);
  const flc = (f.cpuid?.flc ?? false) || (f.cpuinfo?.sgxLc ?? false);
  const sgx2 = f.cpuid?.sgx2 ?? false;

  let epcSections: ProbedEpcSection[];
  let numaEpc: NumaEpc[];
  if (f.cpuid && f.cpuid.epcSections.length > 0) {
    const nodes = f.sysfs ? assignEpcSectionsToNuma(f.cpuid.epcSections, f.sysfs) : f.cpuid.epcSections.map(() => null);
    epcSections = f.cpuid.epcSections.map((s, i) => ({ base: s.base, sizeBytes: s.sizeBytes, numaNode: nodes[i] ?? null, property: s.property }));
  } else if (f.sysfs) {
    epcSections = f.sysfs.filter((n) => n.bytes > 0).map((n) => ({ base: null, sizeBytes: n.bytes, numaNode: n.node, property: null }));
  } else {
    epcSections = [];
  }
  if (f.sysfs) {
    numaEpc = f.sysfs.filter((n) => n.bytes > 0);
  } else {
    // Without sysfs we cannot place sections; a single node 0 is what a one-socket machine has.
    numaEpc = epcBytes > 0 ? [{ node: 0, bytes: epcBytes }] : [];
  }

  const reasons: string[] = [];
  if (!f.cpuid && !f.cpuinfo?.flagsPresent && !f.sysfs) reasons.push('no CPUID source, /proc/cpuinfo or sysfs EPC information found');
  else if (f.cpuid && !f.cpuid.sgxSupported) reasons.push('the CPU does not implement SGX (CPUID leaf 7 EBX bit 2 is 0)');
  else if (!sgx1 || epcBytes === 0) reasons.push('SGX is not enabled (no EPC); check the BIOS setting "SGX: Enabled" and the PRMRR size');
  if (f.driver === 'none') reasons.push('no SGX device node (/dev/sgx_enclave, /dev/sgx/enclave or /dev/isgx); load the in-kernel driver (Linux 5.11+, needs FLC) or the legacy isgx driver');
  if (f.driver === 'in-kernel' && f.cpuid && !flc && sgx) reasons.push('in-kernel driver node present but the CPU reports no Flexible Launch Control');

  return {
    sgx,
    flc,
    sgx1,
    sgx2,
    epcBytes,
    epcSections,
    numaEpc,
    driver: f.driver,
    devices: f.devices,
    aesm: f.aesm,
    aesmSocket: f.aesmSocket,
    usable: sgx && f.driver !== 'none',
    reasons: sgx && f.driver !== 'none' ? [] : reasons,
    miscCgroupEpc: f.misc,
    sources: { cpuid: f.cpuidSource, epc: epcSource, cpuinfo: f.cpuinfo?.flagsPresent ?? false },
  };
}

export function probeToJson(p: NodeProbe): NodeProbeJson {
  return {
    sgx: p.sgx,
    flc: p.flc,
    sgx1: p.sgx1,
    sgx2: p.sgx2,
    epcBytes: p.epcBytes,
    epcSections: p.epcSections.map((s) => ({ base: s.base === null ? null : hexAddress(s.base), size: s.sizeBytes, numaNode: s.numaNode })),
    driver: p.driver,
    devices: p.devices,
    aesm: p.aesm,
  };
}

const MiB = 1024 * 1024;

/** Human-readable report for `kubetee node probe`. */
export function formatProbe(p: NodeProbe): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    `SGX:          ${p.sgx ? 'enabled' : 'not available'}${p.usable ? ' (usable)' : ''}`,
    `  SGX1/SGX2:  ${yes(p.sgx1)} / ${yes(p.sgx2)}`,
    `  FLC:        ${yes(p.flc)}`,
    `EPC:          ${p.epcBytes} bytes (${(p.epcBytes / MiB).toFixed(p.epcBytes % MiB === 0 ? 0 : 1)} MiB) from ${p.sources.epc}`,
    ...p.epcSections.map((s, i) => `  section ${i}: base ${s.base === null ? 'unknown' : hexAddress(s.base)}, ${s.sizeBytes} bytes, NUMA node ${s.numaNode ?? 'unknown'}`),
    `driver:       ${p.driver}`,
    `devices:      ${p.devices.length > 0 ? p.devices.join(', ') : 'none'}`,
    `AESM:         ${p.aesmSocket === null ? 'not checked' : p.aesm ? `answering at ${p.aesmSocket}` : `not answering at ${p.aesmSocket}`}`,
    `EPC cgroup:   ${p.miscCgroupEpc.available ? `sgx_epc misc cgroup present (capacity ${p.miscCgroupEpc.capacityBytes})` : 'not available (kernel has no sgx_epc misc cgroup; EPC limits are scheduling-only)'}`,
    `CPUID source: ${p.sources.cpuid}`,
  ];
  for (const r of p.reasons) lines.push(`note: ${r}`);
  return `${lines.join('\n')}\n`;
}
