import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { blocking, collateralExpiry, runChecks, type ClusterSnapshot, type Finding } from '../../src/deploy/doctor/checks.js';
import { selectorMatches } from '../../src/deploy/doctor/selectors.js';
import { readTrustPolicy } from '../../src/deploy/doctor/collect.js';
import { formatReport } from '../../src/deploy/doctor/report.js';
import { sgxCapability } from '../../src/deploy/instance-types.js';
import { renderManifests } from '../../src/deploy/render.js';
import { resolveValues } from '../../src/deploy/values.js';
import { generateWebhookTls, serviceDnsNames, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import type { KubeObject } from '../../src/deploy/objects.js';
import { NODE_LABELS, RESOURCES, SGX_TAINT } from '../../src/common/labels.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const REGIONAL_PCCS = 'https://sgx-dcap-server.cn-hangzhou.aliyuncs.com/sgx/certification/v4/';
let tls: WebhookTls;
let rendered: KubeObject[];
before(async () => {
  tls = await generateWebhookTls({ dnsNames: serviceDnsNames('kubetee-webhook', 'kubetee-system'), now: NOW });
  rendered = renderManifests(resolveValues({ aesm: { pccsURL: REGIONAL_PCCS } }, 'test'), tls);
});

function node(name: string, labels: Record<string, string>, epcMiB?: number, taint = false): KubeObject {
  const alloc = epcMiB === undefined ? {} : { [RESOURCES.alibaba.epc]: String(epcMiB) };
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: taint ? { taints: [SGX_TAINT] } : {}, status: { allocatable: alloc } };
}
function pod(component: string, nodeName: string, ready = true): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${component}-${nodeName}`, labels: { 'app.kubernetes.io/name': component } },
    spec: { nodeName },
    status: { phase: ready ? 'Running' : 'Pending', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
const withStatus = (o: KubeObject, status: Record<string, number>): KubeObject => ({ ...o, status });
const sgxLabels = { [NODE_LABELS.sgx]: 'true', [NODE_LABELS.flc]: 'true', [NODE_LABELS.driver]: 'in-kernel', [NODE_LABELS.aesm]: 'true', 'node.kubernetes.io/instance-type': 'ecs.g7t.xlarge' };

function healthy(): ClusterSnapshot {
  const of = (kind: string): KubeObject[] => rendered.filter((o) => o.kind === kind);
  const secret = of('Secret')[0]!;
  const tlsSecret = { ...secret, data: Object.fromEntries(Object.entries(secret['stringData'] as Record<string, string>).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
  return {
    namespace: 'kubetee-system',
    namespaceExists: true,
    nodes: [node('sgx-1', sgxLabels, 93, true), node('plain-1', { 'katacontainers.io/kata-runtime': 'true', 'kubetee.io/runtime.runv': 'true', 'kubetee.io/runtime.gvisor': 'true' })],
    pods: [pod('kubetee-node-agent', 'sgx-1'), pod('kubetee-aesm', 'sgx-1')],
    daemonSets: of('DaemonSet').map((d) => withStatus(d, { desiredNumberScheduled: 1, numberAvailable: 1 })),
    deployments: of('Deployment').map((d) => withStatus(d, { availableReplicas: (d['spec'] as { replicas: number }).replicas })),
    mutatingWebhooks: of('MutatingWebhookConfiguration'),
    validatingWebhooks: of('ValidatingWebhookConfiguration'),
    webhookTlsSecret: tlsSecret,
    aesmConfig: of('ConfigMap').find((c) => c.metadata.name === 'kubetee-aesm-config'),
    runtimeClasses: of('RuntimeClass'),
    trustPolicy: readTrustPolicy(of('ConfigMap').find((c) => c.metadata.name === 'kubetee-trust-policy')),
    webhookProbe: { status: 'ok', namespace: 'conf' },
    kbsProbe: { status: 'skipped' },
    now: NOW,
  };
}
const codes = (f: Finding[]): string[] => f.filter((x) => x.severity !== 'ok').map((x) => `${x.scope} ${x.code}`);

test('a healthy cluster has no blocking findings and reports every node and component', () => {
  const f = runChecks(healthy());
  assert.deepEqual(codes(f), []);
  assert.ok(f.some((x) => x.scope === 'node/sgx-1' && x.code === 'NODE_OK' && /93 MiB EPC/.test(x.message)));
  assert.ok(f.some((x) => x.scope === 'node/plain-1' && x.code === 'NODE_NOT_SGX'));
  for (const c of ['kubetee-node-agent', 'kubetee-aesm', 'kubetee-webhook', 'kubetee-kbs']) assert.ok(f.some((x) => x.scope === `component/${c}`), c);
});

test('not installed is one clear blocking finding', () => {
  const f = runChecks({ ...healthy(), namespaceExists: false });
  assert.deepEqual(codes(f), ['cluster NOT_INSTALLED']);
});

test('per-node SGX problems: instance type, EPC, plugin, FLC, driver, AESM', () => {
  const s = healthy();
  s.nodes.push(
    node('wrong-type', { ...sgxLabels, 'node.kubernetes.io/instance-type': 'ecs.g6.large' }, 64),
    node('no-epc', sgxLabels, 0),
    node('no-flc', { ...sgxLabels, [NODE_LABELS.flc]: 'false' }, 64),
    node('no-driver', { ...sgxLabels, [NODE_LABELS.driver]: 'none' }, 64),
    node('aesm-down', { ...sgxLabels, [NODE_LABELS.aesm]: 'false' }, 64),
  );
  for (const n of ['wrong-type', 'no-epc', 'no-flc', 'no-driver', 'aesm-down']) s.pods.push(pod('kubetee-node-agent', n), pod('kubetee-aesm', n));
  s.nodes.push(node('no-plugin', sgxLabels, 64));
  s.pods.push(pod('kubetee-node-agent', 'no-plugin', false), pod('kubetee-aesm', 'no-plugin'));
  const got = codes(runChecks(s));
  for (const want of ['node/wrong-type NODE_INSTANCE_TYPE', 'node/no-epc NODE_NO_EPC', 'node/no-flc NODE_NO_FLC', 'node/no-driver NODE_NO_DRIVER', 'node/aesm-down NODE_AESM_DOWN', 'node/no-plugin NODE_NO_PLUGIN']) {
    assert.ok(got.includes(want), `${want} missing from ${got.join(', ')}`);
  }
  assert.ok(blocking(runChecks(s)).every((x) => x.hint), 'every blocking finding says how to fix it');
});

test('an SGX instance type without the label still gets checked (agent missing there)', () => {
  const s = healthy();
  s.nodes.push(node('new-g7t', { 'node.kubernetes.io/instance-type': 'ecs.c7t.2xlarge' }));
  assert.deepEqual(codes(runChecks(s)).filter((c) => c.startsWith('node/new-g7t')), ['node/new-g7t NODE_NO_PLUGIN', 'node/new-g7t NODE_NO_EPC', 'node/new-g7t NODE_AESM_DOWN']);
});

test('no SGX node at all blocks confidential workloads', () => {
  const s = healthy();
  s.nodes = s.nodes.filter((n) => n.metadata.name !== 'sgx-1');
  assert.ok(codes(runChecks(s)).includes('cluster NO_SGX_NODES'));
});

test('webhook: unregistered, stale CA bundle, unreachable, fail-open', async () => {
  const missing = healthy();
  missing.mutatingWebhooks = [];
  assert.ok(codes(runChecks(missing)).includes('component/kubetee-webhook WEBHOOK_NOT_REGISTERED'));

  const stale = healthy();
  const other = await generateWebhookTls({ dnsNames: ['x'], now: NOW });
  stale.mutatingWebhooks = stale.mutatingWebhooks.map((c) => ({ ...c, webhooks: (c['webhooks'] as { clientConfig: object }[]).map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: Buffer.from(other.caPem).toString('base64') } })) }));
  assert.ok(codes(runChecks(stale)).includes('component/kubetee-webhook WEBHOOK_CA_STALE'));

  const expired = healthy();
  expired.now = new Date(NOW.getTime() + 400 * 86_400_000);
  assert.ok(runChecks(expired).some((f) => f.code === 'WEBHOOK_CA_STALE' && /expired/.test(f.message)));

  const down = healthy();
  down.webhookProbe = { status: 'failed', namespace: 'conf', message: 'Internal error occurred: failed calling webhook "confidential.mutate.kubetee.io": dial tcp 127.0.0.1:9443: connect: connection refused' };
  assert.ok(codes(runChecks(down)).includes('component/kubetee-webhook WEBHOOK_UNREACHABLE'));
  const x509 = healthy();
  x509.webhookProbe = { status: 'failed', namespace: 'conf', message: 'failed calling webhook: tls: failed to verify certificate: x509: certificate signed by unknown authority' };
  assert.ok(codes(runChecks(x509)).includes('component/kubetee-webhook WEBHOOK_CA_STALE'));

  const open = healthy();
  open.validatingWebhooks = open.validatingWebhooks.map((c) => ({ ...c, webhooks: (c['webhooks'] as object[]).map((w) => ({ ...w, failurePolicy: 'Ignore' })) }));
  assert.ok(runChecks(open).some((f) => f.code === 'WEBHOOK_FAIL_OPEN' && f.severity === 'warning'));
});

test('AESM pointed at a localhost PCCS: a warning, since localhost in the AESM pod is the pod itself', async () => {
  const withPccs = (url: string): ClusterSnapshot => {
    const objs = renderManifests(resolveValues({ aesm: { pccsURL: url } }, 'test'), tls);
    return { ...healthy(), aesmConfig: objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubetee-aesm-config') };
  };
  const local = runChecks(withPccs('https://localhost:8081/sgx/certification/v4/'));
  const finding = local.find((f) => f.code === 'AESM_PCCS_LOCALHOST');
  assert.equal(finding?.severity, 'warning');
  assert.equal(finding?.scope, 'component/kubetee-aesm');
  assert.match(finding?.message ?? '', /https:\/\/localhost:8081.*the pod itself/);
  assert.match(finding?.hint ?? '', /aesm\.pccsURL/);
  assert.deepEqual(blocking(local), [], 'a warning, not a blocker');
  for (const url of ['https://127.0.0.1:8081/sgx/certification/v4/', 'https://[::1]:8081/sgx/certification/v4/']) {
    assert.ok(runChecks(withPccs(url)).some((f) => f.code === 'AESM_PCCS_LOCALHOST'), url);
  }
  // The default values render exactly that.
  assert.match(String((rendered.find((o) => o.metadata.name === 'kubetee-aesm-config')!['data'] as Record<string, string>)['sgx_default_qcnl.conf']), /sgx-dcap-server/);
  const defaults = renderManifests(resolveValues({}, 'test'), tls);
  assert.ok(runChecks({ ...healthy(), aesmConfig: defaults.find((o) => o.metadata.name === 'kubetee-aesm-config') }).some((f) => f.code === 'AESM_PCCS_LOCALHOST'));
  // Not when the pod shares the node's network (then localhost is the node) or carries a PCCS sidecar.
  const hostNet = withPccs('https://localhost:8081/sgx/certification/v4/');
  hostNet.daemonSets = hostNet.daemonSets.map((d) => (d.metadata.name === 'kubetee-aesm' ? structuredClone(d) : d));
  const ds = hostNet.daemonSets.find((d) => d.metadata.name === 'kubetee-aesm')!;
  (ds['spec'] as { template: { spec: Record<string, unknown> } }).template.spec['hostNetwork'] = true;
  assert.ok(!runChecks(hostNet).some((f) => f.code === 'AESM_PCCS_LOCALHOST'));
  // No AESM ConfigMap (AESM disabled): nothing to say.
  assert.ok(!runChecks({ ...healthy(), aesmConfig: undefined }).some((f) => f.code === 'AESM_PCCS_LOCALHOST'));
  assert.ok(!runChecks(healthy()).some((f) => f.code === 'AESM_PCCS_LOCALHOST'));
});

test('aesm.enabled: false (AESM on the hosts, render node-init): no DaemonSet expected, the node label decides', () => {
  const hostAesm = (aesmLabel: string | undefined): ClusterSnapshot => {
    const s = healthy();
    s.daemonSets = s.daemonSets.filter((d) => d.metadata.name !== 'kubetee-aesm');
    s.aesmConfig = undefined;
    s.pods = s.pods.filter((p) => p.metadata.labels?.['app.kubernetes.io/name'] !== 'kubetee-aesm');
    const labels: Record<string, string> = { ...sgxLabels };
    if (aesmLabel === undefined) delete labels[NODE_LABELS.aesm];
    else labels[NODE_LABELS.aesm] = aesmLabel;
    s.nodes[0]!.metadata.labels = labels;
    return s;
  };
  const ok = runChecks(hostAesm('true'));
  assert.deepEqual(codes(ok), []);
  assert.ok(ok.some((f) => f.scope === 'component/kubetee-aesm' && f.severity === 'ok' && /aesm\.enabled: false/.test(f.message)));
  for (const label of ['false', undefined]) {
    const down = runChecks(hostAesm(label));
    assert.deepEqual(codes(down), ['node/sgx-1 NODE_AESM_DOWN'], String(label));
  }
  assert.match(runChecks(hostAesm(undefined)).find((f) => f.code === 'NODE_AESM_DOWN')!.hint!, /render node-init/);
  // The DaemonSet gone while its ConfigMap is still there: a broken install, as before.
  const broken = healthy();
  broken.daemonSets = broken.daemonSets.filter((d) => d.metadata.name !== 'kubetee-aesm');
  assert.ok(codes(runChecks(broken)).includes('component/kubetee-aesm COMPONENT_MISSING'));
});

test('RuntimeClasses without nodes: a warning while another sandbox works, an error when none does', () => {
  const some = healthy();
  some.nodes[1]!.metadata.labels = { 'katacontainers.io/kata-runtime': 'true' };
  const f = runChecks(some);
  assert.equal(f.find((x) => x.scope === 'runtimeclass/runv')?.severity, 'warning');
  assert.equal(f.find((x) => x.scope === 'runtimeclass/kata-qemu')?.severity, 'ok');
  const none = healthy();
  none.nodes[1]!.metadata.labels = {};
  assert.ok(runChecks(none).filter((x) => x.code === 'RUNTIMECLASS_NO_NODES').every((x) => x.severity === 'error'));
});

test('RuntimeClasses against the installed trust policy: named but missing, present but not named, policy unreadable', () => {
  assert.equal(healthy().trustPolicy?.status, 'ok');
  const rc = (name: string, handler: string): KubeObject => ({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name }, handler, scheduling: { nodeSelector: { 'katacontainers.io/kata-runtime': 'true' } } });
  // The operator's kata (CoCo operator) and a runc variant, not named in the values.
  const extra = healthy();
  extra.runtimeClasses.push(rc('kata', 'kata'), rc('nvidia', 'nvidia'));
  const f = runChecks(extra);
  assert.deepEqual(codes(f), ['runtimeclass/kata RUNTIMECLASS_NOT_IN_POLICY', 'runtimeclass/nvidia RUNTIMECLASS_NOT_IN_POLICY']);
  assert.ok(f.filter((x) => x.code === 'RUNTIMECLASS_NOT_IN_POLICY').every((x) => x.severity === 'warning'));
  assert.match(f.find((x) => x.scope === 'runtimeclass/kata')!.hint!, /add kata to existingRuntimeClasses in your values/);
  assert.match(f.find((x) => x.scope === 'runtimeclass/nvidia')!.message, /enclave pods \(kubetee cannot tell how it gives them EPC\)/);
  assert.match(f.find((x) => x.scope === 'runtimeclass/nvidia')!.hint!, /hostRuntimeClasses/);
  // Named in the values: no finding, and its nodes are checked like kubetee's own.
  const named = healthy();
  const values = resolveValues({ aesm: { pccsURL: REGIONAL_PCCS }, existingRuntimeClasses: ['kata', 'kata-clh'], hostRuntimeClasses: ['nvidia'] }, 'test');
  named.trustPolicy = readTrustPolicy(renderManifests(values, tls).find((o) => o.metadata.name === 'kubetee-trust-policy'));
  named.runtimeClasses.push(rc('kata', 'kata'), rc('nvidia', 'nvidia'));
  const g = runChecks(named);
  assert.deepEqual(codes(g), ['runtimeclass/kata-clh RUNTIMECLASS_MISSING']);
  assert.equal(g.find((x) => x.scope === 'runtimeclass/kata-clh')!.severity, 'warning');
  assert.ok(g.some((x) => x.scope === 'runtimeclass/kata' && x.code === 'COMPONENT_OK'));
  // The class injected into sandboxed pods is gone: every sandboxed pod without a class fails, an error.
  const gone = healthy();
  gone.runtimeClasses = gone.runtimeClasses.filter((o) => o.metadata.name !== 'runv');
  const h = runChecks(gone).find((x) => x.scope === 'runtimeclass/runv')!;
  assert.equal(h.code, 'RUNTIMECLASS_MISSING');
  assert.equal(h.severity, 'error');
  assert.match(h.message, /injects it into sandboxed pods/);
  // A class the policy sizes by annotation whose handler cannot carry EPC (a "kata" running Firecracker) admits broken enclaves: an error.
  const fc = healthy();
  fc.trustPolicy = named.trustPolicy;
  fc.runtimeClasses.push(rc('kata', 'kata-fc'), rc('kata-clh', 'kata-clh'), rc('nvidia', 'nvidia'));
  const m = runChecks(fc).find((x) => x.code === 'RUNTIMECLASS_EPC_MISMATCH')!;
  assert.equal(m.scope, 'runtimeclass/kata');
  assert.equal(m.severity, 'error');
  assert.match(m.message, /sizes enclaves in RuntimeClass kata with the sgx\.intel\.com\/epc annotation, but its handler kata-fc cannot give enclaves EPC/);
  assert.match(m.hint!, /existingRuntimeClasses: \[\{name: kata, epc: unsupported\}\]/);
  // The reverse (policy denies, handler could carry it) only costs pods that could have run: a warning.
  const gv = healthy();
  gv.runtimeClasses = gv.runtimeClasses.map((o) => (o.metadata.name === 'gvisor' ? { ...o, handler: 'kata-qemu' } : o));
  assert.equal(runChecks(gv).find((x) => x.code === 'RUNTIMECLASS_EPC_MISMATCH')?.severity, 'warning');
  const bad = healthy();
  bad.trustPolicy = readTrustPolicy({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubetee-trust-policy' }, data: { 'policy.yaml': 'apiVersion: policy.kubetee.io/v1\nkind: AdmissionPolicy\nsandboxRuntimeClasses: [kata-qmeu]\n' } });
  assert.deepEqual(codes(runChecks(bad)), ['component/kubetee-webhook TRUST_POLICY_INVALID']);
  assert.deepEqual(readTrustPolicy(undefined), { status: 'missing' });
});

test('SGX node taints that no confidential pod tolerates are warned about; kubetee\'s and resource-name taints are fine', () => {
  const tainted = (taints: { key: string; value?: string; effect: string }[], alloc: Record<string, string> = { [RESOURCES.alibaba.epc]: '93', [RESOURCES.alibaba.provision]: '110' }): ClusterSnapshot => {
    const s = healthy();
    s.nodes[0] = { ...s.nodes[0]!, spec: { taints }, status: { allocatable: alloc } };
    return s;
  };
  const ok = [
    [{ key: 'kubetee.io/sgx', value: 'true', effect: 'NoSchedule' }],
    [{ key: RESOURCES.alibaba.epc, effect: 'NoSchedule' }],
    [{ key: RESOURCES.alibaba.provision, effect: 'NoSchedule' }, { key: RESOURCES.alibaba.epc, effect: 'NoSchedule' }],
    [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
    [{ key: 'kubetee.io/sgx', value: 'true', effect: 'PreferNoSchedule' }, { key: 'zone', value: 'a', effect: 'PreferNoSchedule' }],
  ];
  for (const taints of ok) assert.deepEqual(codes(runChecks(tainted(taints))), [], JSON.stringify(taints));
  const intelNode = tainted([{ key: RESOURCES.intel.epc, effect: 'NoSchedule' }, { key: RESOURCES.intel.enclave, effect: 'NoSchedule' }], { [RESOURCES.intel.epc]: '96Mi', [RESOURCES.intel.enclave]: '20', [RESOURCES.intel.provision]: '20' });
  assert.deepEqual(codes(runChecks(intelNode)), []);
  const bad = [
    [{ key: 'dedicated', value: 'enclaves', effect: 'NoSchedule' }],
    [{ key: 'kubetee.io/sgx', value: 'yes', effect: 'NoSchedule' }],
    [{ key: RESOURCES.alibaba.epc, effect: 'NoExecute' }],
    // A resource the node does not offer (another profile's name): no pod that fits here requests it.
    [{ key: RESOURCES.intel.epc, effect: 'NoSchedule' }],
  ];
  for (const taints of bad) {
    const f = runChecks(tainted(taints));
    assert.deepEqual(codes(f), ['node/sgx-1 NODE_TAINT_NOT_TOLERATED'], JSON.stringify(taints));
    const finding = f.find((x) => x.code === 'NODE_TAINT_NOT_TOLERATED')!;
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, new RegExp(`taint ${taints[0]!.key.replace(/[./]/g, '\\$&')}.* is tolerated by no confidential pod`));
    assert.match(finding.hint!, /kubectl taint node sgx-1 /);
  }
});

test('broker: down, unhealthy, simulated root trusted, collateral expiring or expired', () => {
  const down = healthy();
  down.deployments = down.deployments.map((d) => (d.metadata.name === 'kubetee-kbs' ? withStatus(d, { availableReplicas: 0 }) : d));
  assert.ok(codes(runChecks(down)).includes('component/kubetee-kbs COMPONENT_DOWN'));
  const sick = healthy();
  sick.kbsProbe = { status: 'failed', message: 'GET /readyz answered HTTP 503 (store unavailable: connection refused)' };
  assert.ok(codes(runChecks(sick)).includes('component/kubetee-kbs KBS_UNHEALTHY'));
  const sim = healthy();
  sim.kbsProbe = { status: 'ok', body: { status: 'ready', store: 'sqlite', simulatedRootTrusted: true } };
  assert.ok(codes(runChecks(sim)).includes('component/kubetee-kbs KBS_SIMULATED_ROOT'));
  const ready = healthy();
  ready.kbsProbe = { status: 'ok', body: { status: 'ready', store: 'postgres', simulatedRootTrusted: false } };
  assert.ok(runChecks(ready).some((f) => f.scope === 'component/kubetee-kbs' && f.severity === 'ok' && /store postgres/.test(f.message)));
  const soon = healthy();
  soon.kbsProbe = { status: 'ok', body: { collateral: { nextUpdate: '2026-06-03T00:00:00Z' } } };
  assert.ok(runChecks(soon).some((f) => f.code === 'KBS_COLLATERAL_EXPIRING' && f.severity === 'warning'));
  const past = healthy();
  past.kbsProbe = { status: 'ok', body: { collateral: { expiresAt: '2026-05-01T00:00:00Z' } } };
  assert.ok(codes(runChecks(past)).includes('component/kubetee-kbs KBS_COLLATERAL_EXPIRED'));
  assert.equal(collateralExpiry({ collateral: { nextUpdate: 'garbage' } }), undefined);
  assert.equal(collateralExpiry('ok'), undefined);
});

test('the report prints a line per finding, a fix under each problem and a verdict', () => {
  const s = healthy();
  s.nodes.push(node('no-epc', sgxLabels, 0));
  const text = formatReport(runChecks(s), 'kubetee doctor: test');
  assert.match(text, /node\/no-epc\s+ERROR\s+SGX node without allocatable EPC/);
  assert.match(text, /\n\s+fix: /);
  assert.match(text, /\d+ problem\(s\) block confidential workloads/);
  assert.match(formatReport(runChecks(healthy()), 'x'), /no blocking problems/);
});

test('label selectors follow the API server semantics', () => {
  assert.equal(selectorMatches({}, {}), true);
  assert.equal(selectorMatches({ matchLabels: { a: '1' } }, { a: '1', b: '2' }), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 't', operator: 'NotIn', values: ['x'] }] }, {}), true, 'NotIn matches a missing label');
  assert.equal(selectorMatches({ matchExpressions: [{ key: 't', operator: 'In', values: ['x'] }] }, {}), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 't', operator: 'Exists' }] }, { t: '' }), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 't', operator: 'DoesNotExist' }] }, { t: '' }), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 't', operator: 'Gt', values: ['1'] }] }, { t: '2' }), false, 'unknown operators never match');
});

test('SGX capability of instance types', () => {
  const table: [string | undefined, string][] = [
    ['ecs.ebmhfg5.2xlarge', 'capable'],
    ['ecs.g7t.large', 'capable'],
    ['ecs.r7t.16xlarge', 'capable'],
    ['ecs.c7t.32xlarge', 'capable'],
    ['ecs.g7.large', 'incapable'],
    ['ecs.ebmhfg5.4xlarge', 'incapable'],
    ['Standard_DC4s_v3', 'capable'],
    ['Standard_D4s_v3', 'incapable'],
    ['m5.large', 'unknown'],
    [undefined, 'unknown'],
  ];
  for (const [type, want] of table) assert.equal(sgxCapability(type), want, String(type));
});
