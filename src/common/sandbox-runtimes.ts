/**
 * The sandbox runtimes kubetee knows: the one source for the RuntimeClasses
 * `install` creates, the trust policy's defaults, how a confidential pod's
 * enclave gets its EPC in each runtime, and the table in docs/admission.md
 * (a test compares them).
 *
 * A RuntimeClass *name* is only a name: the trust policy decides which classes
 * count as a sandbox (an operator could name a runc class "kata"). The
 * catalogue is consulted by name only for the EPC facts of confidential pods
 * whose class the policy does not declare, and by handler when install values
 * create a class.
 */
import type { ResourceProfile } from './labels.js';

/**
 * How a runtime hands an enclave its EPC:
 * - `annotation`: a VM sized from the pod annotation `sgx.intel.com/epc`
 *   (Kata with QEMU or Cloud Hypervisor; containerd must pass that annotation
 *   through, `pod_annotations` in the runtime's containerd configuration);
 * - `unsupported`: the runtime cannot give its guest an EPC section, so an
 *   enclave would fail at run time; confidential pods requesting EPC are denied.
 */
export const EPC_CARRIAGE = ['annotation', 'unsupported'] as const;
export type EpcCarriage = (typeof EPC_CARRIAGE)[number];

export interface SandboxRuntime {
  /** Conventional RuntimeClass name. */
  readonly name: string;
  /** CRI handler (containerd runtime name). */
  readonly handler: string;
  readonly family: 'kata' | 'runv' | 'gvisor';
  readonly epc: EpcCarriage;
  /** Why, in one clause (denials and docs). */
  readonly epcReason: string;
  /** overhead.podFixed of the RuntimeClass install creates. */
  readonly overhead: { readonly cpu: string; readonly memory: string };
  /** Node label (value "true") marking nodes that run this runtime. */
  readonly nodeLabel: string;
  /** Profiles whose default install creates this class. */
  readonly createdFor: readonly ResourceProfile[];
}

/** Node labels that mark nodes able to run a sandbox runtime (kata-deploy sets the Kata one itself). */
export const SANDBOX_NODE_LABELS = {
  kata: 'katacontainers.io/kata-runtime',
  gvisor: 'kubetee.io/runtime.gvisor',
  runv: 'kubetee.io/runtime.runv',
} as const;

const KATA_EPC = 'Kata sizes the VM\'s EPC section from the pod annotation sgx.intel.com/epc';
const GVISOR_EPC = 'gVisor runs the pod on its own user-space kernel, which offers no SGX device, so an enclave cannot start';

/**
 * Overheads: kata-deploy's (160Mi/250m for QEMU, 130Mi/250m for Cloud
 * Hypervisor and Firecracker); runV's upper bound (64 MiB + 2% of the pod,
 * clamped to 512 MiB) so scheduling is never optimistic; a small fixed gVisor one.
 */
export const SANDBOX_RUNTIMES: readonly SandboxRuntime[] = Object.freeze([
  {
    name: 'runv',
    handler: 'runv',
    family: 'runv',
    epc: 'unsupported',
    epcReason: 'runV (ACK Sandboxed-Container) passes no host devices into its VM and documents no way to give it an EPC section',
    overhead: { cpu: '250m', memory: '512Mi' },
    nodeLabel: SANDBOX_NODE_LABELS.runv,
    createdFor: ['alibaba'],
  },
  { name: 'kata-qemu', handler: 'kata-qemu', family: 'kata', epc: 'annotation', epcReason: KATA_EPC, overhead: { cpu: '250m', memory: '160Mi' }, nodeLabel: SANDBOX_NODE_LABELS.kata, createdFor: ['alibaba', 'intel'] },
  { name: 'gvisor', handler: 'runsc', family: 'gvisor', epc: 'unsupported', epcReason: GVISOR_EPC, overhead: { cpu: '100m', memory: '64Mi' }, nodeLabel: SANDBOX_NODE_LABELS.gvisor, createdFor: ['alibaba', 'intel'] },
  // Conventional names other installers create (the CoCo operator: kata, kata-clh, kata-qemu; kata-deploy: kata-*).
  { name: 'kata', handler: 'kata', family: 'kata', epc: 'annotation', epcReason: KATA_EPC, overhead: { cpu: '250m', memory: '160Mi' }, nodeLabel: SANDBOX_NODE_LABELS.kata, createdFor: [] },
  { name: 'kata-clh', handler: 'kata-clh', family: 'kata', epc: 'annotation', epcReason: KATA_EPC, overhead: { cpu: '250m', memory: '130Mi' }, nodeLabel: SANDBOX_NODE_LABELS.kata, createdFor: [] },
  {
    name: 'kata-fc',
    handler: 'kata-fc',
    family: 'kata',
    epc: 'unsupported',
    epcReason: 'Firecracker gives its guests no SGX, so the Kata EPC annotation has no effect there',
    overhead: { cpu: '250m', memory: '130Mi' },
    nodeLabel: SANDBOX_NODE_LABELS.kata,
    createdFor: [],
  },
  { name: 'runsc', handler: 'runsc', family: 'gvisor', epc: 'unsupported', epcReason: GVISOR_EPC, overhead: { cpu: '100m', memory: '64Mi' }, nodeLabel: SANDBOX_NODE_LABELS.gvisor, createdFor: [] },
] satisfies SandboxRuntime[]);

/** The profile used when none is given (install values, `webhook serve`). */
export const DEFAULT_PROFILE: ResourceProfile = 'alibaba';

/** A runtime by its conventional RuntimeClass name. */
export function knownRuntimeByName(name: string): SandboxRuntime | undefined {
  return SANDBOX_RUNTIMES.find((r) => r.name === name);
}

/** A runtime by its CRI handler (several names may share one; the first is the canonical one). */
export function knownRuntimeByHandler(handler: string): SandboxRuntime | undefined {
  return SANDBOX_RUNTIMES.find((r) => r.handler === handler);
}

/** The RuntimeClasses a default install of `profile` creates, in order (the first is injected into sandboxed pods). */
export function defaultSandboxRuntimes(profile: ResourceProfile): SandboxRuntime[] {
  return SANDBOX_RUNTIMES.filter((r) => r.createdFor.includes(profile));
}
