import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startNodeAgent } from '../../src/node/agent.js';
import { loadKubeConfig } from '../../src/node/labels.js';
import { parseProfile } from '../../src/node/profile-option.js';
import { NODE_AGENT_FACTS, AESM_FACTS } from '../../src/node/manifests.js';
import { buildProgram } from '../../src/cli/main.js';
import { createHostTree } from '../../src/node/testing/host-tree.js';
import { startAesmStandin } from '../../src/node/testing/aesm-standin.js';
import { startPodResourcesStandin } from '../../src/node/testing/pod-resources-standin.js';
import { startKubeletStandin } from '../../src/deviceplugin/kubelet-standin.js';
import { NODE_ANNOTATIONS, NODE_LABELS, RESOURCES } from '../../src/common/labels.js';
import { startFakeApiServer, kubeconfigYaml } from '../helpers/fake-apiserver.js';
import { startCli, waitForOutput, runCli } from '../helpers/cli.js';

const base = mkdtempSync(join(tmpdir(), 'kt-agent-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const MiB = 1024 * 1024;

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(url));
  return kc;
}

test('embedded agent (alibaba): plugin, labels, NFD file, pod-resources accounting, metrics, AESM flip', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'icelake-sp-2socket', driver: 'in-kernel-with-aliases' });
  const aesm = await startAesmStandin(tree.aesmSocketDir);
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const podRes = await startPodResourcesStandin(join(dir, 'pr', 'kubelet.sock'));
  const api = await startFakeApiServer();
  const agent = await startNodeAgent({
    hostRoot: tree.root,
    profile: 'alibaba',
    kubeletDir: kubelet.dir,
    podResourcesSocket: podRes.socketPath,
    aesmSocketDir: '/var/run/aesmd',
    kube: { kubeConfig: kubeConfigFor(api.url), nodeName: 'sgx-node-1' },
    nfdFeaturesDir: join(dir, 'features.d'),
    metrics: { host: '127.0.0.1', port: 0 },
    healthPollMs: 200,
    pluginPollMs: 200,
    accountingIntervalMs: 60_000,
  });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
    await podRes.close();
    await api.close();
    await aesm.close().catch(() => undefined);
  });
  await kubelet.waitFor(() => kubelet.resource(RESOURCES.alibaba.epc)?.devices.length === 4064, 'EPC devices at kubelet');
  await kubelet.waitFor(() => agent.status().resources.every((r) => r.registered), 'agent sees registration');

  const s = agent.status();
  assert.equal(s.usable, true);
  assert.equal(s.aesmAlive, true);
  assert.equal(s.epcMode, 'devices', '4 GiB fits one device per MiB');
  assert.equal(s.epcNodeCapacity, null);
  assert.deepEqual(s.resources.map((r) => [r.resourceName, r.total, r.healthy]), [[RESOURCES.alibaba.epc, 4064, 4064], [RESOURCES.alibaba.enclave, 110, 110], [RESOURCES.alibaba.provision, 110, 110]]);
  assert.equal(s.epcCgroup.available, false);
  assert.match(s.epcCgroup.note, /scheduling only/);

  // Labels went to the API server as a JSON merge patch on the node.
  const patch = api.requests.find((r) => r.url.startsWith('/api/v1/nodes/sgx-node-1') && r.method === 'PATCH');
  assert.ok(patch, JSON.stringify(api.requests));
  assert.equal(patch.contentType, 'application/merge-patch+json');
  assert.deepEqual((patch.body as { metadata: { labels: Record<string, string> } }).metadata.labels, {
    [NODE_LABELS.sgx]: 'true', [NODE_LABELS.flc]: 'true', [NODE_LABELS.sgx2]: 'true', [NODE_LABELS.epcMiB]: '4064', [NODE_LABELS.driver]: 'in-kernel', [NODE_LABELS.aesm]: 'true',
  });
  assert.deepEqual((patch.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations, { [NODE_ANNOTATIONS.epcLimits]: 'scheduling-only' });
  assert.ok(!api.requests.some((r) => r.url.includes('/status')), 'alibaba profile does not patch node status');
  assert.match(readFileSync(join(dir, 'features.d', 'kubetee-sgx'), 'utf8'), /^kubetee\.io\/sgx\.epc-mib=4064$/m);

  // A pod gets 3 MiB through kubelet; pod-resources reports it; the agent accounts it.
  const alloc = await kubelet.allocate(RESOURCES.alibaba.epc, [['0', '1', '2']]);
  assert.equal(alloc.container_responses.length, 1);
  podRes.setPods([
    { name: 'enclave-app', namespace: 'prod', containers: [{ name: 'app', devices: [{ resource_name: RESOURCES.alibaba.epc, device_ids: ['0', '1', '2'] }, { resource_name: RESOURCES.alibaba.provision, device_ids: ['sgx-provision-0'] }] }] },
    { name: 'plain', namespace: 'prod', containers: [{ name: 'web', devices: [] }] },
  ]);
  await agent.refreshAccounting();
  assert.deepEqual(agent.status().allocations, [{ namespace: 'prod', pod: 'enclave-app', container: 'app', epcBytes: 3 * MiB, deviceIds: ['0', '1', '2'], provision: true }]);
  const text = await (await fetch(`${agent.metricsUrl}/metrics`)).text();
  assert.match(text, /kubetee_sgx_epc_capacity_bytes 4261412864/);
  assert.match(text, /kubetee_sgx_epc_allocated_bytes 3145728/);
  assert.match(text, /kubetee_sgx_pod_epc_bytes\{namespace="prod",pod="enclave-app",container="app"\} 3145728/);
  assert.match(text, /kubetee_sgx_devices\{resource="alibabacloud.com\/sgx_epc_MiB",health="Healthy"\} 4064/);
  assert.match(text, /kubetee_sgx_aesm_up 1/);
  assert.equal((await fetch(`${agent.metricsUrl}/healthz`)).status, 200);

  // AESM dies: devices go Unhealthy, the aesm label is re-published as false, metrics follow.
  const before = api.requests.length;
  await aesm.close();
  await kubelet.waitFor(() => kubelet.resource(RESOURCES.alibaba.epc)!.devices.every((d) => d.health === 'Unhealthy'), 'unhealthy EPC');
  await kubelet.waitFor(() => api.requests.length > before, 'label re-publish');
  const last = api.requests.at(-1)!.body as { metadata: { labels: Record<string, string> } };
  assert.equal(last.metadata.labels[NODE_LABELS.aesm], 'false');
  const after2 = await (await fetch(`${agent.metricsUrl}/metrics`)).text();
  assert.match(after2, /kubetee_sgx_devices\{resource="alibabacloud.com\/sgx_epc_MiB",health="Unhealthy"\} 4064/);
  assert.match(after2, /kubetee_sgx_aesm_up 0/);
});

