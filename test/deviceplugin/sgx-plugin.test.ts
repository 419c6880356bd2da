import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startDevicePlugins, startKubeletStandin, type KubeletStandin } from '../../src/deviceplugin/index.js';
import { sgxDeviceParts, type SgxPluginConfig } from '../../src/deviceplugin/sgx/index.js';
import { createHostTree, type HostTreeSpec } from '../../src/node/testing/host-tree.js';
import { startAesmStandin } from '../../src/node/testing/aesm-standin.js';
import { watchSgxState } from '../../src/node/sgx-state-watch.js';
import { probeNode } from '../../src/node/probe.js';
import { aesmSocketPath } from '../../src/node/aesm.js';
import { RESOURCES } from '../../src/common/labels.js';

const base = mkdtempSync(join(tmpdir(), 'kt-sgxdp-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

const FAST = { pollIntervalMs: 200, backoffInitialMs: 50, backoffMaxMs: 400 };

/** Host tree + AESM stand-in + state watcher + SGX parts + kubelet stand-in, all real. */
async function setup(t: { after(fn: () => unknown): void }, spec: HostTreeSpec, profile: SgxPluginConfig['profile'], opts: { aesm?: boolean; kubeletHostRoot?: (treeRoot: string) => string; registerWaitMs?: number } = {}) {
  const dir = join(base, `n${n++}`);
  const tree = createHostTree(join(dir, 'host'), spec);
  const aesm = opts.aesm ? await startAesmStandin(tree.aesmSocketDir) : undefined;
  const probe = await probeNode({ hostRoot: tree.root, aesmSocketDir: tree.aesmSocketDir });
  const state = await watchSgxState({ hostRoot: tree.root, aesmSocketPath: opts.aesm ? aesmSocketPath(tree.aesmSocketDir) : null, pollIntervalMs: 200 });
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const parts = sgxDeviceParts(
    { profile, numaEpc: probe.numaEpc, aesmHostDir: opts.aesm ? '/var/run/aesmd' : null, enclaveSlots: 4, provisionSlots: 3, ...(opts.kubeletHostRoot ? { kubeletHostRoot: opts.kubeletHostRoot(tree.root) } : {}) },
    state,
  );
  const plugins = await startDevicePlugins(parts, { pluginDir: kubelet.dir, ...FAST });
  t.after(async () => {
    await plugins.close();
    state.close();
    await kubelet.close();
    await aesm?.close();
  });
  for (const p of parts) await kubelet.waitFor(() => (kubelet.resource(p.resourceName)?.updates ?? 0) > 0, `${p.resourceName} registered`, opts.registerWaitMs);
  return { tree, kubelet, state, plugins, aesm };
}

const healthOf = (k: KubeletStandin, r: string): string[] => [...new Set(k.resource(r)!.devices.map((d) => d.health))];

test('alibaba profile, two NUMA nodes: one device per MiB with topology, no provision in EPC allocations', async (t) => {
  const { kubelet } = await setup(t, { machine: 'icelake-sp-2socket', driver: 'in-kernel' }, 'alibaba', { aesm: true });
  const epc = kubelet.resource(RESOURCES.alibaba.epc)!;
  assert.equal(epc.devices.length, 4064);
  assert.equal(epc.devices.filter((d) => d.topology?.nodes[0]?.ID === 0).length, 2028);
  assert.equal(epc.devices.filter((d) => d.topology?.nodes[0]?.ID === 1).length, 2036);
  assert.deepEqual(epc.devices.slice(0, 3).map((d) => d.ID), ['0', '1', '2']);
  assert.deepEqual(epc.options, { pre_start_required: false, get_preferred_allocation_available: true });
  const res = await kubelet.allocate(RESOURCES.alibaba.epc, [['0', '1', '2']]);
  const c = res.container_responses[0]!;
  assert.deepEqual(c.devices, [
    { host_path: '/dev/sgx_enclave', container_path: '/dev/sgx_enclave', permissions: 'rw' },
    { host_path: '/dev/sgx_enclave', container_path: '/dev/sgx/enclave', permissions: 'rw' },
  ]);
  assert.ok(!c.devices.some((d) => d.host_path.includes('provision')), 'provision must not come with EPC');
  assert.deepEqual(c.mounts, [{ host_path: '/var/run/aesmd', container_path: '/var/run/aesmd', read_only: true }]);
  assert.deepEqual(c.envs, { SGX_AESM_ADDR: '1', SGX_VISIBLE_DEVICES: '0,1,2' });
  // Provisioning only through its own resource.
  const prov = await kubelet.allocate(RESOURCES.alibaba.provision, [['sgx-provision-0']]);
  assert.deepEqual(prov.container_responses[0]!.devices, [
    { host_path: '/dev/sgx_provision', container_path: '/dev/sgx_provision', permissions: 'rw' },
    { host_path: '/dev/sgx_provision', container_path: '/dev/sgx/provision', permissions: 'rw' },
  ]);
  assert.deepEqual(prov.container_responses[0]!.envs, {});
  await assert.rejects(kubelet.allocate(RESOURCES.alibaba.epc, [['4064']]), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
});

test('a simulated host tree on the kubelet\'s own machine: host paths handed out are inside the tree (kubeletHostRoot)', async (t) => {
  const { kubelet, tree } = await setup(t, { machine: 'icelake-client', driver: 'in-kernel' }, 'alibaba', { aesm: true, kubeletHostRoot: (root) => root });
  const c = (await kubelet.allocate(RESOURCES.alibaba.epc, [['0']])).container_responses[0]!;
  // The kubelet opens the host side; the container keeps the standard names.
  assert.deepEqual(c.devices, [
    { host_path: tree.path('/dev/sgx_enclave'), container_path: '/dev/sgx_enclave', permissions: 'rw' },
    { host_path: tree.path('/dev/sgx_enclave'), container_path: '/dev/sgx/enclave', permissions: 'rw' },
  ]);
  assert.deepEqual(c.mounts, [{ host_path: tree.path('/var/run/aesmd'), container_path: '/var/run/aesmd', read_only: true }]);
  const prov = (await kubelet.allocate(RESOURCES.alibaba.provision, [['sgx-provision-0']])).container_responses[0]!;
  assert.deepEqual(prov.devices.map((d) => d.host_path), [tree.path('/dev/sgx_provision'), tree.path('/dev/sgx_provision')]);
});

test('preferred allocation keeps a container on one NUMA node when it fits', async (t) => {
  const { kubelet } = await setup(t, { machine: 'icelake-sp-2socket', driver: 'in-kernel' }, 'alibaba');
  const all = kubelet.resource(RESOURCES.alibaba.epc)!.devices.map((d) => d.ID);
  const nodeOf = new Map(kubelet.resource(RESOURCES.alibaba.epc)!.devices.map((d) => [d.ID, d.topology!.nodes[0]!.ID]));
  const ask = async (size: number, available = all, must: string[] = []) => {
    const r = await kubelet.preferredAllocation(RESOURCES.alibaba.epc, [{ available_deviceIDs: available, must_include_deviceIDs: must, allocation_size: size }]);
    const ids = r.container_responses[0]!.deviceIDs;
    return { ids, nodes: new Set(ids.map((id) => nodeOf.get(id))) };
  };
  const small = await ask(64);
  assert.equal(small.ids.length, 64);
  assert.deepEqual([...small.nodes], [0]); // best fit: the smaller node that fits
  const big = await ask(2030);
  assert.deepEqual([...big.nodes], [1]); // only node 1 (2036 MiB) fits
  const withMust = await ask(10, all, ['3000']);
  assert.ok(withMust.ids.includes('3000'));
  assert.deepEqual([...withMust.nodes], [1]);
  const spill = await ask(3000);
  assert.equal(spill.ids.length, 3000);
  assert.equal(new Set(spill.ids).size, 3000);
  assert.equal(spill.ids.filter((id) => nodeOf.get(id) === 1).length, 2036); // largest node filled first
  // Node 0 nearly used up: a 100-MiB request goes to node 1.
  const rest = all.filter((id) => nodeOf.get(id) === 1 || Number(id) < 50);
  assert.deepEqual([...(await ask(100, rest)).nodes], [1]);
});

test('intel profile on a DCAP-alias node: enclave and provision slots, host side is the alias', async (t) => {
  const { kubelet } = await setup(t, { machine: 'azure-dc2ds-v3', driver: 'dcap-alias' }, 'intel', { aesm: true });
  assert.equal(kubelet.resource(RESOURCES.intel.enclave)!.devices.length, 4);
  assert.equal(kubelet.resource(RESOURCES.intel.provision)!.devices.length, 3);
  assert.equal(kubelet.resource(RESOURCES.intel.enclave)!.options.get_preferred_allocation_available, false);
  const e = (await kubelet.allocate(RESOURCES.intel.enclave, [['sgx-enclave-0'], ['sgx-enclave-1']])).container_responses;
  assert.equal(e.length, 2);
  assert.deepEqual(e[0]!.devices, [
    { host_path: '/dev/sgx/enclave', container_path: '/dev/sgx_enclave', permissions: 'rw' },
    { host_path: '/dev/sgx/enclave', container_path: '/dev/sgx/enclave', permissions: 'rw' },
  ]);
  assert.deepEqual(e[0]!.envs, { SGX_AESM_ADDR: '1' });
  assert.equal(e[0]!.mounts.length, 1);
  const p = (await kubelet.allocate(RESOURCES.intel.provision, [['sgx-provision-2']])).container_responses[0]!;
  assert.deepEqual(p.devices.map((d) => [d.host_path, d.container_path]), [['/dev/sgx/provision', '/dev/sgx_provision'], ['/dev/sgx/provision', '/dev/sgx/provision']]);
});

test('legacy isgx node: enclave is /dev/isgx, provision slots are Unhealthy and refused', async (t) => {
  const { kubelet } = await setup(t, { machine: 'kabylake-no-flc', driver: 'legacy' }, 'intel');
  const e = (await kubelet.allocate(RESOURCES.intel.enclave, [['sgx-enclave-0']])).container_responses[0]!;
  assert.deepEqual(e.devices, [{ host_path: '/dev/isgx', container_path: '/dev/isgx', permissions: 'rw' }]);
  assert.deepEqual(e.envs, {}); // no AESM configured: no SGX_AESM_ADDR, no mount
  assert.deepEqual(e.mounts, []);
  assert.deepEqual(healthOf(kubelet, RESOURCES.intel.provision), ['Unhealthy']);
  await assert.rejects(kubelet.allocate(RESOURCES.intel.provision, [['sgx-provision-0']]), (err: grpc.ServiceError) => err.code === grpc.status.FAILED_PRECONDITION);
});

test('health flips: device node loss and AESM death turn devices Unhealthy, and they recover', async (t) => {
  const ctx = await setup(t, { machine: 'icelake-client', driver: 'in-kernel-with-aliases' }, 'alibaba', { aesm: true });
  const { kubelet, tree } = ctx;
  const epc = RESOURCES.alibaba.epc;
  assert.equal(kubelet.resource(epc)!.devices.length, 188);
  assert.deepEqual(healthOf(kubelet, epc), ['Healthy']);
  // The enclave node disappears; the alias alone still serves.
  tree.removeDevice('/dev/sgx_enclave');
  await kubelet.waitFor(() => kubelet.resource(epc)!.updates >= 2, 'update after enclave node removal');
  assert.deepEqual(healthOf(kubelet, epc), ['Healthy']);
  const aliasOnly = (await kubelet.allocate(epc, [['0']])).container_responses[0]!.devices;
  assert.deepEqual(aliasOnly.map((d) => d.host_path), ['/dev/sgx/enclave', '/dev/sgx/enclave']);
  tree.removeDevice('/dev/sgx/enclave');
  await kubelet.waitFor(() => healthOf(kubelet, epc).join() === 'Unhealthy', 'EPC unhealthy without any enclave node');
  await assert.rejects(kubelet.allocate(epc, [['0']]), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /Unhealthy/.test(e.details));
  tree.addDevice('/dev/sgx_enclave');
  await kubelet.waitFor(() => healthOf(kubelet, epc).join() === 'Healthy', 'EPC healthy again');
  // AESM dies: EPC devices (which hand out the AESM socket) go Unhealthy; provision does not depend on AESM.
  await ctx.aesm!.close();
  await kubelet.waitFor(() => healthOf(kubelet, epc).join() === 'Unhealthy', 'unhealthy after AESM death');
  assert.deepEqual(healthOf(kubelet, RESOURCES.alibaba.provision), ['Healthy']);
  const revived = await startAesmStandin(tree.aesmSocketDir);
  t.after(() => revived.close());
  await kubelet.waitFor(() => healthOf(kubelet, epc).join() === 'Healthy', 'healthy after AESM returns');
  // Provision node loss flips only the provision resource.
  tree.removeDevice('/dev/sgx_provision');
  tree.removeDevice('/dev/sgx/provision');
  await kubelet.waitFor(() => healthOf(kubelet, RESOURCES.alibaba.provision).join() === 'Unhealthy', 'provision unhealthy');
  assert.deepEqual(healthOf(kubelet, epc), ['Healthy']);
});

test('kubelet restart with the SGX plugins: both resources re-register within a second', async (t) => {
  const { kubelet } = await setup(t, { machine: 'coffeelake-server', driver: 'in-kernel' }, 'intel');
  const before = kubelet.registrations.length;
  const t0 = Date.now();
  await kubelet.restart();
  await kubelet.waitFor(
    () => kubelet.registrations.length === before + 2 && (kubelet.resource(RESOURCES.intel.enclave)?.devices.length ?? 0) === 4,
    'both resources re-registered',
    1000,
  );
  assert.ok(Date.now() - t0 < 1000);
  const e = await kubelet.allocate(RESOURCES.intel.enclave, [['sgx-enclave-3']]);
  assert.equal(e.container_responses[0]!.devices[0]!.host_path, '/dev/sgx_enclave');
});

test('plugin restart: a new agent process on the same directories re-registers both resources', async (t) => {
  const ctx = await setup(t, { machine: 'icelake-client', driver: 'in-kernel' }, 'intel');
  const before = ctx.kubelet.registrations.length;
  await ctx.plugins.close();
  await ctx.kubelet.waitFor(() => !ctx.kubelet.resource(RESOURCES.intel.enclave)!.connected, 'stream closed by the stopping plugin');
  const state = await watchSgxState({ hostRoot: ctx.tree.root, aesmSocketPath: null, pollIntervalMs: 200 });
  t.after(() => state.close());
  const probe = await probeNode({ hostRoot: ctx.tree.root, aesmSocketDir: null });
  const again = await startDevicePlugins(sgxDeviceParts({ profile: 'intel', numaEpc: probe.numaEpc, aesmHostDir: null, enclaveSlots: 4, provisionSlots: 3 }, state), { pluginDir: ctx.kubelet.dir, ...FAST });
  t.after(() => again.close());
  await ctx.kubelet.waitFor(() => ctx.kubelet.registrations.length === before + 2 && ctx.kubelet.resource(RESOURCES.intel.enclave)!.connected, 'registered again');
  assert.equal((await ctx.kubelet.allocate(RESOURCES.intel.enclave, [['sgx-enclave-1']])).container_responses[0]!.devices[0]!.host_path, '/dev/sgx_enclave');
});

test('alibaba profile on a 256 GiB EPC node: the MiB list is cut to fit kubelet\'s 4 MiB message, and the real gRPC client accepts it', async (t) => {
  const big = { sgxSupported: true, flc: true, sgx1: true, sgx2: true, sections: [{ base: 0x1_0000_0000, sizeBytes: 256 * 1024 * 1024 * 1024 }] };
  // Building and measuring 262,144 devices takes seconds on a loaded machine.
  const { kubelet, plugins } = await setup(t, { machine: big, driver: 'in-kernel' }, 'alibaba', { registerWaitMs: 60_000 });
  const epc = plugins.status().find((s) => s.resourceName === RESOURCES.alibaba.epc)!;
  const got = kubelet.resource(RESOURCES.alibaba.epc)!.devices.length;
  // grpc-js, like kubelet's Go client, refuses messages over 4 MiB: receiving at all proves the cut.
  assert.ok(got > 100_000 && got < 262_144, `advertised ${got}`);
  assert.equal(epc.droppedDevices, 262_144 - got);
});
