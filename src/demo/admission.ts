import { randomUUID } from 'node:crypto';
import { requestJson } from './http-client.js';
import { applyJsonPatch, type JsonPatchOp } from '../webhook/json-patch.js';

export interface AdmissionOutcome {
  allowed: boolean;
  /** JSON-patch operations the webhook returned (mutations). */
  patchOps: number;
  message: string;
  /** The pod with the patch applied (what the API server would store). */
  pod: Record<string, unknown>;
  /** The review's request uid: the API server sends one request to every webhook under the same uid. */
  uid: string;
}

/** The pod the model owner deploys: one enclave container asking for EPC the Azure way (the webhook translates it). */
export function modelServerPod(epcMiB: number, privileged = false): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: privileged ? 'model-server-debug-shell' : 'model-server', namespace: 'demo' },
    spec: {
      containers: [
        {
          name: 'enclave',
          image: 'registry.example/model-server:1.0',
          resources: { requests: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': String(epcMiB) }, limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': String(epcMiB) } },
          ...(privileged ? { securityContext: { privileged: true } } : {}),
        },
      ],
    },
  };
}

/**
 * Sends the pod to the webhook as the API server would (an AdmissionReview
 * for CREATE) on the path of a `confidential` namespace.
 */
export async function reviewPod(url: string, phase: 'mutate' | 'validate', pod: Record<string, unknown>, uid: string = randomUUID()): Promise<AdmissionOutcome> {
  const meta = pod['metadata'] as { name: string; namespace: string };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: meta.name,
      namespace: meta.namespace,
      operation: 'CREATE',
      userInfo: { username: 'demo:model-owner' },
      object: pod,
      dryRun: false,
    },
  };
  const r = await requestJson<{ response: { allowed: boolean; patch?: string; status?: { message?: string } } }>('POST', `${url}/webhook/${phase}/confidential`, { body: review });
  const patch = r.response.patch ? (JSON.parse(Buffer.from(r.response.patch, 'base64').toString('utf8')) as JsonPatchOp[]) : [];
  return { allowed: r.response.allowed, patchOps: patch.length, message: r.response.status?.message ?? '', pod: patch.length ? applyJsonPatch(pod, patch) : pod, uid };
}