test('embedded agent (intel): EPC bytes patched into node status; API errors are reported, not fatal', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'azure-dc2ds-v3', driver: 'in-kernel', miscCgroupEpc: true });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const api = await startFakeApiServer();
  const agent = await startNodeAgent({
    hostRoot: tree.root,
    profile: 'intel',
    kubeletDir: kubelet.dir,
    podResourcesSocket: null,
    aesmSocketDir: null,
    kube: { kubeConfig: kubeConfigFor(api.url), nodeName: 'dc2' },
    pluginPollMs: 200,
  });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
    await api.close();
  });
  // The kernel has the sgx_epc misc cgroup here: the running enclave container gets its limit.
  api.pods = [{ metadata: { uid: 'u-1', namespace: 'prod', name: 'enclave' }, spec: { containers: [{ name: 'app', resources: { limits: { [RESOURCES.intel.epc]: '32Mi' } } }] }, status: { qosClass: 'Guaranteed', containerStatuses: [{ name: 'app', containerID: 'containerd://abc' }] } }];
  const scope = tree.path('/sys/fs/cgroup/kubepods.slice/kubepods-podu_1.slice/cri-containerd-abc.scope');
  mkdirSync(scope, { recursive: true });
  await agent.enforceEpcLimits();
  assert.deepEqual(agent.status().epcCgroup.enforced, ['prod/enclave/app']);
  assert.equal(readFileSync(join(scope, 'misc.max'), 'utf8'), `sgx_epc ${32 * MiB}\n`);
  const status = api.requests.find((r) => r.url.startsWith('/api/v1/nodes/dc2/status'));
  assert.ok(status);
  // Allocatable too: the scheduler fits on it, and kubelet would copy it from capacity only at its next sync.
  assert.deepEqual(status.body, { status: { capacity: { [RESOURCES.intel.epc]: String(8 * 1024 * MiB) }, allocatable: { [RESOURCES.intel.epc]: String(8 * 1024 * MiB) } } });
  assert.equal(agent.status().epcCgroup.available, true);
  await kubelet.waitFor(() => kubelet.resource(RESOURCES.intel.enclave)?.devices.length === 110, 'enclave slots');
  const e = await kubelet.allocate(RESOURCES.intel.enclave, [['sgx-enclave-0']]);
  assert.deepEqual(e.container_responses[0]!.envs, {}); // AESM disabled: nothing injected
  // kubelet restart: after re-registration the EPC capacity is patched again (a kubelet without its checkpoint resets it).
  const statusPatches = (): number => api.requests.filter((r) => r.url.startsWith('/api/v1/nodes/dc2/status')).length;
  const patchesBefore = statusPatches();
  await kubelet.restart();
  await kubelet.waitFor(() => statusPatches() > patchesBefore, 'capacity re-published after kubelet restart');
  api.failWith = { status: 403 };
  await agent.publishLabels();
  assert.match(agent.status().labels.error ?? '', /HTTP 403|403/);
  assert.equal(agent.status().labels.published, false);
});

