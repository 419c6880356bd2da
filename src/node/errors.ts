import { KubeteeError } from '../common/errors.js';

/** Stable codes (docs/node-agent.md lists each; a test checks) of the node side (probe, agent, labels, accounting). */
export const NODE_ERROR_CODES = [
  /** --host-root does not exist or is not a directory. */
  'HOST_ROOT_MISSING',
  /** A host file (sysfs, misc cgroup) has contents we cannot parse. */
  'HOST_FILE_MALFORMED',
  /** --cpuid-dump could not be read. */
  'CPUID_DUMP_UNREADABLE',
  /** Labels need a node name (--node-name or NODE_NAME). */
  'NODE_NAME_MISSING',
  /** No usable kubeconfig / in-cluster config. */
  'KUBE_CONFIG_INVALID',
  /** The API server refused or failed a node label/status patch. */
  'NODE_PATCH_FAILED',
  /** The NFD feature file could not be written. */
  'NFD_WRITE_FAILED',
  /** The metrics listener could not start. */
  'METRICS_LISTEN_FAILED',
  /** Listing this node's pods (for EPC cgroup limits) failed. */
  'POD_LIST_FAILED',
  /** The kubelet pod-resources API failed. */
  'POD_RESOURCES_FAILED',
  /** An option value is out of range or inconsistent. */
  'AGENT_OPTIONS_INVALID',
] as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

export class NodeError extends KubeteeError<NodeErrorCode> {
  constructor(code: NodeErrorCode, message: string, options: { cause?: unknown; hint?: string; exitCode?: number } = {}) {
    super(code, message, options);
  }
}
