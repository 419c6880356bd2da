import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { renderManifests, toYamlStream } from '../../src/deploy/render.js';
import { resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import { validateObjects } from '../../src/deploy/validate-objects.js';
import { DeployError } from '../../src/deploy/errors.js';
import type { KubeObject } from '../../src/deploy/objects.js';
import { NODE_LABELS, RESOURCES, SGX_TAINT, TRUST_LABEL } from '../../src/common/labels.js';
import { parsePolicy } from '../../src/webhook/index.js';

let tls: WebhookTls;
before(async () => {
  tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date('2026-01-01T00:00:00Z') });
});

const render = (doc: ValuesInput = {}): KubeObject[] => renderManifests(resolveValues(doc, 'test'), tls);
const find = (objs: KubeObject[], kind: string, name?: string): KubeObject | undefined => objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const get = (objs: KubeObject[], kind: string, name?: string): KubeObject => {
  const o = find(objs, kind, name);
  assert.ok(o, `${kind}/${name ?? '*'} not rendered`);
  return o;
};
const spec = (o: KubeObject): any => o['spec'];
const podSpec = (o: KubeObject): any => spec(o).template.spec;

test('renders every component, namespace first and webhook configurations last', () => {
  const objs = render();
  assert.equal(objs[0]!.kind, 'Namespace');
  assert.deepEqual(objs.slice(-2).map((o) => o.kind), ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  for (const name of ['kubetee-node-agent', 'kubetee-aesm', 'kubetee-webhook', 'kubetee-kbs']) get(objs, 'ServiceAccount', name);
  get(objs, 'DaemonSet', 'kubetee-node-agent');
  get(objs, 'DaemonSet', 'kubetee-aesm');
  get(objs, 'Deployment', 'kubetee-webhook');
  get(objs, 'Deployment', 'kubetee-kbs');
  get(objs, 'PodDisruptionBudget', 'kubetee-webhook');
  get(objs, 'ConfigMap', 'kubetee-trust-policy');
  assert.ok(objs.every((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'kubetee'), 'every object is findable by uninstall');
});

test('least privilege: only the node agent holds API permissions, nobody runs privileged', () => {
  const objs = render();
  const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map((o) => o.metadata.name).sort();
  assert.deepEqual(roles, ['kubetee-node-agent']);
  for (const r of objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
    for (const rule of r['rules'] as { verbs: string[]; resources: string[] }[]) {
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*'), `${r.metadata.name} uses a wildcard`);
      assert.ok(!rule.resources.includes('secrets'), `${r.metadata.name} can read secrets`);
    }
  }
  // The webhook never calls the API (level from the path, policy and TLS from files): no token at all.
  for (const name of ['kubetee-aesm', 'kubetee-kbs', 'kubetee-webhook']) assert.equal(get(objs, 'ServiceAccount', name)['automountServiceAccountToken'], false, name);
  assert.ok(!podSpec(get(objs, 'Deployment', 'kubetee-webhook')).containers[0].args.includes('--kubeconfig'), 'the in-cluster webhook publishes nothing');
  for (const w of objs.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
    for (const c of podSpec(w).containers) {
      assert.notEqual(c.securityContext?.privileged, true, `${w.metadata.name}/${c.name}`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name}`);
      assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${w.metadata.name}/${c.name}`);
      const seccomp = c.securityContext?.seccompProfile?.type ?? podSpec(w).securityContext?.seccompProfile?.type;
      assert.equal(seccomp, 'RuntimeDefault', `${w.metadata.name}/${c.name} runs under the runtime's default seccomp profile`);
    }
    assert.ok(!podSpec(w).hostNetwork && !podSpec(w).hostPID, w.metadata.name);
  }
});

test('node agent: only on SGX nodes, with the device-plugin and pod-resources host paths', () => {
  const ds = get(render(), 'DaemonSet', 'kubetee-node-agent');
  const terms = podSpec(ds).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms as { matchExpressions: { key: string; values: string[] }[] }[];
  assert.ok(terms.some((t) => t.matchExpressions[0]!.key === NODE_LABELS.sgx && t.matchExpressions[0]!.values[0] === 'true'));
  assert.ok(terms.some((t) => t.matchExpressions[0]!.key === 'node.kubernetes.io/instance-type' && t.matchExpressions[0]!.values.includes('ecs.g7t.xlarge')));
  assert.ok(podSpec(ds).tolerations.some((t: { key: string }) => t.key === SGX_TAINT.key));
  // SGX node pools tainted with any SGX resource name (either profile) still get the node agent and AESM.
  for (const name of ['kubetee-node-agent', 'kubetee-aesm']) {
    const keys = podSpec(get(render({ profile: 'intel' }), 'DaemonSet', name)).tolerations.map((t: { key: string }) => t.key);
    for (const key of [SGX_TAINT.key, RESOURCES.intel.epc, RESOURCES.intel.enclave, RESOURCES.intel.provision, RESOURCES.alibaba.epc]) assert.ok(keys.includes(key), `${name} tolerates ${key}`);
  }
  const paths = podSpec(ds).volumes.map((v: { hostPath?: { path: string } }) => v.hostPath?.path);
  assert.ok(paths.includes('/var/lib/kubelet/device-plugins'));
  assert.ok(paths.includes('/var/lib/kubelet/pod-resources'));
  const mounts = podSpec(ds).containers[0].volumeMounts as { mountPath: string; readOnly: boolean }[];
  assert.equal(mounts.find((m) => m.mountPath === '/dev')?.readOnly, true);
  assert.equal(mounts.find((m) => m.mountPath === '/var/lib/kubelet/pod-resources')?.readOnly, true);
});

test('webhook: 2 replicas spread over nodes, a PDB, failurePolicy Fail outside standard and namespace selectors', () => {
  const objs = render();
  const d = get(objs, 'Deployment', 'kubetee-webhook');
  assert.equal(spec(d).replicas, 2);
  assert.ok(podSpec(d).affinity.podAntiAffinity);
  assert.equal(spec(get(objs, 'PodDisruptionBudget', 'kubetee-webhook')).minAvailable, 1);
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const hooks = get(objs, kind)['webhooks'] as { name: string; failurePolicy: string; sideEffects: string; clientConfig: { service: { name: string; namespace: string }; caBundle: string }; namespaceSelector: { matchExpressions: { key: string; operator: string; values?: string[] }[] } }[];
    assert.ok(hooks.length >= 3);
    for (const h of hooks) {
      assert.equal(h.failurePolicy, h.name.startsWith('standard.') ? 'Ignore' : 'Fail', h.name);
      assert.equal(h.sideEffects, 'None');
      assert.deepEqual(h.clientConfig.service, { namespace: 'kubetee-system', name: 'kubetee-webhook', port: 443, path: h.clientConfig.service['path' as keyof typeof h.clientConfig.service] });
      assert.equal(Buffer.from(h.clientConfig.caBundle, 'base64').toString(), tls.caPem);
      assert.ok(h.namespaceSelector.matchExpressions.some((e) => e.key === TRUST_LABEL));
      const excluded = h.namespaceSelector.matchExpressions.find((e) => e.key === 'kubernetes.io/metadata.name');
      assert.ok(excluded?.operator === 'NotIn' && excluded.values!.includes('kube-system') && excluded.values!.includes('kubetee-system'));
    }
  }
  assert.equal(spec(get(render({ webhook: { replicas: 1 } }), 'PodDisruptionBudget')).maxUnavailable, 1, 'one replica must not block drains');
});

