// Large EPC (issue 18, target 3): a 1 TiB node (two 512 GiB sections) must
// have every MiB schedulable under both profiles. One device per MiB cannot
// carry it (kubelet's 4 MiB ListAndWatch limit), so the alibaba profile
// switches to EPC as node capacity plus enclave slots; the intel profile
// always advertises bytes. The API server is the one fake here (a recording
// endpoint); the real scheduler sees these numbers in test/e2e/large-epc.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startNodeAgent } from '../../src/node/agent.js';
import { probeNode } from '../../src/node/probe.js';
import { nodeCapacityFor } from '../../src/node/labels.js';
import { accountEpc } from '../../src/node/pod-resources.js';
import { desiredEpcLimits } from '../../src/node/epc-limits.js';
import { createHostTree } from '../../src/node/testing/host-tree.js';
import { startPodResourcesStandin } from '../../src/node/testing/pod-resources-standin.js';
import { startKubeletStandin } from '../../src/deviceplugin/kubelet-standin.js';
import { epcDeviceLayout, resolveEpcMode } from '../../src/deviceplugin/sgx/profiles.js';
import { KUBELET_MAX_MESSAGE_BYTES, listAndWatchBytes } from '../../src/deviceplugin/list-size.js';
import { RESOURCES } from '../../src/common/labels.js';
import { startFakeApiServer, kubeconfigYaml } from '../helpers/fake-apiserver.js';

const base = mkdtempSync(join(tmpdir(), 'kt-large-epc-'));
after(() => rmSync(base, { recursive: true, force: true }));
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;
let n = 0;

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(url));
  return kc;
}

test('the 1 TiB machine probes to exactly 2^40 bytes in two 512 GiB NUMA sections', async () => {
  const tree = createHostTree(join(base, `p${n++}`), { machine: 'xeon-2socket-1tib', driver: 'in-kernel' });
  const probe = await probeNode({ hostRoot: tree.root, aesmSocketDir: null });
  assert.equal(probe.usable, true);
  assert.equal(probe.epcBytes, TiB);
  assert.deepEqual(probe.numaEpc, [{ node: 0, bytes: 512 * GiB }, { node: 1, bytes: 512 * GiB }]);
  // Every byte reaches the scheduler: the published numbers multiply back to the hardware's.
  assert.deepEqual(nodeCapacityFor(probe, 'intel'), { [RESOURCES.intel.epc]: '1099511627776' });
  assert.deepEqual(nodeCapacityFor(probe, 'alibaba', 'node-capacity'), { [RESOURCES.alibaba.epc]: '1048576' });
  assert.equal(Number(nodeCapacityFor(probe, 'alibaba', 'node-capacity')![RESOURCES.alibaba.epc]) * MiB, probe.epcBytes);
  assert.equal(nodeCapacityFor(probe, 'alibaba', 'devices'), null, 'devices mode: kubelet reports EPC from the device plugin');
});

test('auto keeps one device per MiB while the list fits one ListAndWatch message and switches above it', () => {
  const node = (gib: number): { node: number; bytes: number }[] => [{ node: 0, bytes: gib * GiB }];
  assert.equal(resolveEpcMode('alibaba', 'auto', node(4)), 'devices');
  assert.equal(resolveEpcMode('alibaba', 'auto', node(64)), 'devices');
  assert.equal(resolveEpcMode('alibaba', 'auto', node(256)), 'node-capacity');
  assert.equal(resolveEpcMode('alibaba', 'auto', [{ node: 0, bytes: 512 * GiB }, { node: 1, bytes: 512 * GiB }]), 'node-capacity');
  // Explicit choices are kept (devices on a 1 TiB node advertises what fits and reports the rest as dropped).
  assert.equal(resolveEpcMode('alibaba', 'devices', node(1024)), 'devices');
  assert.equal(resolveEpcMode('alibaba', 'node-capacity', node(4)), 'node-capacity');
  assert.equal(resolveEpcMode('intel', 'devices', node(4)), 'node-capacity', 'the intel profile always advertises bytes');

  // The switch point is exactly where the real serialized message crosses kubelet's limit.
  const fits = (mib: number): boolean => resolveEpcMode('alibaba', 'auto', [{ node: 0, bytes: mib * MiB }]) === 'devices';
  let lo = 1;
  let hi = 512 * 1024;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const devices = (mib: number) => epcDeviceLayout([{ node: 0, bytes: mib * MiB }]).map((d) => ({ id: d.id, healthy: true, numaNodes: [d.node] }));
  assert.ok(listAndWatchBytes(devices(lo)) <= KUBELET_MAX_MESSAGE_BYTES);
  assert.ok(listAndWatchBytes(devices(hi)) > KUBELET_MAX_MESSAGE_BYTES);
  assert.ok(lo > 160 * 1024 && lo < 180 * 1024, `switch at ${lo} MiB`);
});

