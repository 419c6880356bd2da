import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { admissionReview, container, epc, pod } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kubetee-serve-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function post(url: string, ca: string, body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('kubetee webhook serve: prints its URL, logs ready, answers over verified HTTPS, stops on SIGTERM', async (t) => {
  const caDir = join(dir, 'ca');
  const child = startCli(['webhook', 'serve', '--listen', '127.0.0.1:0', '--ca-dir', caDir, '--profile', 'intel']);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  // stdout (URL) and stderr (JSON log) interleave in any order: wait for both.
  const out = await waitForOutput(child, /^(?=[\s\S]*"msg":"webhook ready")(?=[\s\S]*listening on https:\/\/\S+:\d+ )/, 60_000);
  const url = /kubetee webhook listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  assert.ok(url, out);
  assert.match(out, /profile intel, default trust level standard/);
  const ca = readFileSync(join(caDir, 'ca-bundle.crt'), 'utf8');
  const r = await post(`${url}/mutate/confidential`, ca, admissionReview(pod({ containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': 16 }))] })));
  assert.equal(r.status, 200);
  const patch = JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString());
  assert.ok(patch.some((op: { path: string; value: unknown }) => op.path === '/spec/containers/0/resources/limits/sgx.intel.com~1epc' && op.value === '16Mi'));
  const bad = await post(`${url}/validate/sandboxed`, ca, { hello: 'world' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'ADMISSION_REVIEW_INVALID');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('kubetee webhook serve: a missing TLS choice is a usage error (exit 2)', () => {
  const r = runCli(['webhook', 'serve', '--listen', '127.0.0.1:0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error \[USAGE\]: no TLS configured/);
  assert.match(r.stderr, /hint: pass --ca-dir DIR/);
});

test('kubetee webhook manifests: both configurations, schema-valid, Fail, selectors per level, caBundle embedded', () => {
  const caDir = join(dir, 'ca');
  const r = runCli(['webhook', 'manifests', '--service', 'kubetee-system/kubetee-webhook', '--ca-bundle', join(caDir, 'ca-bundle.crt'), '--timeout-seconds', '5']);
  assert.equal(r.status, 0, r.stderr);
  const [mutating, validating] = r.stdout.split(/^---$/m).map((d) => parse(d));
  new MutatingWebhookConfiguration(mutating).validate();
  new ValidatingWebhookConfiguration(validating).validate();
  const bundle = Buffer.from(readFileSync(join(caDir, 'ca-bundle.crt'), 'utf8')).toString('base64');
  assert.deepEqual(
    mutating.webhooks.map((w: any) => [w.name, w.clientConfig.service.path, w.failurePolicy, w.reinvocationPolicy, w.sideEffects, w.timeoutSeconds, w.clientConfig.caBundle === bundle]),
    [
      ['confidential.mutate.kubetee.io', '/mutate/confidential', 'Fail', 'IfNeeded', 'None', 5, true],
      ['sandboxed.mutate.kubetee.io', '/mutate/sandboxed', 'Fail', 'IfNeeded', 'None', 5, true],
      ['standard.mutate.kubetee.io', '/mutate/standard', 'Fail', 'IfNeeded', 'None', 5, true],
    ],
  );
  assert.deepEqual(validating.webhooks.map((w: any) => w.clientConfig.service.path), ['/validate/confidential', '/validate/sandboxed', '/validate/standard', '/validate/invalid-label']);
  const conf = mutating.webhooks[0].namespaceSelector.matchExpressions;
  assert.deepEqual(conf[0], { key: 'kubetee.io/trust', operator: 'In', values: ['confidential'] });
  assert.deepEqual(conf[1], { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'kubetee-system'] });
  assert.deepEqual(mutating.webhooks[2].namespaceSelector.matchExpressions[0], { key: 'kubetee.io/trust', operator: 'NotIn', values: ['confidential', 'sandboxed'] });
  assert.deepEqual(validating.webhooks[3].namespaceSelector.matchExpressions.slice(0, 2), [
    { key: 'kubetee.io/trust', operator: 'Exists' },
    { key: 'kubetee.io/trust', operator: 'NotIn', values: ['confidential', 'sandboxed', 'standard'] },
  ]);
  const podCreate = { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' };
  const debugUpdate = { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' };
  for (const w of mutating.webhooks) assert.deepEqual(w.rules, [podCreate]);
  for (const w of validating.webhooks) assert.deepEqual(w.rules, [podCreate, debugUpdate]);
  for (const w of [...mutating.webhooks, ...validating.webhooks]) assert.deepEqual(w.admissionReviewVersions, ['v1']);
});
