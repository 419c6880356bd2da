import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pod as PodModel } from 'kubernetes-models/v1';
import type { ResourceProfile, TrustLevel } from '../../src/common/labels.js';
import { createAdmissionHandler, type AdmissionHandler } from '../../src/webhook/handler.js';
import { applyJsonPatch, type JsonPatchOp } from '../../src/webhook/json-patch.js';
import { DEFAULT_POLICY } from '../../src/webhook/policy/default-policy.js';
import type { AdmissionPolicy } from '../../src/webhook/policy/schema.js';
import type { AdmissionReviewResponse } from '../../src/webhook/review.js';
import type { NamespaceTrust } from '../../src/webhook/trust.js';

export type Obj = Record<string, any>;

/** A minimal valid pod; `spec` fields override. */
export function pod(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: 'team', ...metadata },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...spec },
  };
}

export function container(name: string, extra: Obj = {}): Obj {
  return { name, image: `registry.example/${name}:1`, ...extra };
}

/** Resources with the same map as requests and limits (the common, valid case). */
export function epc(map: Obj): Obj {
  return { resources: { requests: { ...map }, limits: { ...map } } };
}

export function admissionReview(object: unknown, options: { namespace?: string; operation?: string; kind?: Obj } = {}): Obj {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: options.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: options.namespace ?? 'team',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'test' },
      object,
      dryRun: false,
    },
  };
}

/** Validates a pod offline against the Kubernetes OpenAPI schema (throws with the schema errors). */
export function assertValidPod(obj: Obj): void {
  new PodModel(obj as ConstructorParameters<typeof PodModel>[0]).validate();
}

export function decodePatch(r: AdmissionReviewResponse): JsonPatchOp[] {
  if (!r.response.patch) return [];
  assert.equal(r.response.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(r.response.patch, 'base64').toString('utf8')) as JsonPatchOp[];
}

export interface Flow {
  mutate: AdmissionReviewResponse;
  patch: JsonPatchOp[];
  /** The pod after the mutating webhook's patch (the input when mutation denied). */
  mutated: Obj;
  validate: AdmissionReviewResponse;
}

export function handlerFor(profile: ResourceProfile, policy: AdmissionPolicy = DEFAULT_POLICY): AdmissionHandler {
  return createAdmissionHandler({ policy, profile });
}

async function call(h: AdmissionHandler, phase: 'mutate' | 'validate', object: Obj, trust: NamespaceTrust): Promise<AdmissionReviewResponse> {
  const review = admissionReview(object);
  const r = await h.review(phase, review, trust);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const body = r.body as AdmissionReviewResponse;
  assert.equal(body.response.uid, review['request'].uid);
  assert.equal(body.apiVersion, 'admission.k8s.io/v1');
  return body;
}

/**
 * What the API server does: mutate, apply the patch, (reinvoke: must be a
 * no-op), schema-validate the result offline, then validate.
 */
export async function admit(h: AdmissionHandler, input: Obj, trust: TrustLevel | NamespaceTrust): Promise<Flow> {
  assertValidPod(input);
  const mutate = await call(h, 'mutate', input, trust);
  const patch = decodePatch(mutate);
  const mutated = mutate.response.allowed ? applyJsonPatch(input, patch) : input;
  if (mutate.response.allowed) {
    assertValidPod(mutated);
    const again = await call(h, 'mutate', mutated, trust);
    assert.equal(again.response.allowed, true, 'reinvocation must not deny');
    assert.deepEqual(decodePatch(again), [], `reinvocation must give no patch, got ${JSON.stringify(decodePatch(again))}`);
  }
  const validate = await call(h, 'validate', mutated, trust);
  return { mutate, patch, mutated, validate };
}
