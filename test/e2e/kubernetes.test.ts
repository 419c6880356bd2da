// Real-cluster e2e: a real kube-apiserver (etcd, controller-manager,
// scheduler) started by scripts/e2e/run.sh, kwok for the nodes, the real
// `kubetee webhook serve` on loopback HTTPS and the kubetee CLI as a user runs
// it. Tests run in order and build on each other (install -> admit ->
// schedule -> doctor -> uninstall).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { NODE_LABELS, RESOURCES, SGX_TAINT, TRUST_LABEL } from '../../src/common/labels.js';
import { apiErrorMessage, connectCluster, type Cluster } from '../../src/deploy/cluster.js';
import { generateWebhookTls } from '../../src/deploy/webhook-tls.js';
import { resolveValues } from '../../src/deploy/values.js';
import { trustPolicyFor } from '../../src/deploy/manifests/trust-policy.js';
import { INSTALLED_KINDS } from '../../src/deploy/uninstall.js';
import { isClusterScoped } from '../../src/deploy/objects.js';
import { PART_OF_SELECTOR, WEBHOOK_CONFIGURATION } from '../../src/deploy/names.js';
import { SANDBOX_NODE_LABELS } from '../../src/deploy/manifests/runtime-classes.js';
import { freePort } from '../helpers/net.js';
import { parsePolicy } from '../../src/webhook/policy/load-policy.js';
import { eventually, sleep } from '../helpers/wait.js';

const KUBECONFIG = process.env['KUBETEE_E2E_KUBECONFIG'];
const STATE = process.env['KUBETEE_E2E_STATE'];
const EPC = RESOURCES.alibaba.epc;
const NS = 'kubetee-system';



interface NodeSpec {
  name: string;
  instanceType: string;
  labels?: Record<string, string>;
  epcMiB?: number;
  sgxTaint?: boolean;
}

function fakeNode(spec: NodeSpec): Record<string, unknown> {
  // EPC (one device per MiB), enclave and provision slots, as the node agent's device plugin advertises them.
  const sgx: Record<string, string> = spec.epcMiB !== undefined && spec.epcMiB > 0 ? { [EPC]: String(spec.epcMiB), [RESOURCES.alibaba.enclave]: '110', [RESOURCES.alibaba.provision]: '110' } : {};
  const resources: Record<string, string> = { cpu: '8', memory: '32Gi', pods: '110', ...sgx };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', 'node.kubernetes.io/instance-type': spec.instanceType, ...spec.labels },
    },
    spec: spec.sgxTaint ? { taints: [{ ...SGX_TAINT }] } : {},
    // kwok keeps capacity/allocatable given at creation; the scheduler fits on allocatable.
    status: { capacity: resources, allocatable: resources },
  };
}

/** Labels the node agent publishes on a healthy SGX node. */
function sgxLabels(epcMiB: number): Record<string, string> {
  return { [NODE_LABELS.sgx]: 'true', [NODE_LABELS.flc]: 'true', [NODE_LABELS.sgx2]: 'true', [NODE_LABELS.driver]: 'in-kernel', [NODE_LABELS.aesm]: 'true', [NODE_LABELS.epcMiB]: String(epcMiB) };
}

function enclavePod(name: string, epcMiB: number | undefined, annotations: Record<string, string> = {}): V1Pod {
  const resources = epcMiB === undefined ? {} : { requests: { [EPC]: String(epcMiB) }, limits: { [EPC]: String(epcMiB) } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: { containers: [{ name: 'app', image: 'example.com/enclave-app:1', resources }] },
  };
}