test('agent on a node without SGX runs, advertises nothing and labels sgx=false', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'no-sgx', driver: 'none' });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const agent = await startNodeAgent({ hostRoot: tree.root, profile: 'alibaba', kubeletDir: kubelet.dir, podResourcesSocket: join(dir, 'no-kubelet', 'kubelet.sock'), aesmSocketDir: '/var/run/aesmd', nfdFeaturesDir: join(dir, 'nfd'), pluginPollMs: 200 });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
  });
  const s = agent.status();
  assert.equal(s.usable, false);
  assert.deepEqual(s.resources, []);
  assert.match(s.reasons.join(' '), /does not implement SGX/);
  // pod-resources unreachable: reported in the status, the agent keeps running.
  assert.match(s.accounting.error ?? '', /POD_RESOURCES_FAILED.*pod-resources List/);
  assert.match(readFileSync(join(dir, 'nfd', 'kubetee-sgx'), 'utf8'), /^kubetee\.io\/sgx=false$/m);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(kubelet.registrations.length, 0);
});

test('CLI: kubetee node-agent registers with kubelet, labels through a kubeconfig, stops on SIGTERM', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'coffeelake-server', driver: 'in-kernel' });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const api = await startFakeApiServer();
  writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(api.url));
  t.after(async () => {
    await kubelet.close();
    await api.close();
  });
  const child = startCli([
    'node-agent', '--host-root', tree.root, '--profile', 'intel', '--kubelet-dir', kubelet.dir,
    '--pod-resources-socket', '', '--aesm-socket-dir', '', '--kubeconfig', join(dir, 'kubeconfig'), '--node-name', 'cli-node', '--metrics', '127.0.0.1:0', '--log-level', 'warn',
  ]);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const out = await waitForOutput(child, /metrics: http/, 30_000);
  assert.match(out, /resource sgx\.intel\.com\/enclave: 110\/110 healthy/);
  assert.match(out, /EPC limits: kernel has no sgx_epc misc cgroup/);
  await kubelet.waitFor(() => kubelet.registrations.length === 2, 'CLI agent registrations');
  assert.ok(api.requests.some((r) => r.url.startsWith('/api/v1/nodes/cli-node')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('--profile accepts only alibaba and intel', () => {
  assert.equal(parseProfile('intel'), 'intel');
  assert.throws(() => parseProfile('azure'), /not a profile/);
});

test('kubeconfig problems are KUBE_CONFIG_INVALID', async () => {
  await assert.rejects(loadKubeConfig({}), { code: 'KUBE_CONFIG_INVALID' });
  await assert.rejects(loadKubeConfig({ kubeconfig: join(base, 'missing-kubeconfig') }), { code: 'KUBE_CONFIG_INVALID' });
  writeFileSync(join(base, 'kc-empty'), 'apiVersion: v1\nkind: Config\n');
  await assert.rejects(loadKubeConfig({ kubeconfig: join(base, 'kc-empty') }), { code: 'KUBE_CONFIG_INVALID' });
});

test('CLI: node-agent flag errors exit 2 with a code', () => {
  const noName = runCli(['node-agent', '--host-root', base], { env: { NODE_NAME: '' } });
  assert.equal(noName.status, 2);
  assert.match(noName.stderr, /\[NODE_NAME_MISSING\]/);
  // The hidden `node agent` spelling is the same command.
  const badMetrics = runCli(['node', 'agent', '--no-labels', '--metrics', 'nope', '--host-root', base]);
  assert.equal(badMetrics.status, 2);
  assert.match(badMetrics.stderr, /\[AGENT_OPTIONS_INVALID\]/);
});

test('manifest facts: every node-agent arg is a declared flag, mounts cover every host path the agent reads', async () => {
  const program = await buildProgram();
  const cmd = program.commands.find((c) => c.name() === 'node-agent')!;
  const declared = new Set(cmd.options.map((o) => o.long));
  const args = NODE_AGENT_FACTS.args('intel');
  assert.equal(args[0], 'node-agent');
  for (const a of args.slice(1)) if (a.startsWith('--')) assert.ok(declared.has(a), `${a} is not a node-agent flag`);
  const mounted = NODE_AGENT_FACTS.hostPaths.map((h) => h.mountPath);
  for (const p of ['/var/lib/kubelet/device-plugins', '/var/lib/kubelet/pod-resources', '/dev', '/sys/devices/system/node', '/var/run/aesmd', '/sys/fs/cgroup']) assert.ok(mounted.includes(p), p);
  assert.equal(NODE_AGENT_FACTS.securityContext.privileged, false);
  assert.ok(AESM_FACTS.sgxResources.alibaba[RESOURCES.alibaba.provision], 'AESM needs PROVISIONKEY for the PCE');
});

test('CLI: on a node without SGX the agent keeps running until SIGTERM (no crash loop, no early exit)', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'no-sgx', driver: 'none' });
  const child = startCli(['node-agent', '--host-root', tree.root, '--no-labels', '--kubelet-dir', join(dir, 'dp'), '--pod-resources-socket', '', '--log-level', 'silent']);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const out = await waitForOutput(child, /EPC limits:/, 30_000);
  assert.match(out, /SGX: not usable \(the CPU does not implement SGX/);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(child.exitCode, null, 'still running');
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
