import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch } from '../../src/webhook/json-patch.js';
import type { AdmissionReviewResponse } from '../../src/webhook/review.js';
import { admissionReview, container, decodePatch, epc, handlerFor, pod, type Obj } from './helpers.js';
import { seededRandom as rng } from '../helpers/random.js';


const JUNK: unknown[] = [null, 0, -1, 1.5, '', 'x', '64Mi', 'lots', true, [], {}, [null], { a: 1 }, '/dev/sgx_enclave', 'Always', 1e308];

/** Every path (as key lists) of a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function setAt(root: Obj, path: (string | number)[], value: unknown): void {
  let o: any = root;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path.at(-1)!] = value;
}

test('corrupted pods never crash the webhook: every review is answered, denials are coded, admitted patches apply', async () => {
  const next = rng(20261126);
  const base = pod(
    {
      runtimeClassName: 'kata',
      initContainers: [container('init', { restartPolicy: 'Always', ...epc({ 'alibabacloud.com/sgx_epc_MiB': '4' }) })],
      containers: [container('app', { ...epc({ 'sgx.intel.com/epc': '8Mi' }), env: [{ name: 'A', value: 'b' }], volumeMounts: [{ name: 'v', mountPath: '/v' }], securityContext: { privileged: false } })],
      volumes: [{ name: 'v', hostPath: { path: '/var/lib/x' } }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'z', operator: 'In', values: ['a'] }] }] } } },
    },
    { annotations: { 'kubetee.io/quote-provider': 'aesmd', 'kubetee.io/trust': 'confidential' } },
  );
  const all = paths(base).filter((p) => p.length > 0);
  const handlers = [handlerFor('intel'), handlerFor('alibaba')];
  let admitted = 0;
  let denied = 0;
  for (let i = 0; i < 400; i++) {
    const obj = structuredClone(base);
    for (let k = 1 + Math.floor(next() * 3); k > 0; k--) {
      const candidates = paths(obj).filter((p) => p.length > 0);
      const p = candidates[Math.floor(next() * candidates.length)] ?? all[0]!;
      setAt(obj, p, structuredClone(JUNK[Math.floor(next() * JUNK.length)]));
    }
    const level = (['confidential', 'sandboxed', 'standard'] as const)[i % 3];
    const h = handlers[i % 2]!;
    for (const phase of ['mutate', 'validate'] as const) {
      const r = await h.review(phase, admissionReview(obj), level);
      assert.equal(r.status, 200, `case ${i}: ${JSON.stringify(r.body)}`);
      const resp = (r.body as AdmissionReviewResponse).response;
      if (resp.allowed) {
        admitted++;
        if (phase === 'mutate') applyJsonPatch(obj, decodePatch(r.body as AdmissionReviewResponse));
      } else {
        denied++;
        assert.match(resp.status!.message, /\[[a-z-]+\.[a-z-]+\]/, `case ${i}: a denial names its rule`);
        assert.notEqual(resp.auditAnnotations?.['code'], 'RULE_FAILED', `case ${i}: a rule crashed on ${JSON.stringify(obj)}: ${resp.status!.message}`);
      }
    }
  }
  assert.ok(admitted > 20 && denied > 50, `both outcomes occur (admitted ${admitted}, denied ${denied})`);
});
