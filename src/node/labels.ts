/**
 * Node labels (pure) and their publication: through the API server
 * (@kubernetes/client-node, JSON merge patch) and as an NFD local feature file.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// Types only at load time: the client library is imported on first use, so CLI start-up stays fast.
import type { KubeConfig } from '@kubernetes/client-node';
import { NODE_ANNOTATIONS, NODE_LABELS, RESOURCES, type EpcMode, type ResourceProfile } from '../common/labels.js';
import { NodeError } from './errors.js';
import { parseByteQuantity } from './epc-limits.js';
import type { NodeProbe } from './probe.js';

const MiB = 1024 * 1024;

/** Pure: the kubetee node labels for a probe result (values are label-safe). */
export function nodeLabelsFor(probe: NodeProbe, aesmAlive: boolean): Record<string, string> {
  const b = (v: boolean): string => (v ? 'true' : 'false');
  return {
    // Only "true" when enclaves can actually run: EPC > 0 and a driver node exists (Intel issue #739 lesson).
    [NODE_LABELS.sgx]: b(probe.usable),
    [NODE_LABELS.flc]: b(probe.flc),
    [NODE_LABELS.sgx2]: b(probe.sgx2),
    [NODE_LABELS.epcMiB]: String(Math.floor(probe.epcBytes / MiB)),
    [NODE_LABELS.driver]: probe.driver,
    [NODE_LABELS.aesm]: b(aesmAlive),
  };
}

/** Pure: node annotations (EPC limit enforcement state, visible in `kubectl describe node`). */
export function nodeAnnotationsFor(probe: NodeProbe): Record<string, string> {
  return { [NODE_ANNOTATIONS.epcLimits]: probe.miscCgroupEpc.available ? 'enforced' : 'scheduling-only' };
}

/**
 * Pure: node status capacity the agent patches. The intel profile advertises
 * EPC bytes as `sgx.intel.com/epc` (as Intel's NFD rule / epchook do); the
 * alibaba profile in `node-capacity` mode its whole MiB as
 * `alibabacloud.com/sgx_epc_MiB`; in `devices` mode kubelet reports EPC
 * itself (device-plugin resource) and this is null.
 */
export function nodeCapacityFor(probe: NodeProbe, profile: ResourceProfile, epcMode: Exclude<EpcMode, 'auto'> = profile === 'intel' ? 'node-capacity' : 'devices'): Record<string, string> | null {
  const bytes = probe.usable ? probe.epcBytes : 0;
  if (profile === 'intel') return { [RESOURCES.intel.epc]: String(bytes) };
  // Whole MiB of the total: the scheduler sees one number per node, the NUMA split does not matter to it.
  if (epcMode === 'node-capacity') return { [RESOURCES.alibaba.epc]: String(Math.floor(bytes / MiB)) };
  return null;
}

/** Pure: NFD local feature file contents (`name=value` lines; see docs/node-agent.md for NFD's label namespace setting). */
export function nfdFeatureFile(labels: Record<string, string>): string {
  return `# written by kubetee node-agent; do not edit\n${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

/** Writes the NFD feature file atomically (NFD may read it at any moment). */
export function writeNfdFeatureFile(dir: string, labels: Record<string, string>, fileName = 'kubetee-sgx'): string {
  const target = join(dir, fileName);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${fileName}.tmp-${process.pid}`);
    writeFileSync(tmp, nfdFeatureFile(labels));
    renameSync(tmp, target);
  } catch (err) {
    throw new NodeError('NFD_WRITE_FAILED', `cannot write the NFD feature file ${target}: ${(err as Error).message}`, {
      cause: err,
      hint: 'mount /etc/kubernetes/node-feature-discovery/features.d writable or drop --nfd-features-dir',
    });
  }
  return target;
}

export interface KubeTarget {
  kubeConfig: KubeConfig;
  nodeName: string;
}

/** Loads a kubeconfig file or the in-cluster service account; typed error when unusable. */
export async function loadKubeConfig(source: { kubeconfig?: string; inCluster?: boolean }): Promise<KubeConfig> {
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const kc = new KubeConfigClass();
  try {
    if (source.inCluster) kc.loadFromCluster();
    else if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
    else throw new Error('neither a kubeconfig file nor in-cluster mode was given');
  } catch (err) {
    throw new NodeError('KUBE_CONFIG_INVALID', `cannot load Kubernetes credentials: ${(err as Error).message}`, {
      cause: err,
      hint: 'pass --kubeconfig <file> or --in-cluster (in a pod), or --no-labels to skip node labels',
      exitCode: 2,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new NodeError('KUBE_CONFIG_INVALID', 'the kubeconfig has no current cluster', { hint: 'set current-context in the kubeconfig', exitCode: 2 });
  }
  return kc;
}

/**
 * Merge-patches labels (and EPC node capacity, when the agent advertises it)
 * onto the node. Allocatable is patched with capacity: kubelet recomputes it
 * from capacity at its next status sync anyway (no reservation applies to
 * extended resources), and the scheduler fits on allocatable, so EPC is
 * schedulable at once rather than up to one sync later.
 */
export async function publishNodeLabels(target: KubeTarget, labels: Record<string, string>, capacity: Record<string, string> | null, annotations: Record<string, string> = {}): Promise<void> {
  const { CoreV1Api, PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
  const api = target.kubeConfig.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  try {
    await api.patchNode({ name: target.nodeName, body: { metadata: Object.keys(annotations).length > 0 ? { labels, annotations } : { labels } } }, merge);
    if (capacity) await api.patchNodeStatus({ name: target.nodeName, body: { status: { capacity, allocatable: capacity } } }, merge);
  } catch (err) {
    const e = err as { code?: number; message?: string };
    throw new NodeError('NODE_PATCH_FAILED', `patching node ${target.nodeName} failed${e.code ? ` (HTTP ${e.code})` : ''}: ${(e.message ?? String(err)).slice(0, 300)}`, {
      cause: err,
      hint: 'the agent\'s service account needs patch on nodes and nodes/status; check --node-name',
    });
  }
}

/**
 * Whether the node's status still carries `capacity` (capacity and
 * allocatable). kubelet can reset it: a kubelet started without its device
 * checkpoint zeroes extended resources, and a resource that was a device-plugin
 * resource before (mode change) is reported from the stale endpoint for up to
 * 5 minutes and then zeroed once.
 */
export async function nodeCapacityHolds(target: KubeTarget, capacity: Record<string, string>): Promise<boolean> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = target.kubeConfig.makeApiClient(CoreV1Api);
  try {
    const node = await api.readNode({ name: target.nodeName });
    const cap = (node.status?.capacity ?? {}) as Record<string, string>;
    const alloc = (node.status?.allocatable ?? {}) as Record<string, string>;
    // The API server canonicalises quantities ("2000" reads back as "2k"): compare values.
    const same = (q: string | undefined, v: string): boolean => q !== undefined && parseByteQuantity(String(q)) === Number(v);
    return Object.entries(capacity).every(([k, v]) => same(cap[k], v) && same(alloc[k], v));
  } catch (err) {
    const e = err as { code?: number; message?: string };
    throw new NodeError('NODE_PATCH_FAILED', `reading node ${target.nodeName} failed${e.code ? ` (HTTP ${e.code})` : ''}: ${(e.message ?? String(err)).slice(0, 300)}`, {
      cause: err,
      hint: 'the agent\'s service account needs get on nodes; check --node-name',
    });
  }
}
