import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeNode, probeToJson, formatProbe } from '../../src/node/probe.js';
import { createHostTree, type HostTreeSpec } from '../../src/node/testing/host-tree.js';
import { startAesmStandin } from '../../src/node/testing/aesm-standin.js';
import { runCli } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const base = mkdtempSync(join(tmpdir(), 'kt-probe-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function tree(spec: HostTreeSpec) {
  return createHostTree(join(base, `t${n++}`), spec);
}

const MiB = 1024 * 1024;

test('in-kernel node: CPUID device, sysfs, cpuinfo and devices agree', async () => {
  const t = tree({ machine: 'icelake-client', driver: 'in-kernel' });
  const p = await probeNode({ hostRoot: t.root, aesmSocketDir: t.aesmSocketDir });
  assert.deepEqual(probeToJson(p), {
    sgx: true, flc: true, sgx1: true, sgx2: true,
    epcBytes: 188 * MiB,
    epcSections: [{ base: '0x30180000', size: 188 * MiB, numaNode: 0 }],
    driver: 'in-kernel',
    devices: ['/dev/sgx_enclave', '/dev/sgx_provision'],
    aesm: false,
  });
  assert.equal(p.usable, true);
  assert.deepEqual(p.sources, { cpuid: 'device', epc: 'sysfs', cpuinfo: true });
  assert.equal(p.miscCgroupEpc.available, false);
});

test('two-socket node: each section lands on its NUMA node, >4 GiB addresses exact', async () => {
  const t = tree({ machine: 'icelake-sp-2socket', driver: 'in-kernel-with-aliases', miscCgroupEpc: true });
  const p = await probeNode({ hostRoot: t.root, aesmSocketDir: null });
  const j = probeToJson(p);
  assert.deepEqual(j.epcSections, [
    { base: '0x4000c00000', size: 2_126_512_128, numaNode: 0 },
    { base: '0x8000c00000', size: 2_134_900_736, numaNode: 1 },
  ]);
  assert.equal(j.epcBytes, 4064 * MiB);
  assert.deepEqual(j.devices, ['/dev/sgx_enclave', '/dev/sgx_provision', '/dev/sgx/enclave', '/dev/sgx/provision']);
  assert.deepEqual(p.numaEpc, [{ node: 0, bytes: 2_126_512_128 }, { node: 1, bytes: 2_134_900_736 }]);
  assert.deepEqual(p.miscCgroupEpc, { available: true, capacityBytes: 4064 * MiB });
});

test('legacy isgx node without FLC and without sysfs: EPC from CPUID, driver legacy', async () => {
  const t = tree({ machine: 'kabylake-no-flc', driver: 'legacy' });
  const p = await probeNode({ hostRoot: t.root, aesmSocketDir: null });
  assert.equal(p.driver, 'legacy');
  assert.equal(p.flc, false);
  assert.equal(p.epcBytes, 98_041_856);
  assert.equal(p.sources.epc, 'cpuid');
  assert.equal(p.usable, true);
  assert.deepEqual(p.devices, ['/dev/isgx']);
});

test('DCAP-alias node: /dev/sgx/* alone counts as the in-kernel API', async () => {
  const t = tree({ machine: 'azure-dc2ds-v3', driver: 'dcap-alias' });
  const p = await probeNode({ hostRoot: t.root, aesmSocketDir: null });
  assert.equal(p.driver, 'in-kernel');
  assert.deepEqual(p.devices, ['/dev/sgx/enclave', '/dev/sgx/provision']);
  assert.equal(p.epcBytes, 8 * 1024 * MiB);
});

test('no-SGX node and BIOS-disabled node are normal, explained states', async () => {
  const none = await probeNode({ hostRoot: tree({ machine: 'no-sgx', driver: 'none' }).root, aesmSocketDir: null });
  assert.equal(none.sgx, false);
  assert.equal(none.usable, false);
  assert.equal(none.driver, 'none');
  assert.deepEqual(none.epcSections, []);
  assert.match(none.reasons.join('\n'), /does not implement SGX/);
  const off = await probeNode({ hostRoot: tree({ machine: 'icelake-sp-sgx-off', driver: 'none' }).root, aesmSocketDir: null });
  assert.equal(off.sgx, false);
  assert.equal(off.flc, true);
  assert.match(off.reasons.join('\n'), /BIOS/);
  // An empty directory (no /proc, no /sys, no /dev) is also just "no SGX".
  mkdirSync(join(base, 'empty'));
  const empty = await probeNode({ hostRoot: join(base, 'empty'), aesmSocketDir: null });
  assert.equal(empty.sgx, false);
  assert.match(empty.reasons.join('\n'), /no CPUID source/);
});

test('without the cpuid driver, cpuinfo + sysfs still detect SGX (no SGX2 information)', async () => {
  const t = tree({ machine: 'coffeelake-server', driver: 'in-kernel', cpuidDevice: false });
  const p = await probeNode({ hostRoot: t.root, aesmSocketDir: null });
  assert.equal(p.sgx, true);
  assert.equal(p.flc, true);
  assert.equal(p.sources.cpuid, 'none');
  assert.deepEqual(probeToJson(p).epcSections, [{ base: null, size: 98_041_856, numaNode: 0 }]);
  // A cpuid node that returns nothing (short reads) is "no CPUID source", not garbage registers.
  mkdirSync(t.path('/dev/cpu/0'), { recursive: true });
  writeFileSync(t.path('/dev/cpu/0/cpuid'), Buffer.alloc(8));
  const short = await probeNode({ hostRoot: t.root, aesmSocketDir: null });
  assert.equal(short.sources.cpuid, 'none');
  assert.equal(short.sgx, true);
});

test('AESM: alive only while something listens on the socket', async () => {
  const t = tree({ machine: 'icelake-client', driver: 'in-kernel' });
  assert.equal((await probeNode({ hostRoot: t.root, aesmSocketDir: t.aesmSocketDir })).aesm, false);
  const aesm = await startAesmStandin(t.aesmSocketDir);
  assert.equal((await probeNode({ hostRoot: t.root, aesmSocketDir: t.aesmSocketDir })).aesm, true);
  await aesm.close();
  // A stale socket file (aesmd crashed without cleanup) is not alive.
  writeFileSync(join(t.aesmSocketDir, 'aesm.socket'), '');
  assert.equal((await probeNode({ hostRoot: t.root, aesmSocketDir: t.aesmSocketDir })).aesm, false);
});

test('bad inputs: missing host root and garbage in sysfs get typed errors', async () => {
  await assert.rejects(probeNode({ hostRoot: join(base, 'nope'), aesmSocketDir: null }), { code: 'HOST_ROOT_MISSING' });
  const t = tree({ machine: 'icelake-client', driver: 'in-kernel' });
  writeFileSync(t.path('/sys/devices/system/node/node0/x86/sgx_total_bytes'), 'lots\n');
  await assert.rejects(probeNode({ hostRoot: t.root, aesmSocketDir: null }), { code: 'HOST_FILE_MALFORMED' });
});

test('a host tree built from a real fixture dump reads back the fixture facts', async (t) => {
  const path = fixturePath(t, 'cpuid', 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt');
  if (!path) return;
  const h = tree({ machine: { dumpText: readFileSync(path, 'utf8'), select: 'PhoenixNAP' }, driver: 'in-kernel' });
  const p = await probeNode({ hostRoot: h.root, aesmSocketDir: null });
  assert.equal(p.sources.cpuid, 'device');
  assert.equal(p.epcBytes, 4_261_412_864);
  assert.deepEqual(p.epcSections.map((s) => s.numaNode), [0, 1]);
  assert.equal(p.sgx2, true);
});

test('text report explains the state', async () => {
  const p = await probeNode({ hostRoot: tree({ machine: 'kabylake-no-flc', driver: 'none' }).root, aesmSocketDir: null });
  const text = formatProbe(p);
  assert.match(text, /EPC:\s+98041856 bytes \(93\.5 MiB\) from sysfs|EPC:\s+98041856 bytes \(93\.5 MiB\) from cpuid/);
  assert.match(text, /note: no SGX device node/);
  assert.match(text, /EPC cgroup:\s+not available/);
});

test('CLI: node probe --json prints the exact shape', () => {
  const h = tree({ machine: 'icelake-client', driver: 'in-kernel' });
  const r = runCli(['node', 'probe', '--host-root', h.root, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j), ['sgx', 'flc', 'sgx1', 'sgx2', 'epcBytes', 'epcSections', 'driver', 'devices', 'aesm']);
  assert.deepEqual(j.epcSections, [{ base: '0x30180000', size: 197_132_288, numaNode: 0 }]);
});

test('CLI: --cpuid-dump with --machine decodes a fixture; unreadable and ambiguous dumps exit 2 with a code', (t) => {
  const path = fixturePath(t, 'cpuid', 'transcribed_ayeks-sgx-hardware_cloud-and-server.txt');
  if (!path) return;
  mkdirSync(join(base, 'bare'), { recursive: true });
  const ok = runCli(['node', 'probe', '--host-root', join(base, 'bare'), '--cpuid-dump', path, '--machine', 'g7t', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), {
    sgx: true, flc: true, sgx1: true, sgx2: true, epcBytes: 24_964_497_408,
    epcSections: [{ base: '0x640000000', size: 24_964_497_408, numaNode: null }],
    driver: 'none', devices: [], aesm: false,
  });
  const missing = runCli(['node', 'probe', '--cpuid-dump', join(base, 'missing.txt')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /\[CPUID_DUMP_UNREADABLE\]/);
  assert.doesNotMatch(missing.stderr, /\s+at\s+\S+\s+\(/);
  const amb = runCli(['node', 'probe', '--host-root', base, '--cpuid-dump', path]);
  assert.equal(amb.status, 2);
  assert.match(amb.stderr, /\[CPUID_DUMP_AMBIGUOUS\]/);
  assert.match(amb.stderr, /--machine/);
});

test('a missing host root is a usage-class error (exit status 2)', async () => {
  await assert.rejects(probeNode({ hostRoot: join(base, 'nope'), aesmSocketDir: null }), (err: { code?: string; exitCode?: number }) => err.code === 'HOST_ROOT_MISSING' && err.exitCode === 2);
});
