import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  DevicePluginServer,
  startKubeletStandin,
  startDevicePlugins,
  USE_DEFAULT_ALLOCATE,
  type DeviceInfo,
  type DevicePart,
} from '../../src/deviceplugin/index.js';
import { devicePluginApi } from '../../src/deviceplugin/proto.js';

const base = mkdtempSync(join(tmpdir(), 'kt-dp-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const newDir = (): string => join(base, `d${n++}`);

/** A minimal device part: a settable list of widgets. Not SGX: proves the framework is generic. */
function widgetPart(resourceName = 'example.com/widget', extra: Partial<DevicePart> = {}) {
  let notify: ((d: DeviceInfo[]) => void) | undefined;
  let devices: DeviceInfo[] = [];
  const part: DevicePart = {
    resourceName,
    watch(fn) {
      notify = fn;
      fn(devices);
      return () => {
        notify = undefined;
      };
    },
    ...extra,
  };
  return {
    part,
    set(list: DeviceInfo[]) {
      devices = list;
      notify?.(list);
    },
  };
}

const widget = (id: string, healthy = true, numa?: number): DeviceInfo => ({
  id,
  healthy,
  ...(numa === undefined ? {} : { numaNodes: [numa] }),
  deviceSpecs: [{ host_path: '/dev/widget', container_path: '/dev/widget', permissions: 'rw' }],
  mounts: [{ host_path: '/run/widget', container_path: '/run/widget', read_only: true }],
  envs: { WIDGETS: 'yes' },
});

const FAST = { pollIntervalMs: 200, backoffInitialMs: 50, backoffMaxMs: 400 };

test('serve, register, full ListAndWatch updates, options derived from the part', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  w.set([widget('w0'), widget('w1')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')?.devices.length === 2, 'two widgets');
  const reg = kubelet.registrations[0]!;
  assert.equal(reg.version, 'v1beta1');
  assert.equal(reg.endpoint, 'example.com-widget.sock');
  assert.deepEqual(reg.options, { pre_start_required: false, get_preferred_allocation_available: false });
  assert.deepEqual(kubelet.resource('example.com/widget')!.options, reg.options);
  // Every message is the full list.
  w.set([widget('w0'), widget('w1', false), widget('w2')]);
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')!.devices.length === 3, 'three widgets');
  assert.deepEqual(kubelet.resource('example.com/widget')!.devices.map((d) => [d.ID, d.health]), [['w0', 'Healthy'], ['w1', 'Unhealthy'], ['w2', 'Healthy']]);
  assert.equal(server.status().registered, true);
});

test('default Allocate merges and de-duplicates; unknown and unhealthy IDs are refused with clear gRPC errors', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  w.set([widget('w0'), widget('w1'), widget('bad', false)]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')?.devices.length === 3, 'registration');
  const res = await kubelet.allocate('example.com/widget', [['w0', 'w1'], ['w1']]);
  assert.equal(res.container_responses.length, 2);
  assert.deepEqual(res.container_responses[0]!.devices, [{ host_path: '/dev/widget', container_path: '/dev/widget', permissions: 'rw' }]);
  assert.deepEqual(res.container_responses[0]!.mounts, [{ host_path: '/run/widget', container_path: '/run/widget', read_only: true }]);
  assert.deepEqual(res.container_responses[0]!.envs, { WIDGETS: 'yes' });
  await assert.rejects(kubelet.allocate('example.com/widget', [['w0', 'nope']]), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /unknown device ID "nope"/.test(err.details));
  await assert.rejects(kubelet.allocate('example.com/widget', [['bad']]), (err: grpc.ServiceError) => err.code === grpc.status.FAILED_PRECONDITION && /Unhealthy/.test(err.details));
  await assert.rejects(kubelet.allocate('example.com/widget', [[]]), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT);
});

test('optional capabilities: preferred allocation and PreStartContainer are advertised only when implemented', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const started: string[][] = [];
  const w = widgetPart('example.com/gadget', {
    preferredAllocation: (req) => req.available.slice(-req.size),
    preStart: async (ids) => {
      started.push(ids);
    },
    allocate: (ids) => (ids.includes('g0') ? USE_DEFAULT_ALLOCATE : { envs: { IDS: ids.join(',') }, mounts: [], devices: [], annotations: {}, cdi_devices: [] }),
  });
  w.set([widget('g0'), widget('g1'), widget('g2')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => kubelet.resource('example.com/gadget')?.devices.length === 3, 'registration');
  assert.deepEqual(kubelet.registrations[0]!.options, { pre_start_required: true, get_preferred_allocation_available: true });
  const pref = await kubelet.preferredAllocation('example.com/gadget', [{ available_deviceIDs: ['g0', 'g1', 'g2'], must_include_deviceIDs: [], allocation_size: 2 }]);
  assert.deepEqual(pref.container_responses[0]!.deviceIDs, ['g1', 'g2']);
  await kubelet.preStart('example.com/gadget', ['g1']);
  assert.deepEqual(started, [['g1']]);
  const custom = await kubelet.allocate('example.com/gadget', [['g1', 'g2'], ['g0']]);
  assert.deepEqual(custom.container_responses[0]!.envs, { IDS: 'g1,g2' });
  assert.deepEqual(custom.container_responses[1]!.envs, { WIDGETS: 'yes' });
});

test('kubelet restart (directory wiped, kubelet.sock recreated): re-registered within a second', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  w.set([widget('w0')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => kubelet.registrations.length === 1 && kubelet.resource('example.com/widget')!.devices.length === 1, 'first registration');
  for (let round = 2; round <= 3; round++) {
    const t0 = Date.now();
    await kubelet.restart();
    assert.deepEqual(readdirSync(dir).sort(), ['kubelet.sock']); // our socket was wiped too
    await kubelet.waitFor(() => kubelet.registrations.length === round && kubelet.resource('example.com/widget')!.devices.length === 1, `re-registration ${round}`);
    assert.ok(Date.now() - t0 < 1000, `re-registered in ${Date.now() - t0} ms`);
  }
  assert.ok(readdirSync(dir).includes('example.com-widget.sock'));
  // Allocate works against the re-served socket.
  const res = await kubelet.allocate('example.com/widget', [['w0']]);
  assert.equal(res.container_responses.length, 1);
  assert.equal(server.status().registrations, 3);
});

test('kubelet absent: serve anyway, back off, register as soon as kubelet.sock appears', async (t) => {
  const dir = newDir();
  const w = widgetPart();
  w.set([widget('w0')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  assert.equal(server.status().serving, true);
  assert.equal(server.status().registered, false);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  await kubelet.waitFor(() => kubelet.registrations.length === 1, 'late registration');
  assert.ok(Date.now() - t0 < 1000);
  // kubelet goes away and comes back: registration follows it.
  await kubelet.stop();
  await kubelet.waitFor(() => !server.status().registered, 'unregistered after kubelet stop');
  await kubelet.restart();
  await kubelet.waitFor(() => kubelet.registrations.length === 2, 'registration after kubelet returns');
});

test('never two servers on one socket; plugin restart re-registers and replaces the stream', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w1 = widgetPart();
  w1.set([widget('a')]);
  const first = new DevicePluginServer(w1.part, { pluginDir: dir, ...FAST });
  await first.start();
  await kubelet.waitFor(() => kubelet.registrations.length === 1, 'first');
  const w2 = widgetPart();
  w2.set([widget('b')]);
  const second = new DevicePluginServer(w2.part, { pluginDir: dir, ...FAST });
  await assert.rejects(second.start(), { code: 'DP_SOCKET_IN_USE' });
  await second.close();
  // Plugin restart: the old process goes away, a new one starts on the same socket.
  await first.close();
  const again = new DevicePluginServer(w2.part, { pluginDir: dir, ...FAST });
  t.after(() => again.close());
  await again.start();
  await kubelet.waitFor(() => kubelet.registrations.length === 2 && kubelet.resource('example.com/widget')!.devices[0]?.ID === 'b', 'restarted plugin');
});

test('invalid resource names and device IDs are rejected up front', async (t) => {
  assert.throws(() => new DevicePluginServer(widgetPart('kubernetes.io/widget').part, { pluginDir: newDir() }), { code: 'DP_RESOURCE_NAME_INVALID' });
  assert.throws(() => new DevicePluginServer(widgetPart('widget').part, { pluginDir: newDir() }), { code: 'DP_RESOURCE_NAME_INVALID' });
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  w.set([widget('ok'), widget('x'.repeat(64)), widget('ok')]);
  const plugins = await startDevicePlugins([w.part], { pluginDir: dir, ...FAST });
  t.after(() => plugins.close());
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')?.updates === 1, 'first list');
  assert.deepEqual(kubelet.resource('example.com/widget')!.devices.map((d) => d.ID), ['ok']);
});

test('a successor that took over the socket wins: the old server steps aside instead of fighting', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w1 = widgetPart();
  w1.set([widget('old')]);
  const old = new DevicePluginServer(w1.part, { pluginDir: dir, ...FAST });
  t.after(() => old.close());
  await old.start();
  await kubelet.waitFor(() => kubelet.registrations.length === 1, 'old registered');
  // Rolling update: the new agent removes the (to it, stale-looking) socket and serves before the old one notices.
  rmSync(join(dir, 'example.com-widget.sock'));
  const w2 = widgetPart();
  w2.set([widget('new')]);
  const successor = new DevicePluginServer(w2.part, { pluginDir: dir, ...FAST });
  t.after(() => successor.close());
  await successor.start();
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')?.devices[0]?.ID === 'new', 'successor registered');
  await kubelet.waitFor(() => old.status().serving === false && /another server/.test(old.status().lastError ?? ''), 'old server stepped aside').catch((e) => { console.log(JSON.stringify({ ...old.status(), devices: undefined })); throw e; });
  const regs = kubelet.registrations.length;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(kubelet.registrations.length, regs, 'no registration fight');
  assert.equal(kubelet.resource('example.com/widget')!.devices[0]!.ID, 'new');
});

test('our socket deleted while kubelet stays: serve again and re-register within a second', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  w.set([widget('w0')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => kubelet.registrations.length === 1, 'first registration');
  const t0 = Date.now();
  rmSync(join(dir, 'example.com-widget.sock'));
  await kubelet.waitFor(() => kubelet.registrations.length === 2 && kubelet.resource('example.com/widget')!.connected, 're-registration');
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual((await kubelet.allocate('example.com/widget', [['w0']])).container_responses.length, 1);
});

test('a kubelet that refuses Register is retried with exponential backoff, not in a spin', async (t) => {
  const dir = newDir();
  mkdirSync(dir, { recursive: true });
  // A Registration server that always fails (e.g. a kubelet rejecting the version).
  const { registration } = devicePluginApi();
  const refusing = new grpc.Server();
  let attempts = 0;
  refusing.addService(registration.service, {
    Register: (_call: unknown, cb: grpc.sendUnaryData<object>) => {
      attempts++;
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'not today' } as grpc.ServiceError);
    },
  });
  await new Promise<void>((res, rej) => refusing.bindAsync(`unix:${join(dir, 'kubelet.sock')}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  t.after(() => refusing.forceShutdown());
  const w = widgetPart();
  w.set([widget('w0')]);
  const server = new DevicePluginServer(w.part, { pluginDir: dir, pollIntervalMs: 100, backoffInitialMs: 50, backoffMaxMs: 400 });
  t.after(() => server.close());
  await server.start();
  await new Promise((r) => setTimeout(r, 1500));
  // 50 + 100 + 200 + 400 + 400 + 400 ms: about 6-7 attempts in 1.5 s, never one per poll tick (15).
  assert.ok(attempts >= 3 && attempts <= 9, `attempts: ${attempts}`);
  assert.match(server.status().lastError ?? '', /not today/);
  assert.equal(server.status().registered, false);
});

test('a device list larger than kubelet\'s gRPC message limit is cut to what fits, never sent whole', async (t) => {
  const dir = newDir();
  const kubelet = await startKubeletStandin({ dir });
  t.after(() => kubelet.close());
  const w = widgetPart();
  const many = Array.from({ length: 3000 }, (_, i) => ({ id: `device-${String(i).padStart(6, '0')}`, healthy: true, numaNodes: [1] }));
  w.set(many);
  // A 32 KiB limit stands in for kubelet's 4 MiB so the test stays small.
  const server = new DevicePluginServer(w.part, { pluginDir: dir, ...FAST, maxMessageBytes: 32 * 1024 });
  t.after(() => server.close());
  await server.start();
  await kubelet.waitFor(() => (kubelet.resource('example.com/widget')?.updates ?? 0) > 0, 'first list');
  const got = kubelet.resource('example.com/widget')!.devices.length;
  const s = server.status();
  assert.ok(got > 0 && got < 3000, `advertised ${got}`);
  assert.equal(s.devices.length, got);
  assert.equal(s.droppedDevices, 3000 - got);
  // Each device is ~30 bytes on the wire: the cut is at the limit, not far below it.
  assert.ok(got > (32 * 1024) / 40, `advertised ${got}`);
  // A device that was not advertised is unknown to Allocate too.
  await assert.rejects(kubelet.allocate('example.com/widget', [['device-002999']]), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
  // Shrinking back under the limit advertises everything again.
  w.set(many.slice(0, 100));
  await kubelet.waitFor(() => kubelet.resource('example.com/widget')!.devices.length === 100, 'smaller list');
  assert.equal(server.status().droppedDevices, 0);
});
