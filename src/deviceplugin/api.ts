/**
 * The contract between the generic device-plugin framework and a device part.
 * A part must say which devices exist (`watch`); it may add a custom
 * `allocate`, a `preferredAllocation` and a `preStart`. The server derives
 * GetDevicePluginOptions from which of these exist, so the advertised options
 * can never disagree with the behaviour. Nothing here knows about SGX.
 */
import type { ContainerAllocateResponse, DeviceSpec, Mount } from './proto.js';

export type { ContainerAllocateResponse, DeviceSpec, Mount } from './proto.js';

/** kubelet constants (k8s.io/kubelet pkg/apis/deviceplugin/v1beta1/constants.go). */
export const DEVICE_PLUGIN_API_VERSION = 'v1beta1';
export const DEFAULT_DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
export const KUBELET_SOCKET_NAME = 'kubelet.sock';
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';
/** kubelet rejects longer IDs. */
export const MAX_DEVICE_ID_LENGTH = 63;

export interface DeviceInfo {
  id: string;
  healthy: boolean;
  /** NUMA nodes the device is attached to (topology hint for kubelet's topology manager). */
  numaNodes?: number[];
  /** What the default Allocate hands out for this device (merged over all requested devices, de-duplicated). */
  deviceSpecs?: DeviceSpec[];
  mounts?: Mount[];
  envs?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PreferredRequest {
  available: string[];
  mustInclude: string[];
  size: number;
}

/** Returned by a custom allocate to ask for the default merge instead. */
export const USE_DEFAULT_ALLOCATE = Symbol('use-default-allocate');

export interface DevicePart {
  /** Extended resource name, e.g. "example.com/widget". */
  readonly resourceName: string;
  /** Socket file name in the device-plugins directory; default derived from the resource name. */
  readonly socketName?: string;
  /**
   * Reports the complete device list now and again whenever it changes.
   * Returns a function that stops watching.
   */
  watch(notify: (devices: DeviceInfo[]) => void): () => void;
  /** Custom Allocate for one container; IDs are already checked to be known and healthy. */
  allocate?(deviceIds: string[], devices: ReadonlyMap<string, DeviceInfo>): ContainerAllocateResponse | typeof USE_DEFAULT_ALLOCATE;
  /** Preferred IDs for one container (kubelet calls it only when advertised). */
  preferredAllocation?(request: PreferredRequest, devices: ReadonlyMap<string, DeviceInfo>): string[];
  /** Runs before each container start (kubelet calls it only when advertised). */
  preStart?(deviceIds: string[]): Promise<void>;
}

/** "example.com/gpu" → "example.com-gpu.sock" (the Intel naming pattern). */
export function defaultSocketName(resourceName: string): string {
  return `${resourceName.replace(/[^A-Za-z0-9._-]/g, '-')}.sock`;
}

/**
 * Extended resource names kubelet accepts: `<dns-subdomain>/<name>`, not in
 * the kubernetes.io / k8s.io namespaces (apimachinery IsExtendedResourceName).
 */
export function isExtendedResourceName(name: string): boolean {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/.exec(name);
  if (!m || name.length > 253 + 1 + 63) return false;
  const domain = m[1]!;
  if (domain.length > 253 || m[5]!.length > 63) return false;
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io') || domain === 'k8s.io' || domain.endsWith('.k8s.io')) return false;
  return true;
}

export function emptyContainerResponse(): ContainerAllocateResponse {
  return { envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] };
}

/**
 * Default Allocate: the union of what each requested device carries. Device
 * specs and mounts are de-duplicated by container path (N slots that point at
 * one /dev node must not produce N identical entries).
 */
export function defaultAllocate(deviceIds: string[], devices: ReadonlyMap<string, DeviceInfo>): ContainerAllocateResponse {
  const out = emptyContainerResponse();
  const seenDevices = new Set<string>();
  const seenMounts = new Set<string>();
  for (const id of deviceIds) {
    const d = devices.get(id);
    if (!d) continue;
    for (const spec of d.deviceSpecs ?? []) {
      if (seenDevices.has(spec.container_path)) continue;
      seenDevices.add(spec.container_path);
      out.devices.push({ ...spec });
    }
    for (const m of d.mounts ?? []) {
      if (seenMounts.has(m.container_path)) continue;
      seenMounts.add(m.container_path);
      out.mounts.push({ ...m });
    }
    Object.assign(out.envs, d.envs ?? {});
    Object.assign(out.annotations, d.annotations ?? {});
  }
  return out;
}
