// The real-kubelet tier: a real kube-apiserver, scheduler and controller
// manager, containerd + runc, and ONE real kubelet (node `localhost`), all
// started by scripts/e2e/node/run.sh. On that node: `kubetee node-agent` (the
// real CLI, as a host process) over a simulated SGX host tree whose SGX
// device nodes are STAND-INS (character devices with the numbers of a harmless
// host device: there is no SGX hardware here), an AESM stand-in socket, the
// real `kubetee webhook serve`, and `kubetee install`. Every test asserts what
// the kubelet or the container really did. Tests run in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { runCli, startCli, waitForOutput, REPO_ROOT } from '../../helpers/cli.js';
import { freePort } from '../../helpers/net.js';
import { NODE_LABELS, QUOTE_PROVIDER_ANNOTATION, RESOURCES, TRUST_LABEL } from '../../../src/common/labels.js';
import { apiErrorMessage } from '../../../src/deploy/cluster.js';
import { generateWebhookTls } from '../../../src/deploy/webhook-tls.js';
import { resolveValues } from '../../../src/deploy/values.js';
import { trustPolicyFor } from '../../../src/deploy/manifests/trust-policy.js';
import { SANDBOX_NODE_LABELS } from '../../../src/deploy/manifests/runtime-classes.js';
import { createHostTree, startAesmStandin, type AesmStandin, type HostTree } from '../../../src/node/testing/index.js';
import { accountEpc, listAllocatableDevices, listPodResources, type ContainerEpc } from '../../../src/node/pod-resources.js';
import { epcUsage } from '../../../src/node/epc-usage.js';
import { eventually, execIn, metricValue, mknodStandin, pickStandinDevices, sleep, type CharDevice } from './helpers.js';

const KUBECONFIG = process.env['KUBETEE_E2E_KUBECONFIG'];
const STATE = process.env['KUBETEE_E2E_STATE'] ?? '';
const SCRIPTS = process.env['KUBETEE_E2E_NODE_SCRIPTS'] ?? join(REPO_ROOT, 'scripts/e2e/node');
const NODE = 'localhost';
const EPC = RESOURCES.alibaba.epc;
const PROVISION = RESOURCES.alibaba.provision;
/** The pod-resources socket lives under the kubelet's --root-dir (unlike the device-plugin directory). */
const POD_RESOURCES_SOCKET = join(STATE, 'kubelet-root/pod-resources/kubelet.sock');
const MiB = 1024 * 1024;
/** icelake-client: one 188 MiB EPC section (SGX1+2, FLC). */
const EPC_MIB = 188;
const BUSYBOX = 'localhost/kubetee-e2e/busybox:1';

/**
 * What a container sees, printed by busybox sh: for each SGX device path
 * whether it is a character device and opens (with its numbers), the SGX
 * env vars, the AESM socket and the mount at /var/run/aesmd.
 */
const PROBE = [
  'for p in /dev/sgx_enclave /dev/sgx/enclave /dev/sgx_provision /dev/sgx/provision; do',
  '  if [ -c "$p" ]; then',
  '    if err=$( (exec 3<"$p") 2>&1 ); then echo "$p open $(stat -c %t:%T "$p")"; else echo "$p denied $err"; fi',
  '  elif [ -e "$p" ]; then echo "$p not-a-char-device"; else echo "$p absent"; fi',
  'done',
  'echo "SGX_AESM_ADDR ${SGX_AESM_ADDR-unset}"',
  'echo "SGX_VISIBLE_DEVICES ${SGX_VISIBLE_DEVICES-unset}"',
  'if [ -S /var/run/aesmd/aesm.socket ]; then echo "aesm-socket present"; else echo "aesm-socket absent"; fi',
  'awk \'$5 == "/var/run/aesmd" { print "aesm-mount " $6 " " $(NF-2) }\' /proc/self/mountinfo',
].join('\n');

type Probe = Map<string, string>;
function parseProbe(out: string): Probe {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) m.set(line.slice(0, i), m.has(line.slice(0, i)) ? `${m.get(line.slice(0, i))}\n${line.slice(i + 1)}` : line.slice(i + 1));
  }
  return m;
}
const hex = (d: CharDevice): string => `${d.major.toString(16)}:${d.minor.toString(16)}`;

