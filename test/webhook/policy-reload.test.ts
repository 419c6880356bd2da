import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SelfManagedCa } from '../../src/webhook/tls/self-managed-ca.js';
import { selfManagedTlsSource } from '../../src/webhook/tls/tls-source.js';
import { startWebhookServer } from '../../src/webhook/server.js';
import { loadPolicyFile } from '../../src/webhook/policy/load-policy.js';
import { admissionReview, pod } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kubetee-reload-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a changed policy file (ConfigMap update) is applied without restart; an invalid one is rejected and the old policy stays', async (t) => {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\n');
  const ca = await SelfManagedCa.open({ dir: join(dir, 'ca'), hosts: ['127.0.0.1'] });
  const server = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: selfManagedTlsSource(ca), policy: loadPolicyFile(file), policyFile: file, profile: 'alibaba', refreshIntervalMs: 3_600_000 });
  t.after(() => server.close());
  const kataPod = pod({ runtimeClassName: 'kata' });
  const validate = async () => (await server.app.inject({ method: 'POST', url: '/validate/sandboxed', payload: admissionReview(kataPod) })).json().response;

  assert.equal((await validate()).allowed, false, 'kata is not a sandbox class of the built-in policy (an install does not create it)');
  assert.equal(server.refreshPolicy(), 'unchanged');

  writeFileSync(file, 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\nsandboxRuntimeClasses: [gvisor, kata]\nsandboxed: {defaultRuntimeClass: gvisor}\n');
  assert.equal(server.refreshPolicy(), 'reloaded');
  assert.equal((await validate()).allowed, true);

  writeFileSync(file, 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\nsandboxRuntimeClasses: []\n');
  const rejected = server.refreshPolicy();
  assert.ok(typeof rejected === 'object' && /POLICY|sandboxRuntimeClasses/.test(rejected.error), JSON.stringify(rejected));
  assert.equal((await validate()).allowed, true, 'the previous valid policy stays in force');
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, 'a rejected update does not take the replica out of service');
  assert.match(ready.json().policyUpdateRejected, /sandboxRuntimeClasses/);

  writeFileSync(file, 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\n');
  assert.equal(server.refreshPolicy(), 'reloaded');
  assert.equal((await validate()).allowed, false);
  assert.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).json().policyUpdateRejected, undefined);
});
