import { UpError } from '../errors.js';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESOURCES } from '../../common/labels.js';
import type { Logger } from '../../common/log.js';
import { startNodeAgent, type NodeAgent } from '../../node/agent.js';
import { nodeLabelsFor } from '../../node/labels.js';
import { epcUsage } from '../../node/epc-usage.js';
import { createHostTree, SIMULATED_MACHINES, type SimulatedMachine } from '../../node/testing/host-tree.js';
import { startAesmStandin, type AesmStandin } from '../../node/testing/aesm-standin.js';
import { startPodResourcesStandin, type PodResourcesStandin } from '../../node/testing/pod-resources-standin.js';
import type { PodResourcesPod } from '../../node/pod-resources.js';
import { startKubeletStandin, type KubeletStandin } from '../../deviceplugin/kubelet-standin.js';
import { defaultSocketName, KUBELET_SOCKET_NAME } from '../../deviceplugin/api.js';
import { AESM_SOCKET_NAME, DEFAULT_AESM_SOCKET_DIR } from '../../node/host-paths.js';
import type { NodeView } from '../../dashboard/model.js';
import type { NodePart } from '../parts.js';

const MiB = 1024 * 1024;
/** The simulated node's name everywhere (dashboard, pod placement). */
export const SIM_NODE_NAME = 'sim-sgx-node-0';
/** Two sockets, two EPC sections: shows capacity and allocation per NUMA node. */
export const SIM_NODE_MACHINE: SimulatedMachine = 'icelake-sp-2socket';
const MACHINE_LABEL = 'Xeon Ice Lake-SP, 2 sockets (PhoenixNAP d2.m2.medium CPUID shape)';

export interface SimulatedNode extends NodePart {
  /**
   * Places a pod on the node the way kubelet would: asks the device plugin for
   * a preferred (NUMA-local) set of `epcMiB` EPC devices, allocates them over
   * gRPC and reports the pod in pod-resources. Re-placing the same pod
   * replaces its allocation.
   */
  placePod(namespace: string, name: string, epcMiB: number): Promise<{ numaNodes: number[]; epcBytes: number }>;
  close(): Promise<void>;
}

/**
 * The simulated SGX node of `kubetee up`: a host-root tree generated from a
 * real CPUID fixture's shape, an AESM stand-in, and the real node agent whose
 * device plugin registers with a kubelet stand-in over a unix socket in the
 * data dir; pod-resources is a stand-in too, so the EPC accounting is the
 * agent's own.
 */
/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH = 107;

/** Every unix socket the simulated node binds under `dir`, including the device plugin's temporary bind name. */
export function simulatedNodeSockets(dir: string): string[] {
  return [
    join(dir, 'kubelet', KUBELET_SOCKET_NAME),
    ...Object.values(RESOURCES.alibaba).map((resource) => join(dir, 'kubelet', defaultSocketName(resource))),
    join(dir, 'kubelet', `.kt-${4_194_304}-${999_999}.sock`),
    join(dir, 'pod-resources', 'kubelet.sock'),
    join(dir, 'host', DEFAULT_AESM_SOCKET_DIR, AESM_SOCKET_NAME),
  ];
}

