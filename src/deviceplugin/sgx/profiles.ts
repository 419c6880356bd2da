/**
 * The SGX device part: a thin layer over the generic framework. It turns the
 * node's EPC and device nodes into resources for one of two profiles:
 *
 * - `alibaba` (default, ACK-TEE compatible): `alibabacloud.com/sgx_epc_MiB`.
 *   In `devices` mode, one device per MiB of EPC, IDs "0".."N-1" laid out
 *   NUMA node by NUMA node so GetPreferredAllocation can keep a container on
 *   one node. In `node-capacity` mode (EPC too large for kubelet's 4 MiB
 *   ListAndWatch message) the node agent advertises the MiB count as a node
 *   extended resource instead and no EPC devices exist. Both modes serve
 *   `alibabacloud.com/sgx_enclave` slots (device access, added by the
 *   webhook). Provisioning is NOT handed out with EPC (Alibaba's plugin gives
 *   /dev/sgx_provision to everyone); a container that needs PROVISIONKEY
 *   (in-process DCAP quoting) requests `alibabacloud.com/sgx_provision`.
 * - `intel`: `sgx.intel.com/enclave` and `sgx.intel.com/provision` slots; EPC
 *   bytes are advertised by the node agent as a node extended resource
 *   (`sgx.intel.com/epc`), as Intel's NFD rule / epchook do.
 *
 * Health: EPC/enclave devices are Healthy only while an enclave device node
 * exists and, when AESM is used, its socket answers; provision devices only
 * while the provision node exists.
 */
import { join } from 'node:path';
import { RESOURCES, type EpcMode, type ResourceProfile } from '../../common/labels.js';
import { defaultAllocate, type DeviceInfo, type DevicePart, type DeviceSpec, type Mount } from '../api.js';
import { fitsOneMessage } from '../list-size.js';
import { preferByNuma } from '../numa-preferred.js';
import { enclaveDeviceSpecs, provisionDeviceSpecs } from './device-specs.js';
import type { SgxNodeState, SgxStateSource } from './state.js';

export const MiB = 1024 * 1024;
/** Container path SGX quote libraries use when SGX_AESM_ADDR is set. */
export const AESM_CONTAINER_DIR = '/var/run/aesmd';
/** kubelet's default max pods per node: enough slots that slots never limit scheduling (Intel's default too). */
export const DEFAULT_SLOTS = 110;

export interface SgxPluginConfig {
  profile: ResourceProfile;
  /** EPC bytes per NUMA node (from the probe). */
  numaEpc: { node: number; bytes: number }[];
  /** AESM socket directory on the host, when AESM is used on this node. */
  aesmHostDir: string | null;
  /**
   * Where the kubelet and the container runtime see the host's root (default
   * `/`): prefixed to every host path handed out (device nodes, AESM
   * directory). Only a simulated host tree on the kubelet's own machine sets it.
   */
  kubeletHostRoot?: string;
  /** alibaba profile: how EPC is advertised (resolve `auto` with resolveEpcMode first). Default `devices`. */
  epcMode?: Exclude<EpcMode, 'auto'>;
  enclaveSlots?: number;
  provisionSlots?: number;
}

/** Pure: 1-MiB EPC device IDs per NUMA node, numbered consecutively across nodes. */
export function epcDeviceLayout(numaEpc: SgxPluginConfig['numaEpc']): { id: string; node: number }[] {
  const out: { id: string; node: number }[] = [];
  for (const n of [...numaEpc].sort((a, b) => a.node - b.node)) {
    // A device must live on one node, so each node's EPC is floored on its own.
    const count = Math.floor(n.bytes / MiB);
    for (let i = 0; i < count; i++) out.push({ id: String(out.length), node: n.node });
  }
  return out;
}

/** A host path as the kubelet sees it. */
function kubeletPath(config: SgxPluginConfig, hostPath: string): string {
  return config.kubeletHostRoot && config.kubeletHostRoot !== '/' ? join(config.kubeletHostRoot, hostPath) : hostPath;
}

function rooted(config: SgxPluginConfig, specs: DeviceSpec[]): DeviceSpec[] {
  return specs.map((d) => ({ ...d, host_path: kubeletPath(config, d.host_path) }));
}

