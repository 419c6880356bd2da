/**
 * The node agent: detection, the SGX device plugins, node labels (API server
 * and NFD file), EPC accounting from pod-resources, metrics. Embeddable:
 * `kubetee node-agent` and `kubetee up` (simulated SGX node) both call
 * `startNodeAgent` and get a handle with the live status and close().
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../common/log.js';
import { silentLogger } from '../common/log.js';
import type { EpcMode, ResourceProfile } from '../common/labels.js';
import { DEFAULT_DEVICE_PLUGIN_DIR } from '../deviceplugin/api.js';
import { startDevicePlugins, type DevicePlugins } from '../deviceplugin/manager.js';
import { resolveEpcMode, sgxDeviceParts } from '../deviceplugin/sgx/profiles.js';
import { aesmSocketPath } from './aesm.js';
import { applyEpcLimits, listNodePods } from './epc-enforcer.js';
import type { NodeAgentStatus } from './agent-status.js';
import { NodeError } from './errors.js';
import { HOST_PATHS, underRoot } from './host-paths.js';
import { nodeAnnotationsFor, nodeCapacityFor, nodeCapacityHolds, nodeLabelsFor, publishNodeLabels, writeNfdFeatureFile } from './labels.js';
import { NodeAgentMetrics, serveMetrics, type MetricsServer } from './metrics.js';
import { accountEpc, listPodResources, type ContainerEpc } from './pod-resources.js';
import { probeNode, type NodeProbe } from './probe.js';
import { watchSgxState, type SgxStateWatcher } from './sgx-state-watch.js';

export type { NodeAgentStatus } from './agent-status.js';

export { DEFAULT_POD_RESOURCES_SOCKET } from './host-paths.js';

export interface NodeAgentOptions {
  hostRoot: string;
  /**
   * The host root as the kubelet sees it (default `/`): prefix of the device
   * and AESM paths handed out in Allocate. In a pod (`hostRoot` /host) and on
   * a node it stays `/`; a simulated host tree on the kubelet's own machine
   * (the real-kubelet e2e tier) sets it to that tree.
   */
  kubeletHostRoot?: string;
  profile: ResourceProfile;
  /** alibaba profile: EPC as one device per MiB, as node capacity, or `auto` (default: devices while they fit kubelet's message limit). */
  epcMode?: EpcMode;
  /** How often the agent checks that kubelet has not reset the EPC node capacity it patched (default 60 s). */
  capacityRecheckMs?: number;
  /** kubelet device-plugins directory (real path as the agent sees it). */
  kubeletDir?: string;
  /** kubelet pod-resources socket; null = no accounting. */
  podResourcesSocket?: string | null;
  /** AESM socket directory as a host path (resolved under hostRoot for the liveness check); null = AESM not used. */
  aesmSocketDir?: string | null;
  /** Labels through the API server; omitted = no API server labels. */
  kube?: { kubeConfig: KubeConfig; nodeName: string };
  /** NFD local feature directory (features.d); omitted = no file. */
  nfdFeaturesDir?: string;
  /** Metrics listener; omitted = none. */
  metrics?: { host: string; port: number };
  /** CPUID dump instead of /dev/cpu/0/cpuid. */
  cpuidDump?: { text: string; name: string; machine?: string };
  logger?: Logger;
  /** Health poll interval (default 1000 ms) and pod-resources poll (default 10 s). */
  healthPollMs?: number;
  accountingIntervalMs?: number;
  /** Device-plugin directory poll (default 500 ms). */
  pluginPollMs?: number;
  enclaveSlots?: number;
  provisionSlots?: number;
}

export interface NodeAgent {
  readonly probe: NodeProbe;
  /** Metrics base URL when --metrics was given. */
  readonly metricsUrl: string | null;
  status(): NodeAgentStatus;
  /** Re-reads pod-resources now (otherwise every accountingIntervalMs). */
  refreshAccounting(): Promise<void>;
  /** Applies EPC limits to container cgroups now (no-op without the sgx_epc misc cgroup or API access). */
  enforceEpcLimits(): Promise<void>;
  /** Re-publishes labels now. */
  publishLabels(): Promise<void>;
  close(): Promise<void>;
}

