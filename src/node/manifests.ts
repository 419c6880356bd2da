/**
 * Facts the deploy component needs to render the node-side DaemonSets: what
 * the node agent and AESM touch on the host, with which access, and why.
 * Plain data (no rendering): src/deploy owns the manifests and imports these.
 */
import { SGX_RESOURCE_NAMES } from '../common/sgx-tolerations.js';
import { RESOURCES, SGX_TAINT } from '../common/labels.js';
import { DEFAULT_DEVICE_PLUGIN_DIR } from '../deviceplugin/api.js';
import { DEFAULT_AESM_SOCKET_DIR, DEFAULT_POD_RESOURCES_SOCKET } from './host-paths.js';

export interface HostPathFact {
  /** Volume name. */
  name: string;
  /** Path on the node. */
  hostPath: string;
  /** Path inside the container. */
  mountPath: string;
  type: 'Directory' | 'DirectoryOrCreate' | 'File' | 'Socket' | 'CharDevice';
  readOnly: boolean;
  why: string;
}

/**
 * SGX node pools are tainted with kubetee's taint or with the name of an SGX
 * resource (intel or alibaba, the ExtendedResourceToleration convention); the
 * node DaemonSets must land there under either, or no EPC is ever advertised.
 */
const SGX_NODE_TOLERATIONS = [
  { key: SGX_TAINT.key, operator: 'Exists', effect: SGX_TAINT.effect },
  ...SGX_RESOURCE_NAMES.map((key) => ({ key, operator: 'Exists', effect: 'NoSchedule' }) as const),
] as const;

/** Node agent (`kubetee node-agent`). With these mounts `--host-root /` sees the host's view of every path it reads. */
export const NODE_AGENT_FACTS = {
  /** Container args (image entrypoint = `kubetee`). `--in-cluster` is implied in a pod; NODE_NAME comes from the downward API. */
  args: (profile: 'alibaba' | 'intel', extra: string[] = []): string[] => [
    'node-agent',
    '--profile', profile,
    '--host-root', '/',
    '--kubelet-dir', DEFAULT_DEVICE_PLUGIN_DIR,
    '--pod-resources-socket', DEFAULT_POD_RESOURCES_SOCKET,
    '--aesm-socket-dir', DEFAULT_AESM_SOCKET_DIR,
    '--in-cluster',
    '--nfd-features-dir', '/etc/kubernetes/node-feature-discovery/features.d',
    '--metrics', '0.0.0.0:9756',
    ...extra,
  ],
  env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
  metricsPort: 9756,
  /** Liveness/readiness: GET /healthz on the metrics port. */
  healthPath: '/healthz',
  hostPaths: [
    { name: 'device-plugins', hostPath: DEFAULT_DEVICE_PLUGIN_DIR, mountPath: DEFAULT_DEVICE_PLUGIN_DIR, type: 'Directory', readOnly: false, why: 'serve the plugin sockets and reach kubelet.sock; watched for kubelet restarts' },
    { name: 'pod-resources', hostPath: '/var/lib/kubelet/pod-resources', mountPath: '/var/lib/kubelet/pod-resources', type: 'Directory', readOnly: true, why: 'EPC accounting per pod (mount the directory, not the socket, to survive kubelet restarts)' },
    { name: 'dev', hostPath: '/dev', mountPath: '/dev', type: 'Directory', readOnly: true, why: 'presence of /dev/sgx_enclave, /dev/sgx_provision, /dev/sgx/*, /dev/isgx (health); /dev/cpu/0/cpuid when readable' },
    { name: 'sys-node', hostPath: '/sys/devices/system/node', mountPath: '/sys/devices/system/node', type: 'Directory', readOnly: true, why: 'EPC bytes per NUMA node (node<N>/x86/sgx_total_bytes)' },
    { name: 'aesmd', hostPath: DEFAULT_AESM_SOCKET_DIR, mountPath: DEFAULT_AESM_SOCKET_DIR, type: 'DirectoryOrCreate', readOnly: true, why: 'AESM liveness (connect to aesm.socket); Allocate hands this host directory to enclave containers' },
    { name: 'cgroup', hostPath: '/sys/fs/cgroup', mountPath: '/sys/fs/cgroup', type: 'Directory', readOnly: false, why: 'sgx_epc misc cgroup: detect misc.capacity, write each SGX container\'s misc.max (only useful on kernels with the EPC cgroup series)' },
    { name: 'nfd-features', hostPath: '/etc/kubernetes/node-feature-discovery/features.d', mountPath: '/etc/kubernetes/node-feature-discovery/features.d', type: 'DirectoryOrCreate', readOnly: false, why: 'NFD local feature file kubetee-sgx (optional; drop with --nfd-features-dir)' },
  ] satisfies HostPathFact[],
  /**
   * Not privileged, no capabilities. Root only because kubelet's directories
   * are root-owned. /proc/cpuinfo is not namespaced, so the container's own
   * shows the host's CPU flags. The root cgroup's misc.capacity is not visible
   * inside a cgroup namespace, hence the /sys/fs/cgroup hostPath (root may
   * write root-owned misc.max files without capabilities).
   */
  securityContext: {
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  /** RBAC: node labels, EPC node capacity (intel; alibaba on large-EPC nodes), and pods on this node for EPC cgroup limits. */
  rbac: [
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
  ],
  tolerations: SGX_NODE_TOLERATIONS,
  priorityClassName: 'system-node-critical',
  resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
} as const;

/** AESM (Intel PSW aesmd, DCAP quoting) DaemonSet facts. */
export const AESM_FACTS = {
  /** aesmd creates aesm.socket here; enclave pods get the same host directory (read-only) from Allocate. */
  socketHostDir: DEFAULT_AESM_SOCKET_DIR,
  socketName: 'aesm.socket',
  hostPaths: [
    { name: 'aesmd-socket', hostPath: DEFAULT_AESM_SOCKET_DIR, mountPath: DEFAULT_AESM_SOCKET_DIR, type: 'DirectoryOrCreate', readOnly: false, why: 'publish aesm.socket to the node' },
  ] satisfies HostPathFact[],
  /** aesmd keeps its state (sealed blobs) in /var/opt/aesmd; an emptyDir is enough (re-created on start). */
  stateDir: '/var/opt/aesmd',
  /** AESM runs the QE/PCE enclaves, so it needs EPC and PROVISIONKEY through the device plugin, not privilege. */
  sgxResources: {
    // The enclave slot carries /dev/sgx_enclave where EPC is node capacity (large-EPC nodes).
    alibaba: { [RESOURCES.alibaba.epc]: '1', [RESOURCES.alibaba.enclave]: '1', [RESOURCES.alibaba.provision]: '1' },
    intel: { [RESOURCES.intel.epc]: '1Mi', [RESOURCES.intel.enclave]: '1', [RESOURCES.intel.provision]: '1' },
  },
  env: [{ name: 'SGX_AESM_ADDR', value: '1' }],
  /** /etc/aesmd.conf and /etc/sgx_default_qcnl.conf (PCCS URL) come from a ConfigMap. */
  config: { aesmdConf: 'default quoting type = ecdsa_256\n', qcnlConfPath: '/etc/sgx_default_qcnl.conf' },
  securityContext: {
    privileged: false,
    allowPrivilegeEscalation: false,
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  /** The node agent marks SGX devices Unhealthy while the socket does not answer; a readiness probe on the socket is enough. */
  readinessExec: ['test', '-S', `${DEFAULT_AESM_SOCKET_DIR}/aesm.socket`],
  tolerations: SGX_NODE_TOLERATIONS,
} as const;