/**
 * Pure: the alibaba profile's EPC mode for this node. `auto` keeps one device
 * per MiB while the whole list fits kubelet's ListAndWatch message (measured
 * with the real serializer) and switches to node capacity above it, so every
 * MiB stays schedulable. The intel profile always advertises EPC bytes as
 * node capacity.
 */
export function resolveEpcMode(profile: ResourceProfile, requested: EpcMode, numaEpc: SgxPluginConfig['numaEpc'], maxMessageBytes?: number): Exclude<EpcMode, 'auto'> {
  if (profile === 'intel') return 'node-capacity';
  if (requested !== 'auto') return requested;
  const devices: DeviceInfo[] = epcDeviceLayout(numaEpc).map((d) => ({ id: d.id, healthy: true, numaNodes: [d.node] }));
  return fitsOneMessage(devices, maxMessageBytes) ? 'devices' : 'node-capacity';
}

function aesmParts(config: SgxPluginConfig): { mounts: Mount[]; envs: Record<string, string> } {
  if (config.aesmHostDir === null) return { mounts: [], envs: {} };
  return {
    mounts: [{ host_path: kubeletPath(config, config.aesmHostDir), container_path: AESM_CONTAINER_DIR, read_only: true }],
    // Tells the SGX quote library (libsgx-quote-ex) to use AESM out of process.
    envs: { SGX_AESM_ADDR: '1' },
  };
}

function enclaveHealthy(state: SgxNodeState): boolean {
  return enclaveDeviceSpecs(new Set(state.present)).length > 0 && state.aesmAlive !== false;
}

/** A part whose devices are recomputed from the node state on every change. */
function statePart(resourceName: string, state: SgxStateSource, build: (s: SgxNodeState) => DeviceInfo[], extra: Partial<DevicePart> = {}): DevicePart {
  return {
    resourceName,
    watch(notify) {
      notify(build(state.current()));
      return state.subscribe((s) => notify(build(s)));
    },
    ...extra,
  };
}

function enclavePart(resourceName: string, config: SgxPluginConfig, state: SgxStateSource, aesm: { mounts: Mount[]; envs: Record<string, string> }): DevicePart {
  const slots = config.enclaveSlots ?? DEFAULT_SLOTS;
  return statePart(resourceName, state, (s) => {
    const healthy = enclaveHealthy(s);
    const specs = rooted(config, enclaveDeviceSpecs(new Set(s.present)));
    return Array.from({ length: slots }, (_, i) => ({ id: `sgx-enclave-${i}`, healthy, deviceSpecs: specs, mounts: aesm.mounts, envs: aesm.envs }));
  });
}

function provisionPart(resourceName: string, config: SgxPluginConfig, state: SgxStateSource): DevicePart {
  const slots = config.provisionSlots ?? DEFAULT_SLOTS;
  return statePart(resourceName, state, (s) => {
    const specs = rooted(config, provisionDeviceSpecs(new Set(s.present)));
    return Array.from({ length: slots }, (_, i) => ({ id: `sgx-provision-${i}`, healthy: specs.length > 0, deviceSpecs: specs }));
  });
}

export function sgxDeviceParts(config: SgxPluginConfig, state: SgxStateSource): DevicePart[] {
  const aesm = aesmParts(config);
  if (config.profile === 'alibaba') {
    const slotsAndProvision = [enclavePart(RESOURCES.alibaba.enclave, config, state, aesm), provisionPart(RESOURCES.alibaba.provision, config, state)];
    if (config.epcMode === 'node-capacity') return slotsAndProvision;
    const layout = epcDeviceLayout(config.numaEpc);
    const epc = statePart(
      RESOURCES.alibaba.epc,
      state,
      (s) => {
        const healthy = enclaveHealthy(s);
        const specs = rooted(config, enclaveDeviceSpecs(new Set(s.present)));
        return layout.map((d) => ({ id: d.id, healthy, numaNodes: [d.node], deviceSpecs: specs, mounts: aesm.mounts, envs: aesm.envs }));
      },
      {
        preferredAllocation: preferByNuma,
        allocate(ids, devices) {
          const res = defaultAllocate(ids, devices);
          // ACK-TEE compatibility: applications read the allocated IDs from this variable.
          res.envs['SGX_VISIBLE_DEVICES'] = ids.join(',');
          return res;
        },
      },
    );
    return [epc, ...slotsAndProvision];
  }
  return [enclavePart(RESOURCES.intel.enclave, config, state, aesm), provisionPart(RESOURCES.intel.provision, config, state)];
}
