import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY, defaultPolicyFor } from '../../src/webhook/policy/default-policy.js';
import { loadPolicyFile, parsePolicy, validatePolicy } from '../../src/webhook/policy/load-policy.js';
import { PolicyError, WebhookError } from '../../src/webhook/errors.js';
import { explainPod, formatExplanation } from '../../src/webhook/explain.js';
import { podFromManifest } from '../../src/webhook/pod-manifest.js';
import { runCli } from '../helpers/cli.js';
import { pod, container, epc } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kubetee-policy-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected PolicyError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a PolicyError');
}

test('the default policy: standard by default, the default install\'s sandbox classes (runv first), every switch on, frozen', () => {
  assert.equal(DEFAULT_POLICY.defaultTrustLevel, 'standard');
  assert.deepEqual(DEFAULT_POLICY.sandboxRuntimeClasses, [
    { name: 'runv', epc: 'unsupported' },
    { name: 'kata-qemu', epc: 'annotation' },
    { name: 'gvisor', epc: 'unsupported' },
  ]);
  assert.deepEqual(DEFAULT_POLICY.hostRuntimeClasses, []);
  assert.equal(DEFAULT_POLICY.sandboxed.defaultRuntimeClass, 'runv');
  assert.equal(DEFAULT_POLICY.global.denyProvisionOutsideConfidential, true);
  assert.ok(Object.isFrozen(DEFAULT_POLICY) && Object.isFrozen(DEFAULT_POLICY.sandboxed));
  assert.throws(() => {
    (DEFAULT_POLICY.sandboxed as { denyPrivileged: boolean }).denyPrivileged = false;
  }, TypeError);
});

test('YAML and JSON documents with partial sections get defaults filled in', () => {
  const y = parsePolicy('apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\ndefaultTrustLevel: sandboxed\nsandboxed:\n  defaultRuntimeClass: kata-qemu\n');
  assert.equal(y.defaultTrustLevel, 'sandboxed');
  assert.equal(y.sandboxed.defaultRuntimeClass, 'kata-qemu');
  assert.equal(y.sandboxed.denyHostPath, true);
  const j = parsePolicy(JSON.stringify({ apiVersion: 'policy.kubetee.io/v1', kind: 'AdmissionPolicy', sandboxRuntimeClasses: ['gvisor'], sandboxed: { defaultRuntimeClass: 'gvisor' } }));
  assert.deepEqual(j.sandboxRuntimeClasses, [{ name: 'gvisor', epc: 'unsupported' }]);
});

test('sandbox classes: known names get their EPC handling from the runtime list, others must declare it; the injected class defaults to the first', () => {
  const p = parsePolicy('apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\nsandboxRuntimeClasses: [kata, {name: secure-vm, epc: annotation}, runsc]\nhostRuntimeClasses: [nvidia]\n');
  assert.deepEqual(p.sandboxRuntimeClasses, [
    { name: 'kata', epc: 'annotation' },
    { name: 'secure-vm', epc: 'annotation' },
    { name: 'runsc', epc: 'unsupported' },
  ]);
  assert.equal(p.sandboxed.defaultRuntimeClass, 'kata', 'the first listed class, not a runv that is not listed');
  assert.deepEqual(p.hostRuntimeClasses, ['nvidia']);
  // The policy round-trips (install writes it into a ConfigMap, the webhook reads it back).
  assert.deepEqual(validatePolicy(JSON.parse(JSON.stringify(p))), p);
  const err = policyError(() =>
    parsePolicy('apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\nsandboxRuntimeClasses: [kata-qmeu, {name: x, epc: maybe}, 7]\nhostRuntimeClasses: [x, nvidia, nvidia]\n', 'p.yaml'),
  );
  const joined = err.problems.join('\n');
  assert.match(joined, /^sandboxRuntimeClasses\.0: "kata-qmeu" is not a runtime kubetee knows \(.*kata-qemu.*\); declare it as \{name: kata-qmeu, epc: annotation\}/m, 'a typo is an error, not a new sandbox');
  assert.match(joined, /^sandboxRuntimeClasses\.1\.epc: must be one of annotation, unsupported$/m);
  assert.match(joined, /^sandboxRuntimeClasses\.2: must be a RuntimeClass name or \{name, epc\}$/m);
  assert.match(joined, /^hostRuntimeClasses: "nvidia" is listed twice$/m);
  assert.match(joined, /^hostRuntimeClasses: "x" is also in sandboxRuntimeClasses/m);
});

