/**
 * Names every component agrees on: node labels the node agent publishes, the
 * taint on SGX nodes, the namespace trust label, and the EPC resource names of
 * each profile. Change them here only; webhook, node agent, deploy and doctor
 * all import from this module.
 */

/** Prefix of every kubetee label and annotation. */
export const LABEL_PREFIX = 'kubetee.io';

/** Namespace label selecting the trust level (`confidential`, `sandboxed`, `standard`). */
export const TRUST_LABEL = 'kubetee.io/trust';
export const TRUST_LEVELS = ['confidential', 'sandboxed', 'standard'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/** Node labels published by the node agent. Values are label-safe strings. */
export const NODE_LABELS = {
  /** "true" on nodes with usable SGX (driver present and EPC > 0). */
  sgx: 'kubetee.io/sgx',
  /** "true" when Flexible Launch Control is available (required by the in-kernel driver). */
  flc: 'kubetee.io/sgx.flc',
  /** "true" when SGX2 (EDMM) is available. */
  sgx2: 'kubetee.io/sgx.sgx2',
  /** Total EPC in MiB, as a decimal string. */
  epcMiB: 'kubetee.io/sgx.epc-mib',
  /** "in-kernel" | "legacy" | "none". */
  driver: 'kubetee.io/sgx.driver',
  /** "true" when the AESM socket answers. */
  aesm: 'kubetee.io/sgx.aesm',
} as const;

/** Node annotations published by the node agent. */
export const NODE_ANNOTATIONS = {
  /** "enforced" when the kernel's sgx_epc misc cgroup limits each container, else "scheduling-only". */
  epcLimits: 'kubetee.io/sgx.epc-limits',
} as const;

/** Taint the operator puts on SGX nodes so only enclave workloads land there. */
export const SGX_TAINT = { key: 'kubetee.io/sgx', value: 'true', effect: 'NoSchedule' } as const;

/** EPC resource profiles (see docs/node-agent.md). */
export const RESOURCES = {
  alibaba: {
    /** One device per MiB of EPC (Alibaba ACK-TEE compatible). */
    epc: 'alibabacloud.com/sgx_epc_MiB',
    /**
     * kubetee addition: /dev/sgx_enclave slots. Carry device access when EPC is a node
     * extended resource (EPC too large for one device per MiB); the webhook adds one to
     * every EPC container, as Intel's does with sgx.intel.com/enclave.
     */
    enclave: 'alibabacloud.com/sgx_enclave',
    /** kubetee addition: /dev/sgx_provision slots, so provisioning is handed only to containers that ask. */
    provision: 'alibabacloud.com/sgx_provision',
  },
  intel: {
    /** EPC in bytes, advertised as an extended resource on the node. */
    epc: 'sgx.intel.com/epc',
    enclave: 'sgx.intel.com/enclave',
    provision: 'sgx.intel.com/provision',
  },
  azure: {
    /** Accepted in manifests and translated; never advertised by kubetee. */
    epc: 'kubernetes.azure.com/sgx_epc_mem_in_MiB',
  },
} as const;

export type ResourceProfile = 'alibaba' | 'intel';

/**
 * How the alibaba profile advertises EPC (docs/node-agent.md, "Large EPC"):
 * `devices`: one device-plugin device per MiB (ACK-TEE compatible);
 * `node-capacity`: the node agent patches the MiB count into node status and
 * the device plugin hands out device access only (enclave slots);
 * `auto`: `devices` when every device fits kubelet's 4 MiB ListAndWatch
 * message, else `node-capacity`. The intel profile always uses node capacity.
 */
export const EPC_MODES = ['auto', 'devices', 'node-capacity'] as const;
export type EpcMode = (typeof EPC_MODES)[number];

/** Pod annotation Kata uses to size a sandbox VM's EPC (a quantity such as "64Mi"). */
export const KATA_EPC_ANNOTATION = 'sgx.intel.com/epc';

/** Pod annotation by which a pod opts into another trust level (where the policy allows it). */
export const POD_TRUST_ANNOTATION = 'kubetee.io/trust';

/**
 * Pod annotation naming who produces SGX quotes: "aesmd" (the AESM service,
 * as a DaemonSet on the node or an `aesmd` sidecar) or the name of the
 * container that quotes in-process (DCAP). Intel's webhook reads the same
 * values from `sgx.intel.com/quote-provider`, which is accepted too.
 */
export const QUOTE_PROVIDER_ANNOTATION = 'kubetee.io/quote-provider';
export const INTEL_QUOTE_PROVIDER_ANNOTATION = 'sgx.intel.com/quote-provider';
