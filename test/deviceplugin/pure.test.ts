import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preferByNuma, defaultSocketName, isExtendedResourceName, defaultAllocate, type DeviceInfo } from '../../src/deviceplugin/index.js';
import { enclaveDeviceSpecs, provisionDeviceSpecs, epcDeviceLayout } from '../../src/deviceplugin/sgx/index.js';

const MiB = 1024 * 1024;

function devs(spec: Record<number, number>): Map<string, DeviceInfo> {
  const m = new Map<string, DeviceInfo>();
  for (const [node, count] of Object.entries(spec)) for (let i = 0; i < count; i++) m.set(`n${node}-${i}`, { id: `n${node}-${i}`, healthy: true, numaNodes: [Number(node)] });
  return m;
}

test('preferByNuma: best single-node fit, must-include pins the node, spill fills big nodes first', () => {
  const d = devs({ 0: 4, 1: 6 });
  const all = [...d.keys()];
  assert.deepEqual(preferByNuma({ available: all, mustInclude: [], size: 3 }, d), ['n0-0', 'n0-1', 'n0-2']);
  assert.deepEqual(preferByNuma({ available: all, mustInclude: [], size: 5 }, d), ['n1-0', 'n1-1', 'n1-2', 'n1-3', 'n1-4']);
  assert.deepEqual(preferByNuma({ available: all, mustInclude: ['n1-5'], size: 2 }, d), ['n1-5', 'n1-0']);
  const spill = preferByNuma({ available: all, mustInclude: [], size: 8 }, d);
  assert.equal(spill.length, 8);
  assert.deepEqual(spill.slice(0, 6), ['n1-0', 'n1-1', 'n1-2', 'n1-3', 'n1-4', 'n1-5']);
  // must-include on two nodes: cannot be single-node; keep must, then fill.
  const split = preferByNuma({ available: all, mustInclude: ['n0-0', 'n1-0'], size: 3 }, d);
  assert.deepEqual(split.slice(0, 2), ['n0-0', 'n1-0']);
  assert.equal(split.length, 3);
  assert.deepEqual(preferByNuma({ available: all, mustInclude: ['n0-1'], size: 1 }, d), ['n0-1']);
  assert.deepEqual(preferByNuma({ available: ['x', 'y'], mustInclude: [], size: 1 }, new Map()), ['x']);
});

test('EPC layout: per-node floor, consecutive IDs', () => {
  const l = epcDeviceLayout([{ node: 1, bytes: 2 * MiB }, { node: 0, bytes: 1.5 * MiB }]);
  assert.deepEqual(l, [{ id: '0', node: 0 }, { id: '1', node: 1 }, { id: '2', node: 1 }]);
  assert.equal(epcDeviceLayout([{ node: 0, bytes: 98_041_856 }]).length, 93); // ACK-TEE shows 93 for 93.5 MiB
});

test('device specs: both container spellings, host side whichever exists', () => {
  assert.deepEqual(enclaveDeviceSpecs(new Set()), []);
  assert.deepEqual(enclaveDeviceSpecs(new Set(['/dev/sgx_enclave', '/dev/sgx/enclave'])).map((s) => `${s.host_path}>${s.container_path}`), ['/dev/sgx_enclave>/dev/sgx_enclave', '/dev/sgx/enclave>/dev/sgx/enclave']);
  assert.deepEqual(provisionDeviceSpecs(new Set(['/dev/sgx_enclave'])), []);
  assert.deepEqual(enclaveDeviceSpecs(new Set(['/dev/sgx'])).map((s) => s.host_path), ['/dev/sgx']);
});

test('resource names and socket names', () => {
  assert.equal(isExtendedResourceName('alibabacloud.com/sgx_epc_MiB'), true);
  assert.equal(isExtendedResourceName('sgx.intel.com/enclave'), true);
  assert.equal(isExtendedResourceName('kubernetes.io/foo'), false);
  assert.equal(isExtendedResourceName('foo.k8s.io/foo'), false);
  assert.equal(isExtendedResourceName('nodomain'), false);
  assert.equal(isExtendedResourceName('Upper.com/x'), false);
  assert.equal(defaultSocketName('sgx.intel.com/enclave'), 'sgx.intel.com-enclave.sock');
});

test('defaultAllocate de-duplicates by container path and skips unknown IDs', () => {
  const d = new Map<string, DeviceInfo>([
    ['a', { id: 'a', healthy: true, deviceSpecs: [{ host_path: '/dev/x', container_path: '/dev/x', permissions: 'rw' }], annotations: { k: 'v' } }],
    ['b', { id: 'b', healthy: true, deviceSpecs: [{ host_path: '/dev/x', container_path: '/dev/x', permissions: 'rw' }] }],
  ]);
  const r = defaultAllocate(['a', 'b', 'zz'], d);
  assert.equal(r.devices.length, 1);
  assert.deepEqual(r.annotations, { k: 'v' });
});
