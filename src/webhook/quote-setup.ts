import { INTEL_QUOTE_PROVIDER_ANNOTATION, QUOTE_PROVIDER_ANNOTATION } from '../common/labels.js';
import { listContainers, type Pod } from './pod.js';

/** Name of the AESM sidecar container and the quote-provider value selecting AESM (Intel's convention). */
export const AESMD = 'aesmd';

/**
 * How the pod gets SGX quotes, from its quote-provider annotation:
 * - `none`: it does not quote (or quotes elsewhere);
 * - `aesmd`: through the AESM socket, served by a node DaemonSet or an `aesmd` sidecar;
 * - `in-process`: the named container quotes itself with DCAP and needs /dev/sgx_provision.
 */
export interface QuoteSetup {
  readonly mode: 'none' | 'aesmd' | 'in-process';
  /** Which annotation set it (for messages). */
  readonly annotation?: string;
  /** The container that opens /dev/sgx_provision, when the pod has one. */
  readonly quotingContainer?: string;
  /** AESM runs as a sidecar in this pod (socket shared through a memory emptyDir). */
  readonly aesmSidecar: boolean;
}

export function readQuoteSetup(pod: Pod): QuoteSetup {
  const annotations = pod.metadata?.annotations ?? {};
  const annotation = annotations[QUOTE_PROVIDER_ANNOTATION] !== undefined ? QUOTE_PROVIDER_ANNOTATION : annotations[INTEL_QUOTE_PROVIDER_ANNOTATION] !== undefined ? INTEL_QUOTE_PROVIDER_ANNOTATION : undefined;
  const value = annotation ? annotations[annotation]!.trim() : '';
  if (!annotation || value === '') return { mode: 'none', aesmSidecar: false };
  if (value === AESMD) {
    const sidecar = listContainers(pod).some((r) => r.container.name === AESMD && r.kind !== 'initContainer');
    return sidecar ? { mode: 'aesmd', annotation, quotingContainer: AESMD, aesmSidecar: true } : { mode: 'aesmd', annotation, aesmSidecar: false };
  }
  return { mode: 'in-process', annotation, quotingContainer: value, aesmSidecar: false };
}