const NO_CGROUP_NOTE = 'kernel has no sgx_epc misc cgroup: EPC limits are enforced by scheduling only';

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const log = options.logger ?? silentLogger();
  for (const [name, v] of [['healthPollMs', options.healthPollMs], ['accountingIntervalMs', options.accountingIntervalMs], ['pluginPollMs', options.pluginPollMs], ['capacityRecheckMs', options.capacityRecheckMs]] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 10 || v > 3_600_000)) {
      throw new NodeError('AGENT_OPTIONS_INVALID', `${name} must be between 10 and 3600000 ms (got ${v})`, { exitCode: 2 });
    }
  }
  const aesmHostDir = options.aesmSocketDir === undefined ? null : options.aesmSocketDir;
  // AESM counts as used when its directory exists on the host (an AESM DaemonSet or host aesmd created it).
  const aesmInUse = aesmHostDir !== null && existsSync(underRoot(options.hostRoot, aesmHostDir));
  const aesmSocket = aesmInUse ? aesmSocketPath(underRoot(options.hostRoot, aesmHostDir)) : null;
  const probe = await probeNode({
    hostRoot: options.hostRoot,
    aesmSocketDir: aesmInUse ? underRoot(options.hostRoot, aesmHostDir) : null,
    ...(options.cpuidDump ? { cpuidDump: options.cpuidDump } : {}),
  });
  log.info({ usable: probe.usable, epcBytes: probe.epcBytes, driver: probe.driver, aesm: probe.aesm, reasons: probe.reasons }, 'SGX probe');
  const epcMode = resolveEpcMode(options.profile, options.epcMode ?? 'auto', probe.numaEpc);
  const capacity = nodeCapacityFor(probe, options.profile, epcMode);
  if (options.profile === 'alibaba' && epcMode === 'node-capacity' && probe.usable) {
    log.info({ epcMode, capacity }, 'EPC advertised as node capacity; the device plugin serves enclave slots (the webhook adds one per EPC container)');
  }

  const metrics = new NodeAgentMetrics();
  let state: SgxStateWatcher | undefined;
  let plugins: DevicePlugins | undefined;
  let metricsServer: MetricsServer | undefined;
  let accountingTimer: NodeJS.Timeout | undefined;
  let capacityTimer: NodeJS.Timeout | undefined;
  let allocations: ContainerEpc[] = [];
  const accounting: NodeAgentStatus['accounting'] = { lastUpdate: null, error: null };
  const labelState: NodeAgentStatus['labels'] = { published: false, error: null, nfdFile: null };
  const cgroupState: { enforced: string[]; missing: string[]; error: string | null } = {
    enforced: [],
    missing: [],
    error: probe.miscCgroupEpc.available && !options.kube ? 'EPC limits need API access (pod UIDs and container IDs); run with labels enabled' : null,
  };
  let closed = false;

  const status = (): NodeAgentStatus => {
    const resources = (plugins?.status() ?? []).map((p) => ({
      resourceName: p.resourceName,
      total: p.devices.length,
      healthy: p.devices.filter((d) => d.healthy).length,
      registered: p.registered,
      registrations: p.registrations,
      dropped: p.droppedDevices,
    }));
    return {
      profile: options.profile,
      epcMode,
      epcNodeCapacity: capacity,
      usable: probe.usable,
      reasons: probe.reasons,
      epcBytes: probe.epcBytes,
      aesmAlive: state ? state.current().aesmAlive : null,
      resources,
      allocations,
      epcCgroup: {
        ...probe.miscCgroupEpc,
        note: probe.miscCgroupEpc.available ? 'sgx_epc misc cgroup present: container EPC limits written to misc.max' : NO_CGROUP_NOTE,
        enforced: [...cgroupState.enforced],
        missing: [...cgroupState.missing],
        error: cgroupState.error,
      },
      labels: { ...labelState },
      accounting: { ...accounting },
    };
  };
  const updateMetrics = (): void => metrics.update(status());

  const publishLabels = async (): Promise<void> => {
    const labels = nodeLabelsFor(probe, state?.current().aesmAlive === true);
    if (options.nfdFeaturesDir) {
      try {
        labelState.nfdFile = writeNfdFeatureFile(options.nfdFeaturesDir, labels);
      } catch (err) {
        labelState.error = (err as Error).message;
        log.error({ err: labelState.error }, 'NFD feature file not written');
      }
    }
    if (options.kube) {
      try {
        await publishNodeLabels(options.kube, labels, capacity, nodeAnnotationsFor(probe));
        labelState.published = true;
        labelState.error = null;
      } catch (err) {
        labelState.published = false;
        labelState.error = (err as Error).message;
        log.error({ err: labelState.error }, 'node labels not published; will retry on the next change');
      }
    }
  };

  const enforceEpcLimits = async (): Promise<void> => {
    if (!probe.miscCgroupEpc.available || !options.kube) return;
    try {
      const pods = await listNodePods(options.kube.kubeConfig, options.kube.nodeName);
      const r = applyEpcLimits(dirname(underRoot(options.hostRoot, HOST_PATHS.miscCapacity)), pods, allocations, options.profile, epcMode);
      cgroupState.enforced = r.enforced;
      cgroupState.missing = r.missing;
      cgroupState.error = r.errors.length > 0 ? r.errors.join('; ') : null;
    } catch (err) {
      cgroupState.error = (err as Error).message;
      log.warn({ err: cgroupState.error }, 'EPC cgroup limits not applied');
    }
  };

  const refreshAccounting = async (): Promise<void> => {
    if (options.podResourcesSocket) {
      try {
        allocations = accountEpc(await listPodResources(options.podResourcesSocket), options.profile, epcMode);
        accounting.lastUpdate = new Date();
        accounting.error = null;
      } catch (err) {
        accounting.error = `[${(err as { code?: string }).code ?? 'ERROR'}] ${(err as Error).message}`;
        log.warn({ err: accounting.error }, 'EPC accounting failed');
      }
    }
    await enforceEpcLimits();
    updateMetrics();
  };

  /** Re-publishes when kubelet reset the EPC capacity the agent advertises (see nodeCapacityHolds). */
  const recheckCapacity = async (): Promise<void> => {
    if (!options.kube || !capacity) return;
    try {
      if (!(await nodeCapacityHolds(options.kube, capacity))) {
        log.warn({ capacity }, 'EPC node capacity was reset (kubelet restart or resource change); publishing it again');
        await publishLabels();
      }
    } catch (err) {
      labelState.error = (err as Error).message;
      log.warn({ err: labelState.error }, 'EPC node capacity check failed; will retry');
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(accountingTimer);
    clearInterval(capacityTimer);
    await plugins?.close();
    state?.close();
    await metricsServer?.close();
  };

  try {
    if (probe.usable) {
      state = await watchSgxState({ hostRoot: options.hostRoot, aesmSocketPath: aesmSocket, ...(options.healthPollMs ? { pollIntervalMs: options.healthPollMs } : {}), logger: log });
      const parts = sgxDeviceParts(
        {
          profile: options.profile,
          epcMode,
          numaEpc: probe.numaEpc,
          aesmHostDir: aesmInUse ? aesmHostDir : null,
          ...(options.kubeletHostRoot ? { kubeletHostRoot: options.kubeletHostRoot } : {}),
          ...(options.enclaveSlots ? { enclaveSlots: options.enclaveSlots } : {}),
          ...(options.provisionSlots ? { provisionSlots: options.provisionSlots } : {}),
        },
        state,
      );
      plugins = await startDevicePlugins(parts, {
        pluginDir: options.kubeletDir ?? DEFAULT_DEVICE_PLUGIN_DIR,
        logger: log,
        ...(options.pluginPollMs ? { pollIntervalMs: options.pluginPollMs } : {}),
      });
      let registrations = 0;
      for (const s of plugins.servers) {
        s.onStatus(() => {
          updateMetrics();
          // A re-registration means kubelet restarted; a kubelet without its checkpoint resets
          // extended resources in node status (the intel profile's sgx.intel.com/epc), so re-publish.
          const total = plugins?.servers.reduce((sum, x) => sum + x.status().registrations, 0) ?? 0;
          if (total > registrations) {
            const first = registrations === 0;
            registrations = total;
            if (!first && capacity) void publishLabels();
          }
        });
      }
      let lastAesm = state.current().aesmAlive;
      state.subscribe((s) => {
        updateMetrics();
        if (s.aesmAlive !== lastAesm) {
          lastAesm = s.aesmAlive;
          void publishLabels();
        }
      });
    } else {
      // A node without usable SGX is a normal state: no device plugin, labels say sgx=false, metrics report it.
      log.warn({ reasons: probe.reasons }, 'SGX not usable on this node; device plugin not started');
    }
    if (options.metrics) metricsServer = await serveMetrics(metrics, options.metrics, () => !closed);
    await publishLabels();
    await refreshAccounting();
    if (options.podResourcesSocket || (probe.miscCgroupEpc.available && options.kube)) {
      accountingTimer = setInterval(() => void refreshAccounting(), options.accountingIntervalMs ?? 10_000);
      accountingTimer.unref();
    }
    if (options.kube && capacity) {
      capacityTimer = setInterval(() => void recheckCapacity(), options.capacityRecheckMs ?? 60_000);
      capacityTimer.unref();
    }
    updateMetrics();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    probe,
    metricsUrl: metricsServer?.url ?? null,
    status,
    refreshAccounting,
    enforceEpcLimits,
    publishLabels,
    close,
  };
}

/** Healthy device count per resource, for quick checks. */
export function healthyCounts(s: NodeAgentStatus): Record<string, number> {
  return Object.fromEntries(s.resources.map((r) => [r.resourceName, r.healthy]));
}
