// One source of truth for sandbox runtimes (issue 19): the install values,
// the RuntimeClasses install creates, the trust policy it writes, the
// webhook's built-in policy and the docs all come from
// src/common/sandbox-runtimes.ts, and these tests compare them.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';
import { SANDBOX_RUNTIMES, defaultSandboxRuntimes, DEFAULT_PROFILE } from '../../src/common/sandbox-runtimes.js';
import type { ResourceProfile } from '../../src/common/labels.js';
import { renderManifests } from '../../src/deploy/render.js';
import { resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import type { KubeObject } from '../../src/deploy/objects.js';
import { DeployError } from '../../src/deploy/errors.js';
import { checkRuntimeClasses } from '../../src/deploy/install.js';
import type { Cluster } from '../../src/deploy/cluster.js';
import { DEFAULT_POLICY, defaultPolicyFor } from '../../src/webhook/policy/default-policy.js';
import { parsePolicy } from '../../src/webhook/policy/load-policy.js';

let tls: WebhookTls;
before(async () => {
  tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date() });
});
const render = (doc: ValuesInput): KubeObject[] => renderManifests(resolveValues(doc, 'test'), tls);
const installedPolicy = (objects: KubeObject[]) =>
  parsePolicy(String((objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubetee-trust-policy')!['data'] as Record<string, string>)['policy.yaml']), 'rendered');
const createdClasses = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'RuntimeClass');

test('for every profile: created RuntimeClasses, the installed policy, the built-in policy and the runtime list agree', () => {
  for (const profile of ['alibaba', 'intel'] as ResourceProfile[]) {
    const objects = render({ profile });
    const expected = defaultSandboxRuntimes(profile);
    assert.ok(expected.length > 0);
    const created = createdClasses(objects);
    assert.deepEqual(
      created.map((o) => [o.metadata.name, o['handler'], (o['overhead'] as { podFixed: unknown }).podFixed, (o['scheduling'] as { nodeSelector: unknown }).nodeSelector]),
      expected.map((r) => [r.name, r.handler, r.overhead, { [r.nodeLabel]: 'true' }]),
      profile,
    );
    const policy = installedPolicy(objects);
    assert.deepEqual(policy.sandboxRuntimeClasses, expected.map((r) => ({ name: r.name, epc: r.epc })), `${profile}: installed policy`);
    assert.equal(policy.sandboxed.defaultRuntimeClass, expected[0]!.name);
    assert.deepEqual(defaultPolicyFor(profile).sandboxRuntimeClasses, policy.sandboxRuntimeClasses, `${profile}: built-in policy of webhook serve --profile ${profile}`);
  }
  // The built-in policy (no --policy, no profile) is the default profile's install.
  assert.deepEqual(DEFAULT_POLICY.sandboxRuntimeClasses, installedPolicy(render({})).sandboxRuntimeClasses);
  assert.equal(resolveValues({}, 'v').profile, DEFAULT_PROFILE);
});

/** The rows of the runtime table in docs/admission.md ("## Sandbox runtimes"). */
function documentedRuntimes(): string[][] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'admission.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Sandbox runtimes'));
  assert.ok(section, 'docs/admission.md has a "## Sandbox runtimes" section');
  return section
    .split('\n')
    .filter((l) => /^\| `[a-z0-9-]+` \|/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

test('docs/admission.md describes the runtime list once, as the code has it; docs/install.md links to it', () => {
  const rows = documentedRuntimes();
  assert.deepEqual(rows.map((r) => r[0]), SANDBOX_RUNTIMES.map((r) => `\`${r.name}\``), 'one row per known runtime, in order');
  for (const [i, r] of SANDBOX_RUNTIMES.entries()) {
    const [, handler, , epc, created, overhead, label] = rows[i]!;
    assert.equal(handler, `\`${r.handler}\``, r.name);
    assert.match(epc!, r.epc === 'annotation' ? /^annotated `sgx\.intel\.com\/epc`/ : /^denied/, `${r.name}: EPC column`);
    assert.equal(created, r.createdFor.length ? r.createdFor.join(', ') : '—', `${r.name}: created by install`);
    assert.equal(overhead, `${r.overhead.cpu}, ${r.overhead.memory}`, `${r.name}: overhead`);
    assert.equal(label, `\`${r.nodeLabel}=true\``, `${r.name}: node label`);
  }
  const admission = readFileSync(join(REPO_ROOT, 'docs', 'admission.md'), 'utf8');
  // The policy example shows the built-in default list.
  assert.match(admission, new RegExp(`^sandboxRuntimeClasses: \\[${DEFAULT_POLICY.sandboxRuntimeClasses.map((c) => c.name).join(', ')}\\]`, 'm'));
  const install = readFileSync(join(REPO_ROOT, 'docs', 'install.md'), 'utf8');
  assert.match(install, /\(admission\.md#sandbox-runtimes\)/, 'install.md links to the runtime list');
  assert.doesNotMatch(install, /^\| `kata-qemu` \|/m, 'install.md does not keep a second runtime table');
  assert.doesNotMatch(install, /160Mi\/250m|250m\/512Mi/, 'install.md does not repeat overheads');
});

test('operators name their existing RuntimeClasses in values: the policy lists them after the created ones, with their EPC handling', () => {
  const objects = render({ existingRuntimeClasses: ['kata', 'runsc', { name: 'secure-vm', epc: 'annotation' }], hostRuntimeClasses: ['nvidia'] });
  assert.deepEqual(createdClasses(objects).map((o) => o.metadata.name), ['runv', 'kata-qemu', 'gvisor'], 'existing classes are not created (nor later pruned)');
  const policy = installedPolicy(objects);
  assert.deepEqual(policy.sandboxRuntimeClasses, [
    { name: 'runv', epc: 'unsupported' },
    { name: 'kata-qemu', epc: 'annotation' },
    { name: 'gvisor', epc: 'unsupported' },
    { name: 'kata', epc: 'annotation' },
    { name: 'runsc', epc: 'unsupported' },
    { name: 'secure-vm', epc: 'annotation' },
  ]);
  assert.deepEqual(policy.hostRuntimeClasses, ['nvidia']);
  // Only the cluster's own classes: nothing created, the first existing one is injected.
  const own = installedPolicy(render({ runtimeClasses: [], existingRuntimeClasses: ['kata-clh', 'kata'] }));
  assert.deepEqual(own.sandboxRuntimeClasses.map((c) => c.name), ['kata-clh', 'kata']);
  assert.equal(own.sandboxed.defaultRuntimeClass, 'kata-clh');
  // A created class takes its EPC handling from its handler (what actually runs), not its name.
  const rc = { overhead: { cpu: '250m', memory: '160Mi' }, nodeSelector: { a: 'b' } };
  const byHandler = installedPolicy(render({ runtimeClasses: [{ name: 'secure', handler: 'kata-qemu', ...rc }, { name: 'kata', handler: 'runsc', ...rc }, { name: 'vm', handler: 'vmm', epc: 'annotation', ...rc }] }));
  assert.deepEqual(byHandler.sandboxRuntimeClasses, [
    { name: 'secure', epc: 'annotation' },
    { name: 'kata', epc: 'unsupported' },
    { name: 'vm', epc: 'annotation' },
  ]);
});

test('values: every problem with the runtime lists is named with its path', () => {
  const problems = (doc: ValuesInput): string => {
    try {
      resolveValues(doc, 'v.yaml');
    } catch (err) {
      assert.ok(err instanceof DeployError && err.code === 'VALUES_INVALID', String(err));
      return err.message;
    }
    assert.fail('expected VALUES_INVALID');
  };
  const rc = { overhead: { cpu: '250m', memory: '160Mi' }, nodeSelector: { a: 'b' } };
  assert.match(problems({ existingRuntimeClasses: ['kata-qmeu'] }), /existingRuntimeClasses\.0: "kata-qmeu" is not a runtime kubetee knows .*declare it as \{name: kata-qmeu, epc: annotation\}/);
  assert.match(problems({ existingRuntimeClasses: [{ name: 'x', epc: 'maybe' as 'annotation' }] }), /existingRuntimeClasses\.0\.epc: must be one of annotation, unsupported/);
  assert.match(problems({ runtimeClasses: [{ name: 'vm', handler: 'vmm', ...rc }] }), /runtimeClasses\.0\.epc: handler "vmm" is not a runtime kubetee knows; say how it gives enclaves EPC/);
  assert.match(problems({ existingRuntimeClasses: ['kata-qemu'] }), /existingRuntimeClasses\.0: RuntimeClass "kata-qemu" is one kubetee creates by default for the alibaba profile .*also set runtimeClasses/, 'a default created class named again as existing');
  assert.equal(resolveValues({ runtimeClasses: [], existingRuntimeClasses: ['kata-qemu'] }, 'v').existingRuntimeClasses[0]!.name, 'kata-qemu');
  assert.match(problems({ runtimeClasses: [{ name: 'kata', handler: 'kata', ...rc }], existingRuntimeClasses: ['kata'] }), /existingRuntimeClasses\.0: RuntimeClass "kata" is listed twice/);
  assert.match(problems({ existingRuntimeClasses: ['kata'], hostRuntimeClasses: ['kata'] }), /hostRuntimeClasses\.0: RuntimeClass "kata" is listed twice/);
  assert.match(problems({ runtimeClasses: [] }), /runtimeClasses: no sandbox RuntimeClass/);
});

test('install never takes over a RuntimeClass it did not create, and warns about named classes that do not exist', async () => {
  // The API operations install's preflight uses, over an in-memory object set (the e2e suite runs it against a real API server).
  const live = new Map<string, KubeObject>();
  const cluster = {
    server: 'memory',
    context: 'memory',
    get: async (ref: Pick<KubeObject, 'kind' | 'metadata'>) => live.get(`${ref.kind}/${ref.metadata.name}`),
  } as unknown as Cluster;
  const rc = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name, labels }, handler: name });
  const values = resolveValues({ existingRuntimeClasses: ['kata'], hostRuntimeClasses: ['nvidia'] }, 'v');
  const objects = renderManifests(values, tls);
  const lines: string[] = [];
  live.set('RuntimeClass/kata-qemu', rc('kata-qemu', { 'app.kubernetes.io/managed-by': 'kubetee-install' }));
  live.set('RuntimeClass/kata', rc('kata'));
  await checkRuntimeClasses(cluster, values, objects, (l) => lines.push(l));
  assert.deepEqual(lines, ['warning: RuntimeClass nvidia (hostRuntimeClasses) does not exist in the cluster; the API server rejects pods that name it until it does (kubetee doctor: RUNTIMECLASS_MISSING)']);
  // The operator's "kata" really runs Firecracker: the policy would size enclaves by annotation that never arrives: refused.
  live.set('RuntimeClass/kata', { ...rc('kata'), handler: 'kata-fc' });
  await assert.rejects(checkRuntimeClasses(cluster, values, objects, () => {}), (err: unknown) => err instanceof DeployError && err.code === 'RUNTIMECLASS_EPC_MISMATCH' && /handler kata-fc cannot give enclaves EPC/.test(err.message));
  live.set('RuntimeClass/kata', rc('kata'));
  // kata-deploy's own kata-qemu: refused, with the fix.
  live.set('RuntimeClass/kata-qemu', rc('kata-qemu', { 'app.kubernetes.io/managed-by': 'kata-deploy' }));
  await assert.rejects(checkRuntimeClasses(cluster, values, objects, () => {}), (err: unknown) => {
    assert.ok(err instanceof DeployError && err.code === 'RUNTIMECLASS_EXISTS' && err.exitCode === 2);
    assert.match(err.message, /RuntimeClass kata-qemu already exists and was not created by kubetee/);
    assert.match(err.hint ?? '', /existingRuntimeClasses.*runtimeClasses \(which defaults to the alibaba profile's classes: set it explicitly\)/);
    return true;
  });
});