test('webhook serve without --policy uses the built-in policy of its profile: the classes that profile\'s install creates', () => {
  assert.deepEqual(defaultPolicyFor('alibaba'), DEFAULT_POLICY);
  const intel = defaultPolicyFor('intel');
  assert.deepEqual(intel.sandboxRuntimeClasses.map((c) => c.name), ['kata-qemu', 'gvisor']);
  assert.equal(intel.sandboxed.defaultRuntimeClass, 'kata-qemu', 'never injects runv, which an intel install does not create');
});

test('one POLICY_INVALID error lists every problem with its path', () => {
  const err = policyError(() =>
    parsePolicy(
      [
        'apiVersion: policy.kubetee.io/v2',
        'kind: AdmissionPolicy',
        'defaultTrustLevel: secret',
        'sandboxRuntimeClasses: [runv, Kata_QEMU, runv]',
        'sandboxed: {defaultRuntimeClass: firecracker, denyPrivlieged: false}',
        'podOverrides: {standard: [standard]}',
        'confidential: {aesmSocketHostPath: relative/path}',
      ].join('\n'),
      'p.yaml',
    ),
  );
  assert.equal(err.code, 'POLICY_INVALID');
  assert.equal(err.exitCode, 2);
  const joined = err.problems.join('\n');
  for (const want of [/^apiVersion: /m, /^defaultTrustLevel: /m, /^sandboxRuntimeClasses\.1: .*DNS-1123/m, /^sandboxed: .*denyPrivlieged/m, /^confidential\.aesmSocketHostPath: must be an absolute path/m, /^sandboxed\.defaultRuntimeClass: "firecracker" is not in/m, /^podOverrides\.standard: a level cannot list itself/m, /"runv" is listed twice/m]) {
    assert.match(joined, want);
  }
  assert.match(err.message, /^p\.yaml is not a valid AdmissionPolicy \(\d+ problems\)/);
  assert.ok(err.hint);
});

test('syntax errors, empty files, several documents and missing files have their own codes', () => {
  assert.equal(policyError(() => parsePolicy('apiVersion: [unclosed', 'x')).code, 'POLICY_PARSE');
  assert.equal(policyError(() => parsePolicy('', 'x')).code, 'POLICY_PARSE');
  assert.equal(policyError(() => parsePolicy('a: 1\n---\nb: 2\n', 'x')).code, 'POLICY_PARSE');
  assert.equal(policyError(() => parsePolicy('a: 1\na: 2\n', 'x')).code, 'POLICY_PARSE');
  assert.equal(policyError(() => parsePolicy('[1, 2]', 'x')).code, 'POLICY_INVALID');
  assert.equal(policyError(() => loadPolicyFile(join(dir, 'missing.yaml'))).code, 'POLICY_UNREADABLE');
});

