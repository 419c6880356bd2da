/** `kubetee node-agent`: flags → startNodeAgent → run until SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import type { NodeAgentOptions } from './agent.js';
import { NodeError } from './errors.js';
import { DEFAULT_AESM_SOCKET_DIR, DEFAULT_POD_RESOURCES_SOCKET } from './host-paths.js';
import { parseListenAddress } from './listen-address.js';
import { readCpuidDumpFile } from './read-dump.js';
// api.ts has no runtime imports: declaring the command loads no gRPC or Kubernetes client code.
import { DEFAULT_DEVICE_PLUGIN_DIR } from '../deviceplugin/api.js';
import { parseEpcMode, parseProfile } from './profile-option.js';
import type { EpcMode } from '../common/labels.js';
import { waitForShutdownSignal } from '../common/signals.js';

interface AgentFlags {
  hostRoot: string;
  kubeletHostRoot: string;
  profile: 'alibaba' | 'intel';
  epcMode: EpcMode;
  kubeletDir: string;
  podResourcesSocket: string;
  aesmSocketDir: string;
  nodeName?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  labels: boolean;
  nfdFeaturesDir?: string;
  metrics?: string;
  cpuidDump?: string;
  machine?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/**
 * Declares `kubetee node-agent` and, hidden, `kubetee node agent` (the same
 * command under the `node` group, so either spelling works in manifests).
 */
export function registerNodeAgent(program: Command, nodeGroup: Command): void {
  declareAgent(program.command('node-agent'));
  declareAgent(nodeGroup.command('agent', { hidden: true }));
}

function declareAgent(cmd: Command): void {
  cmd
    .description('run the SGX node agent: detection, EPC device plugin, node labels, EPC accounting, metrics')
    .option('--host-root <dir>', 'root of the host filesystem (e.g. /host in a pod)', '/')
    .option('--kubelet-host-root <dir>', 'the host root as the kubelet sees it: prefix of the device and AESM paths handed out (a simulated host tree on the kubelet\'s machine: same as --host-root)', '/')
    .option('--profile <name>', 'resource profile: alibaba (sgx_epc_MiB) or intel (enclave/provision slots + sgx.intel.com/epc)', parseProfile, 'alibaba')
    .option('--epc-mode <mode>', 'alibaba profile: EPC as one device per MiB (devices), as node capacity with enclave slots (node-capacity), or devices while they fit kubelet\'s 4 MiB message (auto)', parseEpcMode, 'auto')
    .option('--kubelet-dir <dir>', 'kubelet device-plugins directory', DEFAULT_DEVICE_PLUGIN_DIR)
    .option('--pod-resources-socket <path>', 'kubelet pod-resources socket ("" disables EPC accounting)', DEFAULT_POD_RESOURCES_SOCKET)
    .option('--aesm-socket-dir <dir>', 'AESM socket directory on the host ("" disables AESM)', DEFAULT_AESM_SOCKET_DIR)
    .option('--node-name <name>', 'this node\'s name (default: $NODE_NAME)')
    .option('--kubeconfig <file>', 'kubeconfig for publishing node labels')
    .option('--in-cluster', 'use the pod\'s service account for node labels (default when $KUBERNETES_SERVICE_HOST is set)')
    .option('--no-labels', 'do not publish node labels through the API server')
    .option('--nfd-features-dir <dir>', 'also write labels as an NFD local feature file into this directory')
    .option('--metrics <address>', 'serve Prometheus /metrics and /healthz on host:port')
    .option('--cpuid-dump <file>', 'decode this CPUID dump instead of /dev/cpu/0/cpuid')
    .option('--machine <title>', 'machine to use from a multi-machine CPUID dump')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(async (flags: AgentFlags) => {
      // Flags are validated first; heavy modules (gRPC, Kubernetes client) load only when needed.
      const logger = createLogger({ level: flags.logLevel, name: 'kubetee-node-agent' });
      const options: NodeAgentOptions = {
        hostRoot: resolve(flags.hostRoot),
        kubeletHostRoot: resolve(flags.kubeletHostRoot),
        profile: flags.profile,
        epcMode: flags.epcMode,
        kubeletDir: resolve(flags.kubeletDir),
        podResourcesSocket: flags.podResourcesSocket === '' ? null : resolve(flags.podResourcesSocket),
        aesmSocketDir: flags.aesmSocketDir === '' ? null : resolve('/', flags.aesmSocketDir),
        logger,
      };
      if (flags.metrics) options.metrics = parseListenAddress(flags.metrics);
      if (flags.labels) {
        // Env is read here, at the edge, and nowhere in the library.
        const nodeName = flags.nodeName ?? process.env['NODE_NAME'];
        if (!nodeName) {
          throw new NodeError('NODE_NAME_MISSING', 'node labels need the node name', {
            hint: 'pass --node-name (in a DaemonSet: env NODE_NAME from spec.nodeName) or --no-labels',
            exitCode: 2,
          });
        }
        const { loadKubeConfig } = await import('./labels.js');
        // In a pod (service env present) the service account is the natural default.
        const inCluster = flags.inCluster === true || (!flags.kubeconfig && Boolean(process.env['KUBERNETES_SERVICE_HOST']));
        options.kube = { kubeConfig: await loadKubeConfig({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(inCluster ? { inCluster: true } : {}) }), nodeName };
      }
      if (flags.nfdFeaturesDir) options.nfdFeaturesDir = resolve(flags.nfdFeaturesDir);
      if (flags.cpuidDump) options.cpuidDump = readCpuidDumpFile(flags.cpuidDump, flags.machine);
      const { startNodeAgent } = await import('./agent.js');
      const agent = await startNodeAgent(options);
      const s = agent.status();
      process.stdout.write(
        [
          `kubetee node-agent running (profile ${s.profile}, EPC as ${s.epcMode === 'devices' ? 'one device per MiB' : 'node capacity'})`,
          `  SGX: ${s.usable ? `usable, EPC ${s.epcBytes} bytes, driver ${agent.probe.driver}` : `not usable (${s.reasons.join('; ')})`}`,
          ...s.resources.map((r) => `  resource ${r.resourceName}: ${r.healthy}/${r.total} healthy`),
          `  EPC limits: ${s.epcCgroup.note}`,
          ...(agent.metricsUrl ? [`  metrics: ${agent.metricsUrl}/metrics`] : []),
          '',
        ].join('\n'),
      );
      // On a node without SGX nothing else holds the event loop open, and the agent must keep running.
      await waitForShutdownSignal({ keepAlive: true });
      await agent.close();
      process.stdout.write('kubetee node-agent stopped\n');
    });
}
