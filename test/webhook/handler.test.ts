import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { createAdmissionHandler } from '../../src/webhook/handler.js';
import { DEFAULT_POLICY } from '../../src/webhook/policy/default-policy.js';
import type { AdmissionPolicy } from '../../src/webhook/policy/schema.js';
import { admissionReview, container, epc, pod } from './helpers.js';

async function app(options: { policy?: AdmissionPolicy; namespaceTrust?: (ns: string) => 'confidential' | 'sandboxed' | undefined } = {}) {
  const handler = createAdmissionHandler({ policy: options.policy ?? DEFAULT_POLICY, profile: 'intel', ...(options.namespaceTrust ? { namespaceTrust: options.namespaceTrust } : {}) });
  const a = Fastify();
  // Mounted under a prefix, the way `kubetee up` embeds it.
  await a.register(handler.plugin, { prefix: '/admission' });
  return { a, handler };
}

test('bad AdmissionReview bodies get 400 with a clear message, never a 500', async () => {
  const { a, handler } = await app();
  const bodies: [string, string | undefined, RegExp][] = [
    ['{not json', 'application/json', /cannot read the request/],
    ['', 'application/json', /cannot read the request/],
    ['null', 'application/json', /not an AdmissionReview/],
    ['[]', 'application/json', /not an AdmissionReview/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), 'application/json', /apiVersion: must be "admission\.k8s\.io\/v1"/],
    [JSON.stringify({ ...admissionReview(pod()), request: { ...admissionReview(pod())['request'], uid: '' } }), 'application/json', /request\.uid/],
    [JSON.stringify({ ...admissionReview(pod()), request: { ...admissionReview(pod())['request'], operation: 'EXPLODE' } }), 'application/json', /request\.operation/],
    [JSON.stringify({ ...admissionReview(null) }), 'application/json', /request\.object is missing/],
    ['apiVersion: admission.k8s.io/v1', 'text/yaml', /cannot read the request/],
  ];
  for (const [payload, type, pattern] of bodies) {
    for (const path of ['/admission/mutate', '/admission/validate/confidential']) {
      const r = await a.inject({ method: 'POST', url: path, payload, headers: type ? { 'content-type': type } : {} });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${path} ${payload.slice(0, 40)} → ${r.statusCode} ${r.body}`);
      const body = r.json() as { code: string; message: string; hint: string };
      assert.equal(body.code, 'ADMISSION_REVIEW_INVALID');
      assert.match(body.message, pattern);
      assert.ok(body.hint);
    }
  }
  const unknown = await a.inject({ method: 'POST', url: '/admission/mutate/secret', payload: admissionReview(pod()) });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().hint, /\/mutate\/confidential/);
  const tooBig = await a.inject({ method: 'POST', url: '/admission/mutate', payload: JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } });
  assert.equal(tooBig.statusCode, 413);
  const metrics = await handler.metrics.registry.getSingleMetricAsString('kubetee_webhook_bad_requests_total');
  assert.match(metrics, /phase="mutate"} \d+/);
  await a.close();
});

test('a pod is decided per path level; operations other than CREATE and non-pods are handled explicitly', async () => {
  const { a } = await app();
  const sgxPod = pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' }))] });
  // The API server appends ?timeout=Ns to the webhook URL.
  const mutate = await a.inject({ method: 'POST', url: '/admission/mutate/confidential?timeout=5s', payload: admissionReview(sgxPod) });
  assert.equal(mutate.statusCode, 200);
  const m = mutate.json().response;
  assert.equal(m.allowed, true);
  assert.equal(m.patchType, 'JSONPatch');
  assert.ok(JSON.parse(Buffer.from(m.patch, 'base64').toString()).length > 0);

  const standard = await a.inject({ method: 'POST', url: '/admission/validate/standard', payload: admissionReview(sgxPod) });
  assert.equal(standard.json().response.allowed, false);
  assert.equal(standard.json().response.status.code, 403);

  const update = await a.inject({ method: 'POST', url: '/admission/validate/standard', payload: admissionReview(sgxPod, { operation: 'UPDATE' }) });
  assert.equal(update.json().response.allowed, true);

  const deployment = await a.inject({ method: 'POST', url: '/admission/validate/confidential', payload: admissionReview({ kind: 'Deployment' }, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }) });
  assert.equal(deployment.json().response.allowed, false);
  assert.match(deployment.json().response.status.message, /admits pods only, got apps\/v1\/Deployment/);

  const invalid = await a.inject({ method: 'POST', url: '/admission/validate/invalid-label', payload: admissionReview(pod()) });
  assert.equal(invalid.json().response.allowed, false);
  assert.match(invalid.json().response.status.message, /\[trust\.namespace-label\]/);

  const notAPod = await a.inject({ method: 'POST', url: '/admission/validate/standard', payload: admissionReview({ kind: 'Pod', spec: { containers: 'nope' } }) });
  assert.equal(notAPod.statusCode, 200);
  assert.equal(notAPod.json().response.allowed, false);
  assert.match(notAPod.json().response.status.message, /\[engine\.pod-shape\].*spec\.containers/);
  await a.close();
});

test('level-less paths ask the namespace resolver, else use the policy default', async () => {
  const { a } = await app({ namespaceTrust: (ns) => (ns === 'vault' ? 'confidential' : undefined) });
  const plain = pod();
  const inVault = await a.inject({ method: 'POST', url: '/admission/validate', payload: admissionReview(plain, { namespace: 'vault' }) });
  assert.match(inVault.json().response.status.message, /\[confidential\.requires-epc\]/);
  const elsewhere = await a.inject({ method: 'POST', url: '/admission/validate', payload: admissionReview(plain, { namespace: 'web' }) });
  assert.equal(elsewhere.json().response.allowed, true);
  await a.close();
});

test('an exception inside a rule becomes a coded denial, never an allow', async () => {
  // A policy object that breaks the rules' expectations (bypassing the loader) makes them throw.
  const broken = { ...DEFAULT_POLICY, sandboxRuntimeClasses: null, sandboxed: null } as unknown as AdmissionPolicy;
  const { a, handler } = await app({ policy: broken });
  for (const phase of ['mutate', 'validate']) {
    const r = await a.inject({ method: 'POST', url: `/admission/${phase}/sandboxed`, payload: admissionReview(pod()) });
    assert.equal(r.statusCode, 200);
    const resp = r.json().response;
    assert.equal(resp.allowed, false, `${phase} must deny`);
    assert.equal(resp.auditAnnotations.code, 'RULE_FAILED');
    assert.match(resp.status.message, /rule failed unexpectedly/);
  }
  assert.equal(handler.decisionLog.totals().denied, 2);
  await a.close();
});

test('metrics count admissions by verdict and rule; the decision log has the recent ones', async () => {
  const { a, handler } = await app();
  const sgxPod = pod({ containers: [container('app', { securityContext: { privileged: true }, ...epc({ 'sgx.intel.com/epc': '8Mi' }) })] });
  await a.inject({ method: 'POST', url: '/admission/mutate/confidential', payload: admissionReview(sgxPod) });
  await a.inject({ method: 'POST', url: '/admission/validate/confidential', payload: admissionReview(sgxPod) });
  await a.inject({ method: 'POST', url: '/admission/validate/standard', payload: admissionReview(pod()) });
  const text = await handler.metrics.registry.metrics();
  assert.match(text, /kubetee_webhook_admissions_total\{phase="mutate",verdict="mutated",rule="confidential.enclave-slot"\} 1/);
  assert.match(text, /kubetee_webhook_admissions_total\{phase="validate",verdict="denied",rule="confidential.no-privileged"\} 1/);
  assert.match(text, /kubetee_webhook_admissions_total\{phase="validate",verdict="allowed",rule="none"\} 1/);
  assert.match(text, /kubetee_webhook_admission_duration_seconds_count\{phase="validate"\} 2/);
  const recent = handler.decisionLog.recent();
  assert.deepEqual(recent.map((e) => e.verdict), ['allowed', 'denied', 'mutated']);
  assert.equal(recent[1]!.trust, 'confidential');
  assert.match(recent[1]!.message!, /\[confidential\.no-privileged\] container "app"/);
  assert.equal(handler.decisionLog.countsByRule()['confidential.no-privileged']!.denied, 1);
  await a.close();
});