test('kubetee policy check: OK summary on a good file; every problem and exit 2 on a bad one', () => {
  const good = write('good.yaml', 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\ndefaultTrustLevel: sandboxed\n');
  const ok = runCli(['policy', 'check', good]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /policy OK/);
  assert.match(ok.stdout, /default trust level: sandboxed/);

  const bad = write('bad.yaml', 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\ndefaultTrustLevel: nope\nglobal: {denyEverything: true}\n');
  const r = runCli(['policy', 'check', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error \[POLICY_INVALID\]/);
  assert.match(r.stderr, /defaultTrustLevel/);
  assert.match(r.stderr, /denyEverything/);
  assert.match(r.stderr, /hint: /);
  assert.doesNotMatch(r.stderr, /\s+at\s+\S+\s+\(/);
});

test('kubetee policy explain: a workload manifest, rule by rule, as JSON', () => {
  const deployment = write('deploy.yaml', `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: web, image: nginx}]\n`);
  const d = runCli(['policy', 'explain', deployment, '--namespace-labels', 'kubetee.io/trust=sandboxed,team=ml', '--output', 'json']);
  assert.equal(d.status, 1, 'a denied pod exits 1');
  const out = JSON.parse(d.stdout) as { admitted: boolean; trust: { level: string }; validate: { ruleId: string; status: string }[]; patch: unknown[] };
  assert.equal(out.admitted, false);
  assert.equal(out.trust.level, 'sandboxed');
  assert.deepEqual(out.patch, [{ op: 'add', path: '/spec/runtimeClassName', value: 'runv' }]);
  assert.deepEqual(out.validate.filter((v) => v.status === 'deny').map((v) => v.ruleId), ['sandboxed.no-host-namespaces']);
  // Without --policy the profile's built-in policy applies: an intel install creates no runv, so kata-qemu is injected.
  const intel = JSON.parse(runCli(['policy', 'explain', deployment, '--namespace-labels', 'kubetee.io/trust=sandboxed', '--profile', 'intel', '--output', 'json']).stdout) as { patch: unknown[] };
  assert.deepEqual(intel.patch, [{ op: 'add', path: '/spec/runtimeClassName', value: 'kata-qemu' }]);
  // An enclave in a gVisor sandbox, explained: denied with the reason.
  const gv = write('gvisor.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: e}\nspec:\n  runtimeClassName: gvisor\n  containers: [{name: e, image: x, resources: {limits: {sgx.intel.com/epc: 8Mi}, requests: {sgx.intel.com/epc: 8Mi}}}]\n`);
  const g = runCli(['policy', 'explain', gv, '--namespace-labels', 'kubetee.io/trust=confidential', '--profile', 'intel']);
  assert.equal(g.status, 1, g.stdout + g.stderr);
  assert.match(g.stdout, /confidential\.runtime-carries-epc/);
  assert.match(g.stdout, /RuntimeClass "gvisor" cannot give an enclave EPC/);
  const fine = write('fine.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: web, image: nginx}]\n`);
  const admitted = runCli(['policy', 'explain', fine, '--namespace-labels', 'kubetee.io/trust=sandboxed']);
  assert.equal(admitted.status, 0, admitted.stderr);
  assert.match(admitted.stdout, /ADMITTED/);
});

test('explain text: trust level, each rule, the patch and the verdict', () => {
  const e = explainPod({
    pod: pod({ containers: [container('enclave', epc({ 'alibabacloud.com/sgx_epc_MiB': '64' }))] }),
    namespace: 'team',
    namespaceLabels: { 'kubetee.io/trust': 'confidential' },
    policy: DEFAULT_POLICY,
    profile: 'intel',
  });
  const text = formatExplanation(e);
  assert.match(text, /trust level: confidential \(namespace label kubetee\.io\/trust=confidential\); EPC profile: intel/);
  assert.match(text, /edit\s+\[confidential\.translate-epc\] container "enclave": requests: alibabacloud\.com\/sgx_epc_MiB=64 → sgx\.intel\.com\/epc=64Mi/);
  assert.match(text, /"op":"add","path":"\/spec\/tolerations"/);
  assert.match(text, /ok\s+\[confidential\.wiring-complete\]/);
  assert.match(text, /result: ADMITTED with the patch above/);
});

test('explain without labels uses the policy default and reports the denial', () => {
  const e = explainPod({ pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '8Mi' }))] }), namespace: 'team', namespaceLabels: {}, policy: DEFAULT_POLICY, profile: 'alibaba' });
  const text = formatExplanation(e);
  assert.equal(e.admitted, false);
  assert.match(text, /trust level: standard \(policy default/);
  assert.match(text, /DENY\s+\[global\.epc-outside-confidential\] container "enclave"/);
  assert.match(text, /result: DENIED \(1 problem\)/);
  const broken = explainPod({ pod: { kind: 'Pod', metadata: { name: 'x' } }, namespace: 'team', namespaceLabels: {}, policy: DEFAULT_POLICY, profile: 'alibaba' });
  assert.equal(broken.admitted, false);
  assert.equal(broken.validate.denials[0]?.code, 'POD_INVALID');
  assert.match(formatExplanation(broken), /\[engine\.pod-shape\].*spec/);
});

test('pod manifests: a Pod or a workload template; anything else is POD_MANIFEST_INVALID', () => {
  assert.equal(podFromManifest('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\nspec: {containers: []}\n', 'x').namespace, 'n');
  const cron = podFromManifest('kind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a}]}}}}}\n', 'x');
  assert.equal(cron.kind, 'CronJob');
  assert.deepEqual((cron.pod['spec'] as { containers: unknown[] }).containers, [{ name: 'a' }]);
  const bad: [string, RegExp][] = [
    ['apiVersion: v1\nkind: Service\nmetadata: {name: s}\n', /Service, not a Pod/],
    ['kind: Pod\n---\nkind: Pod\n', /2 YAML documents/],
    ['kind: Deployment\nspec: {}\n', /has no spec\.template/],
    ['[1, 2]', /not a Kubernetes object/],
    ['kind: [unclosed', /not valid YAML/],
  ];
  for (const [text, pattern] of bad) {
    assert.throws(() => podFromManifest(text, 'x'), (err: unknown) => err instanceof WebhookError && err.code === 'POD_MANIFEST_INVALID' && pattern.test(err.message));
  }
});