export async function startSimulatedNode(dataDir: string, logger: Logger): Promise<SimulatedNode> {
  const dir = join(dataDir, 'node');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Unix socket paths are limited to 107 bytes; fail with a clear message, not an EINVAL from gRPC.
  const longest = simulatedNodeSockets(dir).reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a));
  if (Buffer.byteLength(longest) > MAX_UNIX_SOCKET_PATH) {
    throw new UpError('DATA_DIR_PATH_TOO_LONG', `the data dir path is too long for the simulated node's unix sockets (${longest} is ${Buffer.byteLength(longest)} bytes, the limit is ${MAX_UNIX_SOCKET_PATH})`, {
      hint: 'pass a shorter --data-dir (for example ./.kubetee)',
    });
  }
  const tree = createHostTree(join(dir, 'host'), { machine: SIM_NODE_MACHINE, driver: 'in-kernel' });
  const started: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
  };
  let aesm: AesmStandin, kubelet: KubeletStandin, podResources: PodResourcesStandin, agent: NodeAgent;
  try {
    aesm = await startAesmStandin(tree.aesmSocketDir);
    started.push(aesm);
    kubelet = await startKubeletStandin({ dir: join(dir, 'kubelet') });
    started.push(kubelet);
    podResources = await startPodResourcesStandin(join(dir, 'pod-resources', 'kubelet.sock'));
    started.push(podResources);
    agent = await startNodeAgent({
      hostRoot: tree.root,
      profile: 'alibaba',
      kubeletDir: kubelet.dir,
      podResourcesSocket: podResources.socketPath,
      aesmSocketDir: '/var/run/aesmd',
      logger,
      accountingIntervalMs: 60_000,
    });
    started.push(agent);
    await kubelet.waitFor(() => (kubelet.resource(RESOURCES.alibaba.epc)?.devices.length ?? 0) > 0, 'the EPC device plugin to register with the kubelet stand-in', 15_000);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const pods = new Map<string, PodResourcesPod>();
  const placementsFile = join(dir, 'placements.json');
  const placements = new Map<string, { namespace: string; name: string; epcMiB: number }>();
  const savePlacements = (): void => {
    writeFileSync(`${placementsFile}.tmp`, JSON.stringify([...placements.values()]), { mode: 0o600 });
    renameSync(`${placementsFile}.tmp`, placementsFile);
  };

  /** NUMA node of each EPC device as the plugin advertised it to kubelet. */
  const numaOf = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (const d of kubelet.resource(RESOURCES.alibaba.epc)?.devices ?? []) m.set(d.ID, d.topology?.nodes?.[0]?.ID ?? 0);
    return m;
  };

  const node: SimulatedNode = {
    async nodes(): Promise<NodeView[]> {
      const status = agent.status();
      // The same computation the real-kubelet e2e tier checks against a real kubelet's pod-resources.
      const usage = epcUsage([...numaOf()].map(([id, numaNode]) => ({ id, numaNode })), status.allocations);
      const shape = SIMULATED_MACHINES[SIM_NODE_MACHINE];
      return [
        {
          name: SIM_NODE_NAME,
          source: MACHINE_LABEL,
          sgx1: shape.sgx1,
          sgx2: shape.sgx2,
          flc: shape.flc,
          driver: agent.probe.driver,
          aesm: status.aesmAlive === true,
          resourceName: RESOURCES.alibaba.epc,
          capacityBytes: usage.capacityBytes,
          allocatedBytes: usage.allocatedBytes,
          sections: usage.sections,
          labels: nodeLabelsFor(agent.probe, status.aesmAlive === true),
        },
      ];
    },
    async placePod(namespace, name, epcMiB) {
      const resource = RESOURCES.alibaba.epc;
      const key = `${namespace}/${name}`;
      pods.delete(key);
      const taken = new Set([...pods.values()].flatMap((p) => p.containers.flatMap((c) => c.devices.flatMap((d) => d.device_ids))));
      const numa = numaOf();
      const free = [...numa.keys()].filter((id) => !taken.has(id));
      if (free.length < epcMiB) {
        throw new UpError('SIM_NODE_EPC_EXHAUSTED', `${SIM_NODE_NAME} has ${free.length} MiB of EPC free, ${key} asks for ${epcMiB} MiB`, { hint: 'ask for less EPC' });
      }
      const preferred = await kubelet.preferredAllocation(resource, [{ available_deviceIDs: free, must_include_deviceIDs: [], allocation_size: epcMiB }]);
      const ids = preferred.container_responses[0]?.deviceIDs ?? [];
      const chosen = ids.length === epcMiB ? ids : free.slice(0, epcMiB);
      await kubelet.allocate(resource, [chosen]);
      pods.set(key, { name, namespace, containers: [{ name: 'enclave', devices: [{ resource_name: resource, device_ids: chosen }] }] });
      podResources.setPods([...pods.values()]);
      await agent.refreshAccounting();
      placements.set(key, { namespace, name, epcMiB });
      savePlacements();
      return { numaNodes: [...new Set(chosen.map((id) => numa.get(id) ?? 0))].sort(), epcBytes: chosen.length * MiB };
    },
    close: closeAll,
  };
  // Pods placed before a restart are placed again, so the node shows the same allocations.
  if (existsSync(placementsFile)) {
    try {
      const saved = JSON.parse(readFileSync(placementsFile, 'utf8')) as { namespace: string; name: string; epcMiB: number }[];
      for (const p of saved) await node.placePod(p.namespace, p.name, p.epcMiB);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'simulated node: earlier pod placements could not be restored');
    }
  }
  return node;
}