test('webhook.externalURL points the configurations at the URL with the given caBundle', () => {
  const caBundle = Buffer.from(tls.caPem).toString('base64');
  const objs = render({ webhook: { externalURL: 'https://127.0.0.1:9443', caBundle } });
  for (const h of get(objs, 'MutatingWebhookConfiguration')['webhooks'] as { clientConfig: { url: string; caBundle: string } }[]) {
    assert.match(h.clientConfig.url, /^https:\/\/127\.0\.0\.1:9443\/mutate\//);
    assert.equal(h.clientConfig.caBundle, caBundle);
  }
});

test('key broker: SQLite on a PVC for one replica, PostgreSQL from a Secret for more', () => {
  const one = render();
  const pvc = get(one, 'PersistentVolumeClaim', 'kubetee-kbs-data');
  assert.equal(pvc.metadata.labels?.['kubetee.io/broker-data'], 'true');
  const d1 = get(one, 'Deployment', 'kubetee-kbs');
  assert.equal(spec(d1).strategy.type, 'Recreate');
  assert.ok(podSpec(d1).containers[0].args.includes('sqlite:/data/kbs.db'));
  const three = render({ kbs: { replicas: 3, storage: { postgres: { secretName: 'kbs-pg', key: 'dsn' } } } });
  assert.equal(find(three, 'PersistentVolumeClaim'), undefined);
  const d3 = get(three, 'Deployment', 'kubetee-kbs');
  assert.equal(spec(d3).replicas, 3);
  const env = podSpec(d3).containers[0].env as { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[];
  assert.deepEqual(env.find((e) => e.name === 'KBS_DATABASE_URL')?.valueFrom.secretKeyRef, { name: 'kbs-pg', key: 'dsn' });
  assert.deepEqual(env.find((e) => e.name === 'KUBETEE_KBS_MASTER_KEY')?.valueFrom.secretKeyRef, { name: 'kubetee-kbs-master-key', key: 'master-key' });
});

test('RuntimeClasses per profile with handler, overhead and scheduling; the trust policy names them', () => {
  const alibaba = render().filter((o) => o.kind === 'RuntimeClass');
  assert.deepEqual(alibaba.map((o) => o.metadata.name), ['runv', 'kata-qemu', 'gvisor']);
  const runv = alibaba[0]!;
  assert.equal(runv['handler'], 'runv');
  assert.deepEqual((runv['overhead'] as { podFixed: object }).podFixed, { cpu: '250m', memory: '512Mi' });
  assert.deepEqual((runv['scheduling'] as { nodeSelector: object }).nodeSelector, { 'kubetee.io/runtime.runv': 'true' });
  const policy = parsePolicy(String((get(render(), 'ConfigMap', 'kubetee-trust-policy')['data'] as Record<string, string>)['policy.yaml']), 'rendered');
  assert.deepEqual(policy.sandboxRuntimeClasses.map((c) => c.name), ['runv', 'kata-qemu', 'gvisor']);
  assert.equal(policy.sandboxed.defaultRuntimeClass, 'runv');
  const intel = render({ profile: 'intel' });
  assert.deepEqual(intel.filter((o) => o.kind === 'RuntimeClass').map((o) => o.metadata.name), ['kata-qemu', 'gvisor']);
  const aesm = podSpec(get(intel, 'DaemonSet', 'kubetee-aesm')).containers[0].resources.limits;
  assert.equal(aesm[RESOURCES.intel.epc], '1Mi');
  assert.equal(aesm[RESOURCES.intel.provision], '1');
});

test('NetworkPolicies: default deny, then the webhook port and the broker for trust-labelled namespaces', () => {
  const nps = render().filter((o) => o.kind === 'NetworkPolicy');
  assert.deepEqual(nps.map((o) => o.metadata.name), ['kubetee-default-deny-ingress', 'kubetee-webhook', 'kubetee-kbs']);
  assert.deepEqual(spec(nps[0]!).podSelector, {});
  assert.equal(render({ networkPolicies: { enabled: false } }).filter((o) => o.kind === 'NetworkPolicy').length, 0);
});

test('the YAML stream round-trips and has no aliases', () => {
  const objs = render();
  const text = toYamlStream(objs);
  assert.doesNotMatch(text, /[&*]a\d+/);
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
  assert.deepEqual(docs, JSON.parse(JSON.stringify(objs)));
});

test('schema validation catches a bad object with a typed error', () => {
  const objs = render();
  const broken = structuredClone(get(objs, 'Deployment', 'kubetee-webhook'));
  (broken['spec'] as Record<string, unknown>)['replicas'] = 'two';
  assert.throws(() => validateObjects([broken]), (err: unknown) => err instanceof DeployError && err.code === 'MANIFEST_INVALID' && /Deployment\/kubetee-system\/kubetee-webhook/.test(err.message));
  assert.throws(() => validateObjects([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]), (err: unknown) => err instanceof DeployError && err.code === 'MANIFEST_INVALID');
});
