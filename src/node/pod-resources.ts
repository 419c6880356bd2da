/**
 * EPC accounting from the kubelet pod-resources API (v1 List). It reports
 * device-plugin resources only, so per-pod EPC is exact for the alibaba
 * profile (1 device = 1 MiB); for the intel profile we see enclave and
 * provision slots (EPC bytes are a node extended resource kubelet does not
 * track per device).
 */
import * as grpc from '@grpc/grpc-js';
import { RESOURCES, type EpcMode, type ResourceProfile } from '../common/labels.js';
import { podResourcesApi } from '../deviceplugin/proto.js';
import { NodeError } from './errors.js';

const MiB = 1024 * 1024;

export interface PodResourcesContainer {
  name: string;
  devices: { resource_name: string; device_ids: string[] }[];
}
export interface PodResourcesPod {
  name: string;
  namespace: string;
  containers: PodResourcesContainer[];
}

export interface ContainerEpc {
  namespace: string;
  pod: string;
  container: string;
  /** EPC bytes held (alibaba devices mode); null when EPC is not counted per device. */
  epcBytes: number | null;
  /** EPC device IDs (alibaba devices mode) or enclave slot IDs. */
  deviceIds: string[];
  provision: boolean;
}

/**
 * Pure: which containers hold SGX resources and how much EPC. EPC is counted
 * per device only in the alibaba profile's `devices` mode; with EPC as node
 * capacity (intel, alibaba `node-capacity`) the enclave slots mark the
 * containers and the amount comes from their limits (epc-limits.ts).
 */
export function accountEpc(pods: PodResourcesPod[], profile: ResourceProfile, epcMode: Exclude<EpcMode, 'auto'> = profile === 'intel' ? 'node-capacity' : 'devices'): ContainerEpc[] {
  const perDevice = profile === 'alibaba' && epcMode === 'devices';
  const epcResource = profile === 'alibaba' ? (perDevice ? RESOURCES.alibaba.epc : RESOURCES.alibaba.enclave) : RESOURCES.intel.enclave;
  const provisionResource = profile === 'alibaba' ? RESOURCES.alibaba.provision : RESOURCES.intel.provision;
  const out: ContainerEpc[] = [];
  for (const pod of pods) {
    for (const c of pod.containers ?? []) {
      const ids = (c.devices ?? []).filter((d) => d.resource_name === epcResource).flatMap((d) => d.device_ids ?? []);
      const provision = (c.devices ?? []).some((d) => d.resource_name === provisionResource && (d.device_ids ?? []).length > 0);
      if (ids.length === 0 && !provision) continue;
      out.push({
        namespace: pod.namespace,
        pod: pod.name,
        container: c.name,
        epcBytes: perDevice ? ids.length * MiB : null,
        deviceIds: ids,
        provision,
      });
    }
  }
  return out.sort((a, b) => `${a.namespace}/${a.pod}/${a.container}`.localeCompare(`${b.namespace}/${b.pod}/${b.container}`));
}

/** Devices the kubelet can allocate, per resource, with their NUMA topology (GetAllocatableResources). */
export interface AllocatableDevices {
  resource_name: string;
  device_ids: string[];
  topology?: { nodes?: { ID: number }[] } | null;
}

/** Calls PodResourcesLister.List on kubelet's pod-resources socket. */
export async function listPodResources(socketPath: string, timeoutMs = 3000): Promise<PodResourcesPod[]> {
  return (await call<{ pod_resources: PodResourcesPod[] }>(socketPath, 'List', timeoutMs)).pod_resources;
}

/** Calls PodResourcesLister.GetAllocatableResources: every device the kubelet can hand out. */
export async function listAllocatableDevices(socketPath: string, timeoutMs = 3000): Promise<AllocatableDevices[]> {
  return (await call<{ devices: AllocatableDevices[] }>(socketPath, 'GetAllocatableResources', timeoutMs)).devices;
}

function call<T>(socketPath: string, method: 'List' | 'GetAllocatableResources', timeoutMs: number): Promise<T> {
  const api = podResourcesApi();
  const client = new api.client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const fn = client[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void;
    fn.call(client, {}, { deadline: Date.now() + timeoutMs }, (err, value) => {
      client.close();
      if (err) {
        reject(
          new NodeError('POD_RESOURCES_FAILED', `pod-resources ${method} on ${socketPath} failed: ${err.details || err.message}`, {
            cause: err,
            hint: 'mount /var/lib/kubelet/pod-resources (the directory, so kubelet restarts are survived) or pass --pod-resources-socket ""',
          }),
        );
      } else resolve(value);
    });
  });
}
