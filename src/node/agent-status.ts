import type { EpcMode, ResourceProfile } from '../common/labels.js';
import type { ContainerEpc } from './pod-resources.js';
import type { MiscCgroupEpc } from './misc-cgroup.js';

/** One advertised resource as kubelet sees it (capacity = total, allocatable = healthy). */
export interface ResourceStatus {
  resourceName: string;
  total: number;
  healthy: number;
  registered: boolean;
  registrations: number;
  /** Devices not advertised because the list would exceed kubelet's 4 MiB message limit. */
  dropped: number;
}

/** What the node agent reports (status endpoint, metrics, the embedding API). */
export interface NodeAgentStatus {
  profile: ResourceProfile;
  /** How EPC reaches the scheduler: device-plugin devices (alibaba, small EPC) or node capacity. */
  epcMode: Exclude<EpcMode, 'auto'>;
  /** Node status capacity the agent patches for EPC; null when kubelet reports it (devices mode). */
  epcNodeCapacity: Record<string, string> | null;
  usable: boolean;
  /** Why SGX is not usable (empty when usable). */
  reasons: string[];
  epcBytes: number;
  aesmAlive: boolean | null;
  resources: ResourceStatus[];
  allocations: ContainerEpc[];
  /** EPC limit enforcement: the sgx_epc misc cgroup exists, or why not. */
  epcCgroup: MiscCgroupEpc & {
    note: string;
    /** Containers whose misc.max carries their EPC limit (last pass). */
    enforced: string[];
    /** SGX containers whose cgroup was not found. */
    missing: string[];
    error: string | null;
  };
  labels: { published: boolean; error: string | null; nfdFile: string | null };
  accounting: { lastUpdate: Date | null; error: string | null };
}