test('accounting and cgroup limits in node-capacity mode come from the enclave slots and the pod limits', () => {
  const pods = [{ name: 'big', namespace: 'prod', containers: [{ name: 'app', devices: [{ resource_name: RESOURCES.alibaba.enclave, device_ids: ['sgx-enclave-3'] }] }] }];
  assert.deepEqual(accountEpc(pods, 'alibaba', 'node-capacity'), [{ namespace: 'prod', pod: 'big', container: 'app', epcBytes: null, deviceIds: ['sgx-enclave-3'], provision: false }]);
  assert.deepEqual(accountEpc(pods, 'alibaba', 'devices'), [], 'devices mode counts EPC devices, not slots');
  const info = (limit: string) => [{ uid: 'u', namespace: 'prod', name: 'big', qosClass: 'Guaranteed', containers: [{ name: 'app', containerId: 'containerd://c1', limits: { [RESOURCES.alibaba.epc]: limit } }] }];
  assert.deepEqual(desiredEpcLimits(info('524288'), [], 'alibaba', 'node-capacity').map((l) => l.bytes), [512 * GiB]);
  assert.deepEqual(desiredEpcLimits(info('1Mi'), [], 'alibaba', 'node-capacity').map((l) => l.bytes), [TiB], '"1Mi" MiB is a valid quantity: 2^20 MiB');
  // A count whose byte value is not a safe integer is never turned into a wrong limit.
  assert.deepEqual(desiredEpcLimits(info('9007199254740991'), [], 'alibaba', 'node-capacity'), []);
  assert.deepEqual(desiredEpcLimits(info('-5'), [], 'alibaba', 'node-capacity'), []);
});

test('embedded agent (alibaba, 1 TiB): EPC as node capacity, enclave slots at kubelet, nothing dropped, capacity restored after a reset', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'xeon-2socket-1tib', driver: 'in-kernel', miscCgroupEpc: true });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const podRes = await startPodResourcesStandin(join(dir, 'pr', 'kubelet.sock'));
  const api = await startFakeApiServer();
  const agent = await startNodeAgent({
    hostRoot: tree.root,
    profile: 'alibaba',
    kubeletDir: kubelet.dir,
    podResourcesSocket: podRes.socketPath,
    aesmSocketDir: null,
    kube: { kubeConfig: kubeConfigFor(api.url), nodeName: 'big' },
    pluginPollMs: 200,
    accountingIntervalMs: 60_000,
    capacityRecheckMs: 100,
  });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
    await podRes.close();
    await api.close();
  });
  await kubelet.waitFor(() => agent.status().resources.every((r) => r.registered) && kubelet.resource(RESOURCES.alibaba.enclave)?.devices.length === 110, 'slots at kubelet');
  const s = agent.status();
  assert.equal(s.epcMode, 'node-capacity');
  assert.deepEqual(s.epcNodeCapacity, { [RESOURCES.alibaba.epc]: '1048576' });
  assert.deepEqual(s.resources.map((r) => [r.resourceName, r.total, r.dropped]), [[RESOURCES.alibaba.enclave, 110, 0], [RESOURCES.alibaba.provision, 110, 0]]);
  assert.equal(kubelet.resource(RESOURCES.alibaba.epc), undefined, 'no per-MiB devices are listed');
  assert.deepEqual(api.nodeStatus.get('big'), { capacity: { [RESOURCES.alibaba.epc]: '1048576' }, allocatable: { [RESOURCES.alibaba.epc]: '1048576' } });

  // The slot is what gives the container its device node.
  const res = await kubelet.allocate(RESOURCES.alibaba.enclave, [['sgx-enclave-0']]);
  assert.deepEqual(res.container_responses[0]!.devices.map((d) => d.container_path).sort(), ['/dev/sgx/enclave', '/dev/sgx_enclave']);

  // A pod holding half the EPC: accounted through its slot, limited through its limit.
  podRes.setPods([{ name: 'half', namespace: 'prod', containers: [{ name: 'app', devices: [{ resource_name: RESOURCES.alibaba.enclave, device_ids: ['sgx-enclave-0'] }] }] }]);
  api.pods = [{ metadata: { uid: 'u-2', namespace: 'prod', name: 'half' }, spec: { containers: [{ name: 'app', resources: { limits: { [RESOURCES.alibaba.epc]: '524288', [RESOURCES.alibaba.enclave]: '1' } } }] }, status: { qosClass: 'Guaranteed', containerStatuses: [{ name: 'app', containerID: 'containerd://half1' }] } }];
  const scope = tree.path('/sys/fs/cgroup/kubepods.slice/kubepods-podu_2.slice/cri-containerd-half1.scope');
  mkdirSync(scope, { recursive: true });
  await agent.refreshAccounting();
  assert.deepEqual(agent.status().allocations.map((a) => [a.pod, a.deviceIds]), [['half', ['sgx-enclave-0']]]);
  assert.deepEqual(agent.status().epcCgroup.enforced, ['prod/half/app']);
  assert.equal(readFileSync(join(scope, 'misc.max'), 'utf8'), `sgx_epc ${512 * GiB}\n`);

  // kubelet zeroes the resource (restart without checkpoint, or a stale device-plugin endpoint expiring): the agent notices and restores it.
  const patches = (): number => api.requests.filter((r) => r.method === 'PATCH' && r.url.startsWith('/api/v1/nodes/big/status')).length;
  const before = patches();
  api.nodeStatus.set('big', { capacity: { [RESOURCES.alibaba.epc]: '0' }, allocatable: { [RESOURCES.alibaba.epc]: '0' } });
  await kubelet.waitFor(() => patches() > before, 'capacity re-published after kubelet reset it', 5000);
  assert.deepEqual(api.nodeStatus.get('big')!['allocatable'], { [RESOURCES.alibaba.epc]: '1048576' });
  // Canonicalised quantities read back from the API server count as equal: no patch storm.
  const settled = patches();
  api.nodeStatus.set('big', { capacity: { [RESOURCES.alibaba.epc]: '1048576' }, allocatable: { [RESOURCES.alibaba.epc]: '1048576' } });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(patches(), settled);
});

