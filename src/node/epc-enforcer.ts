/**
 * Writes each SGX container's EPC limit into its `sgx_epc` misc cgroup
 * (`misc.max`), where the kernel has that controller. Pods (UID, QoS class,
 * container IDs, limits) come from the API server; allocations from
 * pod-resources. Idempotent: a limit already in place is not rewritten.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EpcMode, ResourceProfile } from '../common/labels.js';
import { containerCgroupCandidates, desiredEpcLimits, type PodInfo } from './epc-limits.js';
import { NodeError } from './errors.js';
import { parseMiscEpc, writeEpcLimit } from './misc-cgroup.js';
import type { ContainerEpc } from './pod-resources.js';

export interface EnforcementResult {
  /** Containers whose misc.max now carries their EPC limit. */
  enforced: string[];
  /** Containers whose cgroup was not found (not started, other cgroup layout). */
  missing: string[];
  errors: string[];
}

/** Lists the pods on this node through the API server. */
export async function listNodePods(kubeConfig: KubeConfig, nodeName: string): Promise<PodInfo[]> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = kubeConfig.makeApiClient(CoreV1Api);
  try {
    const list = await api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
    return list.items.map((p) => ({
      uid: p.metadata?.uid ?? '',
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      qosClass: p.status?.qosClass ?? 'BestEffort',
      containers: (p.spec?.containers ?? []).map((c) => ({
        name: c.name,
        containerId: p.status?.containerStatuses?.find((s) => s.name === c.name)?.containerID ?? null,
        limits: Object.fromEntries(Object.entries(c.resources?.limits ?? {}).map(([k, v]) => [k, String(v)])),
      })),
    }));
  } catch (err) {
    throw new NodeError('POD_LIST_FAILED', `listing pods on ${nodeName} failed: ${(err as Error).message.slice(0, 300)}`, {
      cause: err,
      hint: 'the agent\'s service account needs list on pods for EPC cgroup limits',
    });
  }
}

/** Applies limits under `<cgroupRoot>` (the host's /sys/fs/cgroup). */
export function applyEpcLimits(cgroupRoot: string, pods: PodInfo[], allocations: ContainerEpc[], profile: ResourceProfile, epcMode?: Exclude<EpcMode, 'auto'>): EnforcementResult {
  const result: EnforcementResult = { enforced: [], missing: [], errors: [] };
  for (const limit of desiredEpcLimits(pods, allocations, profile, epcMode)) {
    const dir = containerCgroupCandidates(limit).map((rel) => join(cgroupRoot, rel)).find((p) => existsSync(p));
    if (!dir) {
      result.missing.push(limit.ref);
      continue;
    }
    try {
      let current: number | null = null;
      try {
        current = parseMiscEpc(readFileSync(join(dir, 'misc.max'), 'utf8'));
      } catch {
        current = null;
      }
      if (current !== limit.bytes) writeEpcLimit(dir, limit.bytes);
      result.enforced.push(limit.ref);
    } catch (err) {
      result.errors.push(`${limit.ref}: ${(err as Error).message}`);
    }
  }
  return result;
}
