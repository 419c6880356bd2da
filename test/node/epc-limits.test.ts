import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerCgroupCandidates, desiredEpcLimits, parseByteQuantity, type PodInfo } from '../../src/node/epc-limits.js';
import { applyEpcLimits } from '../../src/node/epc-enforcer.js';
import { parseMiscEpc } from '../../src/node/misc-cgroup.js';

const base = mkdtempSync(join(tmpdir(), 'kt-epc-'));
after(() => rmSync(base, { recursive: true, force: true }));
const MiB = 1024 * 1024;

const pods: PodInfo[] = [
  { uid: '1111-aaaa', namespace: 'prod', name: 'enclave', qosClass: 'Burstable', containers: [{ name: 'app', containerId: 'containerd://c1', limits: { 'sgx.intel.com/epc': '64Mi' } }, { name: 'side', containerId: 'containerd://c2', limits: {} }] },
  { uid: '2222-bbbb', namespace: 'prod', name: 'guaranteed', qosClass: 'Guaranteed', containers: [{ name: 'app', containerId: 'cri-o://c3', limits: { 'sgx.intel.com/epc': '1G' } }] },
  { uid: '3333-cccc', namespace: 'prod', name: 'pending', qosClass: 'BestEffort', containers: [{ name: 'app', containerId: null, limits: { 'sgx.intel.com/epc': '8Mi' } }] },
];

test('quantities: integral byte counts only', () => {
  assert.equal(parseByteQuantity('64Mi'), 64 * MiB);
  assert.equal(parseByteQuantity('1G'), 1e9);
  assert.equal(parseByteQuantity('4096'), 4096);
  assert.equal(parseByteQuantity('1.5Gi'), 1.5 * 2 ** 30, 'whole bytes, as the API server counts them');
  assert.equal(parseByteQuantity('1K'), null, 'not a Kubernetes quantity (lower-case k)');
  assert.equal(parseByteQuantity('lots'), null);
  assert.equal(parseMiscEpc('sev 1\nsgx_epc 42\n'), 42);
  assert.equal(parseMiscEpc('sgx_epc max\n'), Number.MAX_SAFE_INTEGER);
  assert.equal(parseMiscEpc('sev 1\n'), null);
});

test('desired limits: intel from container limits, alibaba from allocations; not-started containers skipped', () => {
  assert.deepEqual(desiredEpcLimits(pods, [], 'intel').map((l) => [l.ref, l.containerId, l.bytes]), [
    ['prod/enclave/app', 'c1', 64 * MiB],
    ['prod/guaranteed/app', 'c3', 1e9],
  ]);
  const alloc = [{ namespace: 'prod', pod: 'enclave', container: 'side', epcBytes: 3 * MiB, deviceIds: ['0', '1', '2'], provision: false }];
  assert.deepEqual(desiredEpcLimits(pods, alloc, 'alibaba').map((l) => [l.ref, l.bytes]), [['prod/enclave/side', 3 * MiB]]);
});

test('cgroup paths for the systemd and cgroupfs drivers', () => {
  const c = containerCgroupCandidates({ podUid: '1111-aaaa', qosClass: 'Burstable', containerId: 'c1' });
  assert.ok(c.includes('kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1111_aaaa.slice/cri-containerd-c1.scope'));
  assert.ok(c.includes('kubepods/burstable/pod1111-aaaa/c1'));
  assert.ok(containerCgroupCandidates({ podUid: 'u', qosClass: 'Guaranteed', containerId: 'x' }).includes('kubepods.slice/kubepods-podu.slice/crio-x.scope'));
});

test('applyEpcLimits writes misc.max where the cgroup exists, reports the rest', () => {
  const root = join(base, 'cg');
  const systemd = join(root, 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1111_aaaa.slice/cri-containerd-c1.scope');
  const cgroupfs = join(root, 'kubepods/pod2222-bbbb/c3');
  mkdirSync(systemd, { recursive: true });
  mkdirSync(cgroupfs, { recursive: true });
  writeFileSync(join(cgroupfs, 'misc.max'), 'sgx_epc max\n');
  const r = applyEpcLimits(root, pods, [], 'intel');
  assert.deepEqual(r, { enforced: ['prod/enclave/app', 'prod/guaranteed/app'], missing: [], errors: [] });
  assert.equal(readFileSync(join(systemd, 'misc.max'), 'utf8'), `sgx_epc ${64 * MiB}\n`);
  assert.equal(readFileSync(join(cgroupfs, 'misc.max'), 'utf8'), 'sgx_epc 1000000000\n');
  rmSync(cgroupfs, { recursive: true });
  assert.deepEqual(applyEpcLimits(root, pods, [], 'intel').missing, ['prod/guaranteed/app']);
});
