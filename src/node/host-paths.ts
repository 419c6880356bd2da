/**
 * Where SGX facts live on a Linux host. Every reader takes a host root so the
 * agent can run against `/` on a node, against a hostPath mount (`/host`) in
 * a pod, or against a directory tree in tests.
 */
import { join } from 'node:path';

export const HOST_PATHS = {
  /** cpuid module (CONFIG_X86_CPUID): pread 16 bytes at offset leaf + subleaf * 2^32. */
  cpuidDevice: '/dev/cpu/0/cpuid',
  cpuinfo: '/proc/cpuinfo',
  /** Holds node<N>/x86/sgx_total_bytes (kernel ABI, Nov 2021). */
  numaNodesDir: '/sys/devices/system/node',
  /** cgroup v2 root misc controller: lists `sgx_epc <bytes>` only on kernels with the EPC cgroup series. */
  miscCapacity: '/sys/fs/cgroup/misc.capacity',
} as const;

/** Device nodes that matter for SGX, in the order Allocate lists them. */
export const SGX_DEVICE_PATHS = {
  /** In-kernel driver (5.11+) and DCAP driver >= 1.41. */
  enclave: '/dev/sgx_enclave',
  provision: '/dev/sgx_provision',
  /** Host-side virtual EPC for VMMs (CONFIG_X86_SGX_KVM); never handed to containers. */
  vepc: '/dev/sgx_vepc',
  /** DCAP driver / udev aliases; SGX SDK and PSW builds open these names. */
  enclaveAlias: '/dev/sgx/enclave',
  provisionAlias: '/dev/sgx/provision',
  /** Out-of-tree SGX1 driver (intel/linux-sgx-driver); works without FLC. */
  legacy: '/dev/isgx',
  /** Early DCAP driver: a single node named /dev/sgx (a directory on newer systems). */
  legacyEarly: '/dev/sgx',
} as const;

/** The AESM daemon's socket file inside its directory (Intel PSW default /var/run/aesmd). */
export const AESM_SOCKET_NAME = 'aesm.socket';
export const DEFAULT_AESM_SOCKET_DIR = '/var/run/aesmd';

/** kubelet pod-resources API socket (mount its directory so kubelet restarts are survived). */
export const DEFAULT_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';

/** Resolves an absolute host path under the host root. */
export function underRoot(hostRoot: string, hostPath: string): string {
  return join(hostRoot, hostPath);
}