test('embedded agent (intel, 1 TiB): every byte patched as sgx.intel.com/epc', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'xeon-2socket-1tib', driver: 'in-kernel' });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const api = await startFakeApiServer();
  const agent = await startNodeAgent({ hostRoot: tree.root, profile: 'intel', kubeletDir: kubelet.dir, podResourcesSocket: null, aesmSocketDir: null, kube: { kubeConfig: kubeConfigFor(api.url), nodeName: 'big-intel' }, pluginPollMs: 200 });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
    await api.close();
  });
  assert.equal(agent.status().epcMode, 'node-capacity');
  assert.deepEqual(api.nodeStatus.get('big-intel'), { capacity: { [RESOURCES.intel.epc]: String(TiB) }, allocatable: { [RESOURCES.intel.epc]: String(TiB) } });
  await kubelet.waitFor(() => kubelet.resource(RESOURCES.intel.enclave)?.devices.length === 110, 'enclave slots');
});

test('--epc-mode devices on a 1 TiB node keeps the old contract: what fits is listed, the rest reported dropped', async (t) => {
  const dir = join(base, `a${n++}`);
  const tree = createHostTree(join(dir, 'host'), { machine: 'xeon-2socket-1tib', driver: 'in-kernel' });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const agent = await startNodeAgent({ hostRoot: tree.root, profile: 'alibaba', epcMode: 'devices', kubeletDir: kubelet.dir, podResourcesSocket: null, aesmSocketDir: null, pluginPollMs: 200 });
  t.after(async () => {
    await agent.close();
    await kubelet.close();
  });
  await kubelet.waitFor(() => (kubelet.resource(RESOURCES.alibaba.epc)?.devices.length ?? 0) > 0, 'EPC devices at kubelet', 30_000);
  const epc = agent.status().resources.find((r) => r.resourceName === RESOURCES.alibaba.epc)!;
  assert.equal(epc.total + epc.dropped, 1024 * 1024);
  assert.ok(epc.dropped > 800_000, `dropped ${epc.dropped}`);
  assert.equal(kubelet.resource(RESOURCES.alibaba.epc)!.devices.length, epc.total);
});