describe('kubetee against a real Kubernetes control plane', { skip: !KUBECONFIG && !process.env['CI'] ? 'run with npm run test:e2e (starts the control plane)' : false }, () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let objects: KubernetesObjectApi;
  let cluster: Cluster;
  let webhook: ChildProcess | undefined;
  let broker: ChildProcess | undefined;
  let webhookUrl = '';
  let webhookArgs: string[] = [];
  let brokerUrl = '';
  let valuesFile = '';
  const work = join(STATE ?? '/tmp', 'suite');
  const cli = (args: string[]) => runCli([...args, '--kubeconfig', KUBECONFIG!], { timeoutMs: 180_000 });

  async function createPod(ns: string, pod: V1Pod): Promise<V1Pod> {
    return core.createNamespacedPod({ namespace: ns, body: pod });
  }
  async function createPodError(ns: string, pod: V1Pod): Promise<string> {
    try {
      await createPod(ns, pod);
    } catch (err) {
      return apiErrorMessage(err);
    }
    assert.fail(`pod ${pod.metadata?.name} in ${ns} was admitted but should have been denied`);
  }
  async function podScheduled(ns: string, name: string): Promise<V1Pod> {
    return eventually(`pod ${ns}/${name} to be scheduled or marked unschedulable`, async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name });
      return p.status?.conditions?.some((c) => c.type === 'PodScheduled') ? p : undefined;
    });
  }

  async function startWebhook(): Promise<void> {
    webhook = startCli(webhookArgs);
    await waitForOutput(webhook, /listening on/, 60_000);
  }
  async function stopChild(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    await eventually(`default service account in ${name}`, async () => (await core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).catch(() => undefined)) ?? undefined);
  }

  before(async () => {
    assert.ok(KUBECONFIG, 'KUBETEE_E2E_KUBECONFIG is not set: run the suite with `npm run test:e2e`');
    mkdirSync(work, { recursive: true });
    kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    core = kc.makeApiClient(CoreV1Api);
    objects = KubernetesObjectApi.makeApiClient(kc);
    cluster = connectCluster({ kubeconfig: KUBECONFIG });

    // Nodes as the node agent would publish them: two SGX nodes (64 and 128
    // MiB EPC, tainted), one plain node that runs every sandbox runtime.
    const nodes: NodeSpec[] = [
      { name: 'sgx-small', instanceType: 'ecs.g7t.large', labels: sgxLabels(64), epcMiB: 64, sgxTaint: true },
      { name: 'sgx-large', instanceType: 'ecs.g7t.xlarge', labels: sgxLabels(128), epcMiB: 128, sgxTaint: true },
      {
        name: 'plain-1',
        instanceType: 'ecs.g6.xlarge',
        labels: { [SANDBOX_NODE_LABELS.kata]: 'true', [SANDBOX_NODE_LABELS.runv]: 'true', [SANDBOX_NODE_LABELS.gvisor]: 'true' },
      },
    ];
    for (const n of nodes) await objects.create(fakeNode(n) as never);
    await eventually('kwok to mark the nodes Ready', async () => {
      const list = await core.listNode();
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === nodes.length ? true : undefined;
    });
    // The broker's SQLite volume: a static PV (no provisioner runs here).
    await objects.create({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'kubetee-e2e-kbs' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'kubetee-e2e', hostPath: { path: join(work, 'kbs') } },
    } as never);

    // The webhook runs on the host (the API server cannot reach pods without a
    // kubelet): loopback HTTPS with its own CA, passed to install as values.
    const port = await freePort();
    webhookUrl = `https://127.0.0.1:${port}`;
    const tls = await generateWebhookTls({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
    writeFileSync(join(work, 'tls.crt'), tls.certPem);
    writeFileSync(join(work, 'tls.key'), tls.keyPem, { mode: 0o600 });
    // The operator's own Kata class (as the CoCo operator would create it), named in the values.
    await objects.create({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'kata' },
      handler: 'kata',
      overhead: { podFixed: { cpu: '250m', memory: '200Mi' } },
      scheduling: { nodeSelector: { [SANDBOX_NODE_LABELS.kata]: 'true' } },
    } as never);
    const valuesDoc = {
      webhook: { externalURL: webhookUrl, caBundle: Buffer.from(tls.caPem).toString('base64') },
      kbs: { storage: { storageClassName: 'kubetee-e2e' } },
      existingRuntimeClasses: ['kata'],
    };
    valuesFile = join(work, 'values.yaml');
    writeFileSync(valuesFile, stringify(valuesDoc));
    // Until install wrote the trust-policy ConfigMap: the policy it will write. After install the
    // webhook is restarted on the ConfigMap's own content (test 'install applies everything').
    writeFileSync(join(work, 'policy.yaml'), stringify(trustPolicyFor(resolveValues(valuesDoc, 'e2e values'))));
    webhookArgs = ['webhook', 'serve', '--listen', `127.0.0.1:${port}`, '--tls-cert', join(work, 'tls.crt'), '--tls-key', join(work, 'tls.key'), '--policy', join(work, 'policy.yaml'), '--profile', 'alibaba', '--log-level', 'warn'];
    await startWebhook();

    // The real key broker on the host too, for doctor's readiness probe (--kbs-url).
    const kbsPort = await freePort();
    brokerUrl = `http://127.0.0.1:${kbsPort}`;
    broker = startCli(['kbs', 'serve', '--db', `sqlite:${join(work, 'kbs.db')}`, '--data-dir', join(work, 'kbs-data'), '--listen', `127.0.0.1:${kbsPort}`, '--pccs', 'https://127.0.0.1:9/sgx/certification/v4/'], {
      env: { KUBETEE_KBS_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    await waitForOutput(broker, /listening on/, 60_000);
  });

  after(async () => {
    for (const child of [webhook, broker]) await stopChild(child);
  });

  test('install --dry-run shows what would be created and changes nothing', async () => {
    const r = cli(['install', '--values', valuesFile, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\+ Namespace\/kubetee-system \(create\)/);
    assert.match(r.stdout, /\+ MutatingWebhookConfiguration\/kubetee-admission \(create\)/);
    assert.match(r.stdout, /\+ Secret\/kubetee-system\/kubetee-kbs-bootstrap-token \(create/);
    assert.match(r.stdout, /dry run: \d+ to create, 0 to update, 0 unchanged, 0 to prune; nothing was changed/);
    assert.doesNotMatch(r.stdout, /BEGIN (EC )?PRIVATE KEY/, 'dry-run output must not print key material');
    assert.equal(await cluster.get({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }), undefined);
  });

  test('install applies everything server-side and waits for the rollout', async () => {
    const r = cli(['install', '--values', valuesFile, '--timeout', '120']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /waiting for rollout/);
    assert.match(r.stdout, /Secret\/kubetee-system\/kubetee-kbs-master-key created/);
    assert.match(r.stdout, /Secret\/kubetee-system\/kubetee-kbs-bootstrap-token created/);
    const bootstrap = await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kubetee-kbs-bootstrap-token', namespace: NS } });
    const bootstrapToken = Buffer.from((bootstrap?.['data'] as Record<string, string>)['token']!, 'base64').toString('utf8');
    assert.match(bootstrapToken, /^kbt_[A-Za-z0-9_-]{43}$/);
    assert.ok(!r.stdout.includes(bootstrapToken), 'install never prints the bootstrap token');
    assert.match(r.stdout, /DaemonSet\/kubetee-system\/kubetee-node-agent: 2 of 2 nodes available \(ready\)/);
    assert.match(r.stdout, /DaemonSet\/kubetee-system\/kubetee-aesm: 2 of 2 nodes available \(ready\)/);
    assert.match(r.stdout, /Deployment\/kubetee-system\/kubetee-webhook: 2 of 2 replicas available \(ready\)/);
    assert.match(r.stdout, /Deployment\/kubetee-system\/kubetee-kbs: 1 of 1 replicas available \(ready\)/);
    // The configurations are registered after the rollout, pointing at the host webhook.
    assert.ok(r.stdout.indexOf('MutatingWebhookConfiguration/kubetee-admission created') > r.stdout.indexOf('waiting for rollout'));
    const mutating = await cluster.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: WEBHOOK_CONFIGURATION } });
    const hooks = mutating?.['webhooks'] as { name: string; clientConfig: { url?: string }; failurePolicy: string }[];
    assert.ok(hooks.length > 0);
    for (const h of hooks) {
      assert.ok(h.clientConfig.url?.startsWith(webhookUrl), h.clientConfig.url);
      // Fail closed where an unwired pod is dangerous; standard namespaces fail open.
      assert.equal(h.failurePolicy, h.name.startsWith('standard.') ? 'Ignore' : 'Fail', h.name);
    }
    // Server-side apply under kubetee's field manager.
    const ds = await cluster.get({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kubetee-node-agent', namespace: NS } });
    const managers = (ds?.metadata['managedFields'] as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes('kubetee-install/Apply'), managers.join(','));
    // The broker fetches collateral from Intel's PCS, not from the node-side aesm.pccsURL (localhost).
    const kbs = await cluster.get({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kubetee-kbs', namespace: NS } });
    const kbsArgs = (kbs?.['spec'] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
    assert.equal(kbsArgs[kbsArgs.indexOf('--pccs') + 1], 'https://api.trustedservices.intel.com/sgx/certification/v4/');
    // The node agent and AESM run on SGX nodes only.
    const agentPods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=kubetee-node-agent' });
    assert.deepEqual(agentPods.items.map((p) => p.spec?.nodeName).sort(), ['sgx-large', 'sgx-small']);
    // RuntimeClasses: kubetee's three created, the operator's kata left alone (not relabelled as kubetee's).
    const classes = await cluster.list('node.k8s.io/v1', 'RuntimeClass');
    assert.deepEqual(classes.filter((c) => c.metadata.labels?.['app.kubernetes.io/part-of'] === 'kubetee').map((c) => c.metadata.name).sort(), ['gvisor', 'kata-qemu', 'runv']);
    assert.equal(classes.find((c) => c.metadata.name === 'kata')?.metadata.labels?.['app.kubernetes.io/part-of'], undefined);
    // From here on the webhook enforces the policy install wrote, read back from the cluster.
    const policyMap = await cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubetee-trust-policy', namespace: NS } });
    const installedPolicy = (policyMap?.['data'] as Record<string, string>)['policy.yaml']!;
    assert.deepEqual(
      parsePolicy(installedPolicy, 'installed').sandboxRuntimeClasses.map((c) => `${c.name}:${c.epc}`),
      ['runv:unsupported', 'kata-qemu:annotation', 'gvisor:unsupported', 'kata:annotation'],
    );
    writeFileSync(join(work, 'policy.yaml'), installedPolicy);
    await stopChild(webhook);
    await startWebhook();
  });

  test('install refuses to take over a RuntimeClass it did not create', async () => {
    const conflicting = join(work, 'values-conflict.yaml');
    const rc = { name: 'kata', handler: 'kata', overhead: { cpu: '250m', memory: '160Mi' }, nodeSelector: { [SANDBOX_NODE_LABELS.kata]: 'true' } };
    writeFileSync(conflicting, stringify({ ...(parseYaml(readFileSync(valuesFile, 'utf8')) as object), existingRuntimeClasses: [], runtimeClasses: [rc] }));
    const r = cli(['install', '--values', conflicting, '--timeout', '60']);
    assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /RUNTIMECLASS_EXISTS/);
    assert.match(r.stderr, /RuntimeClass kata already exists and was not created by kubetee/);
    const kata = await cluster.get({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata' } });
    assert.equal((kata?.['overhead'] as { podFixed: Record<string, string> }).podFixed['memory'], '200Mi', 'the operator\'s class is untouched');
    // A class named as a Kata VM whose handler is Firecracker would admit enclaves that start without EPC: refused.
    await objects.create({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata-fast' }, handler: 'kata-fc' } as never);
    const misdeclared = join(work, 'values-misdeclared.yaml');
    writeFileSync(misdeclared, stringify({ ...(parseYaml(readFileSync(valuesFile, 'utf8')) as object), existingRuntimeClasses: ['kata', { name: 'kata-fast', epc: 'annotation' }] }));
    const m = cli(['install', '--values', misdeclared, '--timeout', '60']);
    assert.equal(m.status, 2, `${m.stdout}\n${m.stderr}`);
    assert.match(m.stderr, /RUNTIMECLASS_EPC_MISMATCH/);
    assert.match(m.stderr, /handler kata-fc cannot give enclaves EPC/);
    await objects.delete({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata-fast' } } as never);
  });

  test('install is idempotent and the dry-run diff is empty afterwards', async () => {
    const again = cli(['install', '--values', valuesFile, '--timeout', '60']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /webhook certificate: reusing the one in the cluster/);
    assert.match(again.stdout, /0 created, 0 configured, \d+ unchanged/);
    const dry = cli(['install', '--values', valuesFile, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: 0 to create, 0 to update, \d+ unchanged, 0 to prune/);
  });

  test('install prunes what the values no longer render, and restores it when they do again', async () => {
    const without = join(work, 'values-no-netpol.yaml');
    writeFileSync(without, `${readFileSync(valuesFile, 'utf8')}networkPolicies:\n  enabled: false\n`);
    const pruned = cli(['install', '--values', without, '--timeout', '60']);
    assert.equal(pruned.status, 0, pruned.stderr);
    assert.match(pruned.stdout, /NetworkPolicy\/kubetee-system\/kubetee-default-deny-ingress pruned/);
    assert.match(pruned.stdout, /3 pruned/);
    assert.deepEqual(await cluster.list('networking.k8s.io/v1', 'NetworkPolicy', { namespace: NS }), []);
    const restored = cli(['install', '--values', valuesFile, '--timeout', '60']);
    assert.equal(restored.status, 0, restored.stderr);
    assert.match(restored.stdout, /3 created/);
  });

  test('the API server calls the webhook over TLS and confidential pods are mutated', async () => {
    await createNamespace('conf', { [TRUST_LABEL]: 'confidential' });
    // Quotes through the node's AESM (Intel's quote-provider annotation).
    const pod = await createPod('conf', enclavePod('enclave-100', 100, { 'sgx.intel.com/quote-provider': 'aesmd' }));
    // Wired for SGX by the webhook: AESM socket, SGX node affinity, SGX taint toleration.
    assert.ok(pod.spec?.volumes?.some((v) => v.hostPath?.path === '/var/run/aesmd'), 'AESM socket volume');
    assert.ok(pod.spec?.containers[0]?.volumeMounts?.some((m) => m.mountPath === '/var/run/aesmd'), 'AESM socket mount');
    const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.ok(terms.some((t) => t.matchExpressions?.some((e) => e.key === NODE_LABELS.sgx)), 'SGX node affinity');
    assert.ok(pod.spec?.tolerations?.some((t) => t.key === SGX_TAINT.key), 'SGX toleration');
    assert.ok(pod.spec?.containers[0]?.env?.some((e) => e.name === 'SGX_AESM_ADDR' && e.value === '1'), 'SGX_AESM_ADDR');
  });

  test('sandboxed pods get their RuntimeClass (and the RuntimeClass admission its overhead and node selector)', async () => {
    await createNamespace('sbx', { [TRUST_LABEL]: 'sandboxed' });
    const pod = await createPod('sbx', enclavePod('untrusted', undefined));
    assert.equal(pod.spec?.runtimeClassName, 'runv');
    assert.equal(pod.spec?.overhead?.['memory'], '512Mi');
    assert.equal(pod.spec?.nodeSelector?.[SANDBOX_NODE_LABELS.runv], 'true');
    const scheduled = await eventually('sandboxed pod to run', async () => {
      const p = await core.readNamespacedPod({ namespace: 'sbx', name: 'untrusted' });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(scheduled.spec?.nodeName, 'plain-1');
  });

  test('violators are denied with the webhook’s messages', async () => {
    const privileged = await createPodError('sbx', {
      ...enclavePod('priv', undefined),
      spec: { containers: [{ name: 'app', image: 'example.com/x:1', securityContext: { privileged: true } }] },
    });
    assert.match(privileged, /admission webhook "sandboxed\.validate\.kubetee\.io" denied the request/);
    assert.match(privileged, /\[sandboxed\.no-privileged\].*is privileged, which defeats the sandbox/);

    const noEpc = await createPodError('conf', enclavePod('no-epc', undefined));
    assert.match(noEpc, /\[confidential\.requires-epc\]/);

    await createNamespace('std');
    const epcOutside = await createPodError('std', enclavePod('sneaky', 16));
    assert.match(epcOutside, /\[global\.epc-outside-confidential\]/);

    await createNamespace('typo', { [TRUST_LABEL]: 'confidentail' });
    const typo = await createPodError('typo', enclavePod('typo', undefined));
    assert.match(typo, /\[trust\.namespace-label\]/);
  });

  test('sandbox runtimes after install: the operator\'s kata serves sandboxed pods; enclaves in Kata VMs get their EPC annotation, in gVisor are denied', async () => {
    // Sandboxed: the operator's kata, named in the values, is a sandbox; the API server adds its overhead and node selector.
    const sandboxed = await createPod('sbx', { ...enclavePod('in-kata', undefined), spec: { runtimeClassName: 'kata', containers: [{ name: 'app', image: 'example.com/x:1' }] } });
    assert.equal(sandboxed.spec?.runtimeClassName, 'kata');
    assert.equal(sandboxed.spec?.overhead?.['memory'], '200Mi');
    assert.equal(sandboxed.spec?.nodeSelector?.[SANDBOX_NODE_LABELS.kata], 'true');
    // Confidential, server-side dry run (nothing is stored): a Kata VM gets the annotation, in the operator's class and in kubetee's.
    const dryRun = async (name: string, runtimeClassName: string): Promise<V1Pod> =>
      core.createNamespacedPod({ namespace: 'conf', dryRun: 'All', body: { ...enclavePod(name, 24), spec: { ...enclavePod(name, 24).spec!, runtimeClassName } } });
    for (const rc of ['kata', 'kata-qemu']) {
      const pod = await dryRun(`vm-${rc}`, rc);
      assert.equal(pod.metadata?.annotations?.['sgx.intel.com/epc'], '24Mi', `${rc}: the VM is sized with the pod's EPC`);
      assert.ok(pod.spec?.tolerations?.some((t) => t.key === EPC && t.operator === 'Exists' && t.effect === 'NoSchedule'), `${rc}: tolerates the EPC resource taint`);
    }
    // gVisor (kubetee's class) and runV cannot carry EPC: denied with the reason, never admitted broken.
    for (const rc of ['gvisor', 'runv']) {
      let message = '';
      try {
        await dryRun(`vm-${rc}`, rc);
      } catch (err) {
        message = apiErrorMessage(err);
      }
      assert.match(message, new RegExp(`admission webhook "confidential\\.validate\\.kubetee\\.io" denied the request.*\\[confidential\\.runtime-carries-epc\\] RuntimeClass "${rc}" cannot give an enclave EPC`), `${rc}: ${message}`);
    }
  });

  test('SGX nodes tainted with the EPC resource name run confidential pods; doctor warns about taints no confidential pod tolerates', async () => {
    const taint = (node: string, taints: { key: string; value?: string; effect: string }[]) =>
      objects.patch({ apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: { taints } } as never, undefined, undefined, 'e2e-operator', undefined, PatchStrategy.MergePatch);
    // The Kubernetes convention for extended resources instead of kubetee's taint.
    await taint('sgx-small', [{ key: EPC, effect: 'NoSchedule' }]);
    const pinned: V1Pod = { ...enclavePod('on-resource-taint', 8), spec: { ...enclavePod('on-resource-taint', 8).spec!, nodeSelector: { 'kubernetes.io/hostname': 'sgx-small' } } };
    await createPod('conf', pinned);
    const placed = await podScheduled('conf', 'on-resource-taint');
    assert.equal(placed.spec?.nodeName, 'sgx-small', JSON.stringify(placed.status?.conditions));
    await eventually('on-resource-taint Running', async () => ((await core.readNamespacedPod({ namespace: 'conf', name: 'on-resource-taint' })).status?.phase === 'Running' ? true : undefined));
    await core.deleteNamespacedPod({ namespace: 'conf', name: 'on-resource-taint', gracePeriodSeconds: 0 });
    // A taint of the operator's own that no confidential pod tolerates, and a class the policy does not name.
    await taint('sgx-large', [{ ...SGX_TAINT }, { key: 'dedicated', value: 'enclaves', effect: 'NoSchedule' }]);
    await objects.create({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata-clh' }, handler: 'kata-clh', scheduling: { nodeSelector: { [SANDBOX_NODE_LABELS.kata]: 'true' } } } as never);
    const report = JSON.parse(cli(['doctor', '--json']).stdout) as { ok: boolean; findings: { scope: string; code: string; severity: string; message: string }[] };
    const find = (scope: string, code: string) => report.findings.find((f) => f.scope === scope && f.code === code);
    assert.equal(find('node/sgx-large', 'NODE_TAINT_NOT_TOLERATED')?.severity, 'warning', JSON.stringify(report.findings));
    assert.match(find('node/sgx-large', 'NODE_TAINT_NOT_TOLERATED')!.message, /taint dedicated=enclaves:NoSchedule is tolerated by no confidential pod/);
    assert.equal(find('node/sgx-small', 'NODE_TAINT_NOT_TOLERATED'), undefined, 'the resource-name taint is tolerated');
    assert.equal(find('runtimeclass/kata-clh', 'RUNTIMECLASS_NOT_IN_POLICY')?.severity, 'warning');
    assert.equal(find('runtimeclass/kata', 'RUNTIMECLASS_NOT_IN_POLICY'), undefined, 'kata is named in the values');
    assert.ok(report.findings.some((f) => f.scope === 'runtimeclass/kata' && f.code === 'COMPONENT_OK'), 'the operator\'s class is checked for nodes too');
    // Back to the suite's cluster.
    await taint('sgx-small', [{ ...SGX_TAINT }]);
    await taint('sgx-large', [{ ...SGX_TAINT }]);
    await objects.delete({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata-clh' } } as never);
  });

  test('with the webhook down, standard namespaces keep creating pods and confidential/sandboxed ones fail closed', async () => {
    await createNamespace('std-labelled', { [TRUST_LABEL]: 'standard' });
    await stopChild(webhook);
    const plain = (name: string): V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'example.com/web:1' }] } });
    // Standard (unlabelled and labelled): failurePolicy Ignore, the pod is created.
    assert.equal((await createPod('std', plain('while-down'))).metadata?.name, 'while-down');
    assert.equal((await createPod('std-labelled', plain('while-down'))).metadata?.name, 'while-down');
    // Confidential and sandboxed: failurePolicy Fail, the API server refuses rather than start them unwired.
    const conf = await createPodError('conf', enclavePod('while-down', 8));
    assert.match(conf, /failed calling webhook "confidential\.mutate\.kubetee\.io"/);
    const sbx = await createPodError('sbx', plain('while-down'));
    assert.match(sbx, /failed calling webhook "sandboxed\.mutate\.kubetee\.io"/);
    // A misspelt trust label stays denied while the webhook is down.
    const typo = await createPodError('typo', plain('while-down'));
    assert.match(typo, /failed calling webhook "invalid-label\.validate\.kubetee\.io"/);

    // With a non-standard default level, unlabelled namespaces fail closed too (labelled standard ones still do not).
    const sandboxedDefault = join(work, 'values-default-sandboxed.yaml');
    writeFileSync(sandboxedDefault, `${readFileSync(valuesFile, 'utf8').replace(/^webhook:\n/m, 'webhook:\n  defaultTrustLevel: sandboxed\n')}`);
    assert.match(readFileSync(sandboxedDefault, 'utf8'), /defaultTrustLevel: sandboxed/);
    const strict = cli(['install', '--values', sandboxedDefault, '--timeout', '60']);
    assert.equal(strict.status, 0, `${strict.stdout}\n${strict.stderr}`);
    const unlabelled = await createPodError('std', plain('strict-down'));
    assert.match(unlabelled, /failed calling webhook "sandboxed\.mutate\.kubetee\.io"/);
    await createPod('std-labelled', plain('strict-down'));
    const restore = cli(['install', '--values', valuesFile, '--timeout', '60']);
    assert.equal(restore.status, 0, `${restore.stdout}\n${restore.stderr}`);

    // Back up: the standard webhook is called again and still denies EPC outside confidential.
    await startWebhook();
    let attempt = 0;
    const epcOutside = await eventually('the webhook to be called again', async () => {
      const name = `sneaky-again-${++attempt}`;
      try {
        await createPod('std', enclavePod(name, 16));
      } catch (err) {
        return apiErrorMessage(err);
      }
      await core.deleteNamespacedPod({ namespace: 'std', name, gracePeriodSeconds: 0 });
      return undefined;
    });
    assert.match(epcOutside, /\[global\.epc-outside-confidential\]/);
  });

  test('the real scheduler places enclave pods by EPC and leaves the ones that do not fit Pending', async () => {
    // enclave-100 (created above) only fits the 128 MiB node.
    const placed = await podScheduled('conf', 'enclave-100');
    assert.equal(placed.spec?.nodeName, 'sgx-large');
    await eventually('enclave-100 Running', async () => ((await core.readNamespacedPod({ namespace: 'conf', name: 'enclave-100' })).status?.phase === 'Running' ? true : undefined));
    // 48 MiB fits only the small node now (28 MiB left on the large one).
    await createPod('conf', enclavePod('enclave-48', 48));
    assert.equal((await podScheduled('conf', 'enclave-48')).spec?.nodeName, 'sgx-small');
    // 200 MiB fits nowhere: Pending with the scheduler's reason.
    await createPod('conf', enclavePod('enclave-200', 200));
    const pending = await podScheduled('conf', 'enclave-200');
    const cond = pending.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(pending.status?.phase, 'Pending');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'Unschedulable');
    assert.match(cond?.message ?? '', new RegExp(`Insufficient ${EPC.replace(/[./]/g, '\\$&')}`));
    const events = await eventually('FailedScheduling event', async () => {
      const list = await core.listNamespacedEvent({ namespace: 'conf', fieldSelector: 'involvedObject.name=enclave-200' });
      return list.items.find((e) => e.reason === 'FailedScheduling');
    });
    assert.match(events.message ?? '', /Insufficient alibabacloud\.com\/sgx_epc_MiB/);
  });

  test('doctor passes on the healthy cluster', async () => {
    const r = cli(['doctor', '--kbs-url', brokerUrl]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /component\/kubetee-kbs\s+ok\s+ready \(store sqlite\)/);
    assert.match(r.stdout, /node\/sgx-large\s+ok\s+SGX ready: 128 MiB EPC allocatable/);
    assert.match(r.stdout, /node\/plain-1\s+ok\s+not an SGX node/);
    // The values keep aesm.pccsURL at its localhost default, which the AESM pods cannot reach.
    assert.match(r.stdout, /component\/kubetee-aesm\s+WARN\s+the quote provider's PCCS URL https:\/\/localhost:8081\/sgx\/certification\/v4\/ \(aesm\.pccsURL\) points at localhost/);
    assert.match(r.stdout, /component\/kubetee-webhook\s+ok\s+the API server reached the webhook over TLS/);
    assert.match(r.stdout, /no blocking problems/);
    const json = cli(['doctor', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; findings: { code: string; severity: string }[] };
    assert.equal(report.ok, true);
    assert.deepEqual(report.findings.filter((f) => f.severity === 'error'), []);
  });

  test('doctor reports a deliberately broken cluster per node and component and exits non-zero', async () => {
    // A node pool mislabelled as SGX on a non-SGX instance type without FLC or EPC,
    await objects.create(fakeNode({ name: 'bad-1', instanceType: 'ecs.g6.large', labels: { ...sgxLabels(0), [NODE_LABELS.flc]: 'false' } }) as never);
    // AESM reported down on a good node,
    await objects.patch({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'sgx-small', labels: { [NODE_LABELS.aesm]: 'false' } } } as never, undefined, undefined, 'e2e-breaker', undefined, PatchStrategy.MergePatch);
    // a RuntimeClass whose nodes are gone,
    await objects.patch({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'plain-1', labels: { [SANDBOX_NODE_LABELS.gvisor]: null } } } as never, undefined, undefined, 'e2e-breaker', undefined, PatchStrategy.MergePatch);
    // and a stale caBundle (another CA than the one that signed the webhook's certificate).
    const otherCa = await generateWebhookTls({ dnsNames: ['localhost'], now: new Date() });
    const mutating = await cluster.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: WEBHOOK_CONFIGURATION } });
    const staleBundle = Buffer.from(otherCa.caPem).toString('base64');
    const webhooks = (mutating!['webhooks'] as { clientConfig: Record<string, unknown> }[]).map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: staleBundle } }));
    await objects.replace({ ...mutating!, webhooks } as never, undefined, undefined, 'e2e-breaker');

    await eventually('kwok to mark bad-1 Ready', async () => {
      const n = await core.readNode({ name: 'bad-1' });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    });
    // ... and a broker that does not answer.
    const deadBroker = `http://127.0.0.1:${await freePort()}`;
    const r = cli(['doctor', '--kbs-url', deadBroker]);
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /component\/kubetee-kbs\s+ERROR\s+key broker health check failed: cannot reach .*ECONNREFUSED/);
    assert.match(r.stderr, /error \[DOCTOR_BLOCKING\]/);
    assert.match(r.stdout, /node\/bad-1\s+ERROR\s+instance type ecs\.g6\.large cannot run SGX enclaves/);
    assert.match(r.stdout, /node\/bad-1\s+ERROR\s+the CPU lacks Flexible Launch Control/);
    assert.match(r.stdout, /node\/bad-1\s+ERROR\s+SGX node without allocatable EPC/);
    assert.match(r.stdout, /node\/sgx-small\s+ERROR\s+AESM is not answering/);
    assert.match(r.stdout, /component\/kubetee-webhook\s+ERROR\s+the API server could not call the webhook.*(x509|certificate)/);
    assert.match(r.stdout, /runtimeclass\/gvisor\s+WARN\s+no node can run handler runsc/);
    assert.match(r.stdout, /fix: /);
    const json = JSON.parse(cli(['doctor', '--json']).stdout) as { ok: boolean; findings: { scope: string; code: string }[] };
    assert.equal(json.ok, false);
    const codes = json.findings.map((f) => `${f.scope} ${f.code}`);
    for (const expected of ['node/bad-1 NODE_INSTANCE_TYPE', 'node/bad-1 NODE_NO_FLC', 'node/bad-1 NODE_NO_EPC', 'node/sgx-small NODE_AESM_DOWN', 'component/kubetee-webhook WEBHOOK_CA_STALE', 'runtimeclass/gvisor RUNTIMECLASS_NO_NODES']) {
      assert.ok(codes.includes(expected), `missing ${expected} in ${codes.join(', ')}`);
    }
    // Re-running install repairs what it owns (the caBundle is forced back);
    // the broken node goes first or AESM could never roll out on it.
    await core.deleteNode({ name: 'bad-1' });
    // Pods of a deleted node wait for pod GC (about a minute) and a DaemonSet pod that never got
    // scheduled there is not collected promptly either: remove both, as an operator would.
    await core.deleteCollectionNamespacedPod({ namespace: NS, fieldSelector: 'spec.nodeName=bad-1', gracePeriodSeconds: 0 });
    await core.deleteCollectionNamespacedPod({ namespace: NS, fieldSelector: 'status.phase=Pending' });
    await eventually('AESM DaemonSet to forget bad-1', async () => {
      const ds = await cluster.get({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kubetee-aesm', namespace: NS } });
      return (ds?.['status'] as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled === 2 ? true : undefined;
    });
    const repair = cli(['install', '--values', valuesFile, '--timeout', '60']);
    assert.equal(repair.status, 0, repair.stderr);
    const after = JSON.parse(cli(['doctor', '--json']).stdout) as { findings: { scope: string; code: string }[] };
    assert.ok(!after.findings.some((f) => f.code === 'WEBHOOK_CA_STALE'), 'install restored the caBundle');
  });

  test('uninstall keeps broker data by default, then removes everything with --delete-broker-secrets', async () => {
    const first = cli(['uninstall']);
    assert.equal(first.status, 0, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /PersistentVolumeClaim\/kubetee-system\/kubetee-kbs-data kept/);
    assert.match(first.stdout, /Secret\/kubetee-system\/kubetee-kbs-master-key kept/);
    assert.match(first.stdout, /Secret\/kubetee-system\/kubetee-kbs-bootstrap-token kept/);
    assert.ok(await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kubetee-kbs-bootstrap-token', namespace: NS } }));
    assert.ok(await cluster.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'kubetee-kbs-data', namespace: NS } }));
    assert.ok(await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kubetee-kbs-master-key', namespace: NS } }));
    // With the webhook gone, pods in opted-in namespaces are no longer sent anywhere.
    await createPod('conf', enclavePod('after-uninstall', 8));

    const second = cli(['uninstall', '--delete-broker-secrets']);
    assert.equal(second.status, 0, `${second.stdout}\n${second.stderr}`);
    assert.match(second.stdout, /nothing left behind/);
    for (const [apiVersion, kind] of [...INSTALLED_KINDS, ['v1', 'Pod'] as const]) {
      const left = await cluster.list(apiVersion, kind, { ...(isClusterScoped(kind) ? {} : { namespace: NS }), labelSelector: PART_OF_SELECTOR });
      assert.deepEqual(left.map((o) => o.metadata.name), [], `${kind} left behind`);
    }
    assert.equal(await cluster.get({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }), undefined);
  });
});