/** A busybox container that sleeps until told to stop. */
function sleeper(name = 'app', resources: Record<string, string> = {}): V1Container {
  return {
    name,
    image: BUSYBOX,
    imagePullPolicy: 'Never',
    command: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'],
    ...(Object.keys(resources).length ? { resources: { requests: resources, limits: resources } } : {}),
  };
}
function pod(name: string, containers: V1Container[], extra: Partial<V1Pod['spec']> = {}, annotations: Record<string, string> = {}): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, annotations }, spec: { terminationGracePeriodSeconds: 2, containers, ...extra } };
}

describe('kubetee on a real kubelet node (containerd + runc; SGX devices are stand-ins)', { skip: !KUBECONFIG && !process.env['CI'] ? 'run with npm run test:e2e:node (starts the cluster and the kubelet; needs root)' : false }, () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let tree: HostTree;
  let aesm: AesmStandin;
  let enclaveDev: CharDevice;
  let provisionDev: CharDevice;
  let agent: ChildProcess | undefined;
  let webhook: ChildProcess | undefined;
  let metricsUrl = '';
  let valuesFile = '';
  const work = join(STATE, 'suite');
  const cli = (args: string[]) => runCli([...args, '--kubeconfig', KUBECONFIG!], { timeoutMs: 300_000 });

  /** Child processes go into the run's pid list too, so teardown stops them even if this process dies. */
  function record(child: ChildProcess, name: string): ChildProcess {
    if (child.pid) appendFileSync(join(STATE, 'pids'), `${child.pid} ${name}\n`);
    return child;
  }
  async function stopChild(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(8000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  const metrics = async (): Promise<string> => (await fetch(`${metricsUrl}/metrics`)).text();
  const readNode = () => core.readNode({ name: NODE });
  async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    await eventually(`default service account in ${name}`, async () => (await core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).catch(() => undefined)) ?? undefined);
  }
  async function createPodError(ns: string, p: V1Pod): Promise<string> {
    try {
      await core.createNamespacedPod({ namespace: ns, body: p });
    } catch (err) {
      return apiErrorMessage(err);
    }
    assert.fail(`pod ${p.metadata?.name} in ${ns} was admitted but should have been denied`);
  }
  async function runningPod(ns: string, name: string, timeoutMs = 120_000): Promise<V1Pod> {
    return eventually(
      `pod ${ns}/${name} Running and ready`,
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name });
        if (p.status?.phase === 'Failed') throw new Error(`pod failed: ${JSON.stringify(p.status)}`);
        return p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready) ? p : undefined;
      },
      timeoutMs,
    );
  }
  async function startPod(ns: string, p: V1Pod): Promise<V1Pod> {
    await core.createNamespacedPod({ namespace: ns, body: p });
    return runningPod(ns, p.metadata!.name!);
  }
  async function deletePod(ns: string, name: string): Promise<void> {
    await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 1 });
    // Gone from the API only after the kubelet confirmed its containers stopped.
    await eventually(`pod ${ns}/${name} to be deleted by the kubelet`, async () => ((await core.readNamespacedPod({ namespace: ns, name }).catch(() => undefined)) ? undefined : true), 90_000);
  }
  async function probe(ns: string, name: string, container = 'app'): Promise<Probe> {
    const r = await execIn(kc, ns, name, container, ['sh', '-c', PROBE]);
    assert.equal(r.code, 0, `probe failed in ${ns}/${name}: ${r.stderr}`);
    return parseProbe(r.stdout);
  }
  async function events(ns: string, name: string): Promise<string[]> {
    const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
    return list.items.map((e) => `${e.reason}: ${e.message}`);
  }
  const kubelet = (cmd: 'start' | 'stop'): void => {
    const r = spawnSync('bash', [join(SCRIPTS, 'kubelet.sh'), cmd, STATE], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `kubelet.sh ${cmd}: ${r.stderr}`);
  };
  const nodeQuantity = async (field: 'capacity' | 'allocatable', resource: string): Promise<string | undefined> => (await readNode()).status?.[field]?.[resource];

  before(async () => {
    assert.ok(KUBECONFIG, 'KUBETEE_E2E_KUBECONFIG is not set: run the tier with `npm run test:e2e:node`');
    mkdirSync(work, { recursive: true });
    kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    core = kc.makeApiClient(CoreV1Api);

    // The simulated SGX host: CPUID, sysfs and cpuinfo of an Ice Lake client
    // part, and STAND-IN device nodes with a harmless device's numbers.
    tree = createHostTree(join(STATE, 'sgx-host'), { machine: 'icelake-client', driver: 'in-kernel' });
    [enclaveDev, provisionDev] = pickStandinDevices(2) as [CharDevice, CharDevice];
    mknodStandin(tree.path('/dev/sgx_enclave'), enclaveDev, '0666');
    mknodStandin(tree.path('/dev/sgx_provision'), provisionDev, '0660');
    aesm = await startAesmStandin(tree.aesmSocketDir);

    // The webhook on the host (loopback HTTPS), as in the kwok tier; its policy
    // names the simulated host's AESM directory for node-AESM quoting.
    const port = await freePort();
    const tls = await generateWebhookTls({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
    writeFileSync(join(work, 'tls.crt'), tls.certPem);
    writeFileSync(join(work, 'tls.key'), tls.keyPem, { mode: 0o600 });
    const valuesDoc = {
      // The locally built kubetee image runs the installed webhook Deployment on the real node.
      image: { repository: 'localhost/kubetee-e2e/kubetee', tag: 'dev', pullPolicy: 'Never' },
      webhook: { replicas: 1, externalURL: `https://127.0.0.1:${port}`, caBundle: Buffer.from(tls.caPem).toString('base64') },
      // The node agent runs as a host process over the stand-in tree (below); no AESM image or
      // SGX exists here; the broker is covered by the kwok tier and its own suites.
      nodeAgent: { enabled: false },
      aesm: { enabled: false },
      kbs: { enabled: false },
    };
    valuesFile = join(work, 'values.yaml');
    writeFileSync(valuesFile, stringify(valuesDoc));
    const policy = trustPolicyFor(resolveValues(valuesDoc, 'e2e values'));
    writeFileSync(join(work, 'policy.yaml'), stringify({ ...policy, confidential: { ...policy.confidential, aesmSocketHostPath: tree.aesmSocketDir } }));
    webhook = record(
      startCli(['webhook', 'serve', '--listen', `127.0.0.1:${port}`, '--tls-cert', join(work, 'tls.crt'), '--tls-key', join(work, 'tls.key'), '--policy', join(work, 'policy.yaml'), '--profile', 'alibaba', '--log-level', 'warn']),
      'kubetee-webhook',
    );
    await waitForOutput(webhook, /listening on/, 60_000);

    // The node agent: the real CLI as a host process. It reads the stand-in
    // tree and hands the kubelet host paths inside it (--kubelet-host-root).
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    agent = record(
      startCli([
        'node-agent', '--host-root', tree.root, '--kubelet-host-root', tree.root, '--pod-resources-socket', POD_RESOURCES_SOCKET,
        '--node-name', NODE, '--kubeconfig', KUBECONFIG,
        '--metrics', `127.0.0.1:${metricsPort}`, '--log-level', 'info',
      ]),
      'kubetee-node-agent',
    );
    await waitForOutput(agent, /kubetee node-agent running/, 60_000);
  });

  after(async () => {
    for (const ns of ['conf', 'std', 'sbx', 'held-out']) await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    // Pods end before the agent and the webhook go, so the kubelet tears their sandboxes down cleanly.
    await eventually('test pods to be gone', async () => ((await core.listPodForAllNamespaces()).items.some((p) => ['conf', 'std', 'sbx', 'held-out'].includes(p.metadata?.namespace ?? '')) ? undefined : true), 120_000).catch(() => undefined);
    for (const child of [agent, webhook]) await stopChild(child);
    await aesm?.close();
  });

  test('install: the webhook Deployment runs on the real node from the local kubetee image', async () => {
    const r = cli(['install', '--values', valuesFile, '--timeout', '240']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Deployment\/kubetee-system\/kubetee-webhook: 1 of 1 replicas available \(ready\)/);
    // Ready because the kubelet's HTTPS readiness probe reached the webhook in the pod's own network namespace.
    const pods = await core.listNamespacedPod({ namespace: 'kubetee-system', labelSelector: 'app.kubernetes.io/name=kubetee-webhook' });
    assert.equal(pods.items.length, 1);
    const p = pods.items[0]!;
    assert.equal(p.spec?.nodeName, NODE);
    assert.equal(p.status?.phase, 'Running');
    assert.ok(p.status?.containerStatuses?.[0]?.ready);
    assert.match(p.status?.podIP ?? '', /^10\.217\.88\./, 'pod IP from the tier\'s bridge network');
    assert.equal(p.status?.containerStatuses?.[0]?.image, 'localhost/kubetee-e2e/kubetee:dev');
    const logs = await core.readNamespacedPodLog({ namespace: 'kubetee-system', name: p.metadata!.name!, container: 'webhook' });
    assert.match(logs, /listening on/);
  });

  test('1: the node agent registers with the real kubelet: EPC and provision in capacity and allocatable, SGX labels on the node', async () => {
    const node = await eventually(
      'the kubelet to publish the device plugins\' resources',
      async () => {
        const n = await readNode();
        return n.status?.allocatable?.[EPC] === String(EPC_MIB) && n.status?.allocatable?.[PROVISION] === '110' ? n : undefined;
      },
      60_000,
    );
    assert.equal(node.status?.capacity?.[EPC], String(EPC_MIB));
    assert.equal(node.status?.capacity?.[PROVISION], '110');
    const labels = node.metadata?.labels ?? {};
    assert.equal(labels[NODE_LABELS.sgx], 'true');
    assert.equal(labels[NODE_LABELS.epcMiB], String(EPC_MIB));
    assert.equal(labels[NODE_LABELS.flc], 'true');
    assert.equal(labels[NODE_LABELS.sgx2], 'true');
    assert.equal(labels[NODE_LABELS.driver], 'in-kernel');
    assert.equal(labels[NODE_LABELS.aesm], 'true');
    const m = await metrics();
    assert.equal(metricValue(m, 'kubetee_sgx_plugin_registered', { resource: EPC }), 1);
    assert.equal(metricValue(m, 'kubetee_sgx_plugin_registered', { resource: PROVISION }), 1);
    // The kubelet wrote its device-manager checkpoint naming both resources.
    const checkpoint = readFileSync('/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint', 'utf8');
    assert.match(checkpoint, /RegisteredDevices/);
    assert.ok(checkpoint.includes(EPC) && checkpoint.includes(PROVISION), checkpoint.slice(0, 300));
  });

  test('2: a confidential pod is mutated, scheduled, allocated by the kubelet, and its container gets the enclave devices, SGX_AESM_ADDR and the AESM directory (no provisioning unless requested)', async () => {
    await createNamespace('conf', { [TRUST_LABEL]: 'confidential' });
    const created = await core.createNamespacedPod({ namespace: 'conf', body: pod('enclave', [sleeper('app', { [EPC]: '16' })]) });
    // Mutated by the webhook (through the real API server): SGX node affinity and toleration.
    const terms = created.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.ok(terms.some((t) => t.matchExpressions?.some((e) => e.key === NODE_LABELS.sgx)), 'SGX node affinity');
    assert.ok(created.spec?.tolerations?.some((t) => t.key === NODE_LABELS.sgx), 'SGX toleration');
    const running = await runningPod('conf', 'enclave');
    assert.equal(running.spec?.nodeName, NODE);

    const seen = await probe('conf', 'enclave');
    // Device nodes the kubelet created from Allocate's DeviceSpecs: the stand-in's numbers, and they open.
    assert.equal(seen.get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
    assert.equal(seen.get('/dev/sgx/enclave'), `open ${hex(enclaveDev)}`);
    assert.equal(seen.get('/dev/sgx_provision'), 'absent');
    assert.equal(seen.get('/dev/sgx/provision'), 'absent');
    assert.equal(seen.get('SGX_AESM_ADDR'), '1');
    // SGX_VISIBLE_DEVICES is set only in Allocate's response: proof the kubelet called Allocate with 16 IDs.
    const ids = seen.get('SGX_VISIBLE_DEVICES')!.split(',');
    assert.equal(ids.length, 16);
    assert.equal(new Set(ids).size, 16);
    assert.equal(seen.get('aesm-socket'), 'present');
    assert.match(seen.get('aesm-mount') ?? '', /^ro[, ]/, `AESM directory mounted read-only: ${seen.get('aesm-mount')}`);

    // A container that quotes in process asks for provisioning and gets /dev/sgx_provision too.
    await startPod('conf', pod('quoting', [sleeper('app', { [EPC]: '8', [PROVISION]: '1' })], {}, { [QUOTE_PROVIDER_ANNOTATION]: 'app' }));
    const quoting = await probe('conf', 'quoting');
    assert.equal(quoting.get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
    assert.equal(quoting.get('/dev/sgx_provision'), `open ${hex(provisionDev)}`);
    assert.equal(quoting.get('/dev/sgx/provision'), `open ${hex(provisionDev)}`);
    assert.equal(quoting.get('SGX_VISIBLE_DEVICES')!.split(',').length, 8);
  });

  test('3: without the resource a pod cannot open the device: the webhook denies the hostPath trick in a confidential namespace, the devices cgroup refuses it elsewhere', async () => {
    // Layer 1, admission: host SGX device paths are denied in confidential namespaces.
    const hostDev = pod('host-dev', [{ ...sleeper('app', { [EPC]: '4' }), volumeMounts: [{ name: 'sgx', mountPath: '/dev/sgx_enclave' }] }], {
      volumes: [{ name: 'sgx', hostPath: { path: '/dev/sgx_enclave', type: 'CharDevice' } }],
    });
    assert.match(await createPodError('conf', hostDev), /\[confidential\.no-host-sgx-devices\]/);

    // Layer 2, the kernel: in a standard namespace (no SGX rules for hostPath) the stand-in node
    // is bind-mounted into the container, but the devices cgroup, which lists only what Allocate
    // handed out, refuses to open it. Creating the node with mknod does not help either.
    await createNamespace('std');
    await startPod(
      'std',
      pod('sneaky', [{ ...sleeper('app'), volumeMounts: [{ name: 'sgx', mountPath: '/dev/sgx_enclave' }] }], {
        volumes: [{ name: 'sgx', hostPath: { path: tree.path('/dev/sgx_enclave'), type: 'CharDevice' } }],
      }),
    );
    const seen = await probe('std', 'sneaky');
    assert.match(seen.get('/dev/sgx_enclave') ?? '', /^denied .*Operation not permitted/, `hostPath stand-in: ${seen.get('/dev/sgx_enclave')}`);
    assert.equal(seen.get('SGX_VISIBLE_DEVICES'), 'unset');
    const mk = await execIn(kc, 'std', 'sneaky', 'app', ['sh', '-c', `mknod /tmp/sgx c ${enclaveDev.major} ${enclaveDev.minor} && exec 3</tmp/sgx`]);
    assert.notEqual(mk.code, 0, 'a self-made device node must not open');
    assert.match(mk.stderr, /Operation not permitted/);
    // The same numbers open in the confidential pod that was allocated EPC (test 2): the cgroup decides.
    assert.equal((await probe('conf', 'enclave')).get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
  });

  /** The dashboard's node view of EPC, computed from the real kubelet: allocatable devices (with NUMA) and held IDs. */
  async function dashboardEpc(accounted: ContainerEpc[]) {
    const allocatable = await listAllocatableDevices(POD_RESOURCES_SOCKET);
    const devices = allocatable.filter((d) => d.resource_name === EPC).flatMap((d) => d.device_ids.map((id) => ({ id, numaNode: d.topology?.nodes?.[0]?.ID ?? 0 })));
    return epcUsage(devices, accounted);
  }

  test('4: EPC accounting from the real kubelet\'s pod-resources API matches the running pods, and frees a deleted pod\'s EPC (accounting, agent metrics, dashboard model)', async () => {
    const accounted = accountEpc(await listPodResources(POD_RESOURCES_SOCKET), 'alibaba');
    const byPod = new Map(accounted.map((a) => [`${a.namespace}/${a.pod}/${a.container}`, a]));
    assert.deepEqual([...byPod.keys()].sort(), ['conf/enclave/app', 'conf/quoting/app']);
    assert.equal(byPod.get('conf/enclave/app')!.epcBytes, 16 * MiB);
    assert.equal(byPod.get('conf/quoting/app')!.epcBytes, 8 * MiB);
    assert.equal(byPod.get('conf/quoting/app')!.provision, true);
    assert.equal(byPod.get('conf/enclave/app')!.provision, false);
    // The kubelet's record is the very IDs the container received in SGX_VISIBLE_DEVICES.
    const inContainer = (await probe('conf', 'enclave')).get('SGX_VISIBLE_DEVICES')!.split(',').sort();
    assert.deepEqual([...byPod.get('conf/enclave/app')!.deviceIds].sort(), inContainer);

    // The dashboard's node view: 188 MiB on NUMA node 0, 24 MiB of it held.
    assert.deepEqual(await dashboardEpc(accounted), {
      capacityBytes: EPC_MIB * MiB,
      allocatedBytes: 24 * MiB,
      sections: [{ numaNode: 0, capacityBytes: EPC_MIB * MiB, allocatedBytes: 24 * MiB }],
    });
    // The agent's own accounting (its pod-resources poll) as it serves it.
    await eventually('the agent to account both pods', async () => {
      const m = await metrics();
      return metricValue(m, 'kubetee_sgx_epc_allocated_bytes') === 24 * MiB &&
        metricValue(m, 'kubetee_sgx_pod_epc_bytes', { namespace: 'conf', pod: 'quoting', container: 'app' }) === 8 * MiB
        ? true
        : undefined;
    }, 40_000);

    await deletePod('conf', 'quoting');
    const after = accountEpc(await eventually('pod-resources to drop the deleted pod', async () => {
      const pods = await listPodResources(POD_RESOURCES_SOCKET);
      return pods.some((p) => p.name === 'quoting') ? undefined : pods;
    }), 'alibaba');
    assert.deepEqual(after.map((a) => `${a.namespace}/${a.pod}`), ['conf/enclave']);
    assert.equal((await dashboardEpc(after)).allocatedBytes, 16 * MiB);
    await eventually('the agent to free the deleted pod\'s EPC', async () => {
      const m = await metrics();
      return metricValue(m, 'kubetee_sgx_epc_allocated_bytes') === 16 * MiB &&
        metricValue(m, 'kubetee_sgx_pod_epc_bytes', { namespace: 'conf', pod: 'quoting', container: 'app' }) === undefined
        ? true
        : undefined;
    }, 40_000);
  });

  test('5: kubelet restart: the plugin re-registers, running pods keep their devices, new pods get EPC; device loss on the host makes the devices Unhealthy and recovery restores them', async () => {
    const before = metricValue(await metrics(), 'kubetee_sgx_plugin_registrations', { resource: EPC }) ?? 0;
    const podBefore = await core.readNamespacedPod({ namespace: 'conf', name: 'enclave' });
    const containerId = podBefore.status?.containerStatuses?.[0]?.containerID;

    kubelet('stop');
    kubelet('start');
    await eventually('the plugin to re-register with the restarted kubelet', async () => ((metricValue(await metrics(), 'kubetee_sgx_plugin_registrations', { resource: EPC }) ?? 0) > before ? true : undefined), 90_000);
    await eventually('the node to be Ready with all EPC allocatable again', async () => {
      const n = await readNode();
      const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && n.status?.allocatable?.[EPC] === String(EPC_MIB) ? true : undefined;
    }, 90_000);

    // The node's Ready condition outlives a short restart: wait until the new kubelet serves exec.
    await eventually('the restarted kubelet to serve exec', async () => ((await execIn(kc, 'conf', 'enclave', 'app', ['true'])).code === 0 ? true : undefined), 90_000);
    // The running pod was not restarted and still opens its device.
    const podAfter = await runningPod('conf', 'enclave');
    assert.equal(podAfter.status?.containerStatuses?.[0]?.containerID, containerId);
    assert.equal(podAfter.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal((await probe('conf', 'enclave')).get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
    // A new pod after the restart is allocated EPC the old one does not hold.
    await startPod('conf', pod('after-restart', [sleeper('app', { [EPC]: '4' })]));
    const fresh = await probe('conf', 'after-restart');
    assert.equal(fresh.get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
    const freshIds = fresh.get('SGX_VISIBLE_DEVICES')!.split(',');
    const oldIds = new Set((await probe('conf', 'enclave')).get('SGX_VISIBLE_DEVICES')!.split(','));
    assert.equal(freshIds.length, 4);
    assert.ok(freshIds.every((id) => !oldIds.has(id)), 'no EPC device handed out twice');

    // Device loss on the host (the stand-in node disappears, as on a driver unload):
    // the kubelet keeps the capacity but nothing is allocatable.
    tree.removeDevice('/dev/sgx_enclave');
    try {
      await eventually('the kubelet to see the EPC devices Unhealthy', async () => {
        const n = await readNode();
        return n.status?.allocatable?.[EPC] === '0' && n.status?.capacity?.[EPC] === String(EPC_MIB) ? true : undefined;
      }, 60_000);
      assert.equal(metricValue(await metrics(), 'kubetee_sgx_devices', { resource: EPC, health: 'Unhealthy' }), EPC_MIB);
      // A pod asking for EPC now does not fit.
      await core.createNamespacedPod({ namespace: 'conf', body: pod('during-loss', [sleeper('app', { [EPC]: '2' })]) });
      await eventually('the scheduler to report insufficient EPC', async () => {
        const p = await core.readNamespacedPod({ namespace: 'conf', name: 'during-loss' });
        const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
        return c?.status === 'False' && /Insufficient alibabacloud\.com\/sgx_epc_MiB/.test(c.message ?? '') ? true : undefined;
      }, 60_000);
    } finally {
      // Recovery: the device is back (also when an assertion above failed, so later tests have a healthy node).
      mknodStandin(tree.path('/dev/sgx_enclave'), enclaveDev, '0666');
    }
    await eventually('the kubelet to see the EPC devices Healthy again', async () => ((await nodeQuantity('allocatable', EPC)) === String(EPC_MIB) ? true : undefined), 60_000);
    assert.equal(metricValue(await metrics(), 'kubetee_sgx_devices', { resource: EPC, health: 'Healthy' }), EPC_MIB);
    await runningPod('conf', 'during-loss');
    assert.equal((await probe('conf', 'during-loss')).get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);
    for (const name of ['after-restart', 'during-loss']) await deletePod('conf', name);
  });

  test('6: RuntimeClass plumbing (handlers mapped to runc: proves wiring, not VM isolation): the webhook sets runv and containerd runs it with that handler; an unknown handler fails as the kubelet reports', async () => {
    // The operator marks the node as able to run these runtimes (kata-deploy / node-init would).
    await core.patchNode(
      { name: NODE, body: { metadata: { labels: { [SANDBOX_NODE_LABELS.runv]: 'true', [SANDBOX_NODE_LABELS.gvisor]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await createNamespace('sbx', { [TRUST_LABEL]: 'sandboxed' });
    const created = await core.createNamespacedPod({ namespace: 'sbx', body: pod('sandboxed', [sleeper()]) });
    assert.equal(created.spec?.runtimeClassName, 'runv');
    const running = await runningPod('sbx', 'sandboxed');
    assert.equal(running.spec?.nodeName, NODE);
    // containerd started it through the `runv` handler: runc's state for it lives in that handler's own root.
    const id = running.status!.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '');
    assert.ok(existsSync(join(STATE, 'runc-runv', 'k8s.io', id, 'state.json')), `runc state of ${id} under the runv handler's root`);
    assert.equal(existsSync(join('/run/containerd/runc/k8s.io', id)), false, 'not under the default runc root');
    // A control: a standard pod runs under the default handler's root.
    const plain = await startPod('std', pod('plain', [sleeper()]));
    const plainId = plain.status!.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '');
    assert.ok(existsSync(join('/run/containerd/runc/k8s.io', plainId, 'state.json')));

    // gVisor's RuntimeClass (handler runsc) is installed, but this containerd has no such handler.
    await core.createNamespacedPod({ namespace: 'sbx', body: { ...pod('gvisor', [sleeper()]), spec: { ...pod('gvisor', [sleeper()]).spec!, runtimeClassName: 'gvisor' } } });
    const ev = await eventually('the kubelet to report the missing runtime handler', async () => (await events('sbx', 'gvisor')).find((e) => /^FailedCreatePodSandBox/.test(e)), 90_000);
    assert.match(ev, /no runtime for "runsc" is configured/);
    assert.notEqual((await core.readNamespacedPod({ namespace: 'sbx', name: 'gvisor' })).status?.phase, 'Running');
    for (const [ns, name] of [['sbx', 'sandboxed'], ['sbx', 'gvisor'], ['std', 'plain'], ['std', 'sneaky']] as const) await deletePod(ns, name);
  });

  test('7: admission cases that change what a container receives, run through the node (docs/admission.md)', async () => {
    await createNamespace('held-out', { [TRUST_LABEL]: 'confidential' });
    // confidential.translate-epc: Intel's byte resource becomes EPC devices; not whole MiB rounds up.
    await startPod('held-out', pod('intel-bytes', [{ ...sleeper(), resources: { requests: { 'sgx.intel.com/epc': '8Mi' }, limits: { 'sgx.intel.com/epc': '8Mi' } } }]));
    assert.equal((await probe('held-out', 'intel-bytes')).get('SGX_VISIBLE_DEVICES')!.split(',').length, 8);
    await startPod('held-out', pod('odd-bytes', [{ ...sleeper(), resources: { requests: { 'sgx.intel.com/epc': '5000000' }, limits: { 'sgx.intel.com/epc': '5000000' } } }]));
    const odd = await probe('held-out', 'odd-bytes');
    assert.equal(odd.get('SGX_VISIBLE_DEVICES')!.split(',').length, 5, '4.77 MiB rounds up to 5 devices');
    assert.equal(odd.get('/dev/sgx_enclave'), `open ${hex(enclaveDev)}`);

    // confidential.aesm-socket, node AESM: the webhook's hostPath and the plugin's mount meet at
    // /var/run/aesmd; the container sees the node's AESM socket and the env var.
    const created = await core.createNamespacedPod({ namespace: 'held-out', body: pod('node-aesm', [sleeper('app', { [EPC]: '2' })], {}, { [QUOTE_PROVIDER_ANNOTATION]: 'aesmd' }) });
    assert.ok(created.spec?.volumes?.some((v) => v.hostPath?.path === tree.aesmSocketDir), 'webhook added the AESM hostPath');
    await runningPod('held-out', 'node-aesm');
    const nodeAesm = await probe('held-out', 'node-aesm');
    assert.equal(nodeAesm.get('aesm-socket'), 'present');
    assert.equal(nodeAesm.get('SGX_AESM_ADDR'), '1');

    // confidential.aesm-socket, sidecar: an `aesmd` container shares a memory emptyDir with the
    // app; the app must see the sidecar's directory, not the node's.
    await startPod(
      'held-out',
      pod('sidecar', [
        { ...sleeper('app', { [EPC]: '2' }) },
        { ...sleeper('aesmd', { [EPC]: '2' }), command: ['sh', '-c', 'trap "exit 0" TERM; touch /var/run/aesmd/from-sidecar; sleep 3600 & wait'] },
      ], {}, { [QUOTE_PROVIDER_ANNOTATION]: 'aesmd' }),
    );
    const app = await execIn(kc, 'held-out', 'sidecar', 'app', ['sh', '-c', 'ls /var/run/aesmd; echo "SGX_AESM_ADDR=$SGX_AESM_ADDR"']);
    assert.match(app.stdout, /from-sidecar/, `app sees the sidecar's AESM directory: ${app.stdout}`);
    assert.match(app.stdout, /SGX_AESM_ADDR=1/);
  });
});
