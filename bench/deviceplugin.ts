// `npm run bench deviceplugin`: kubetee's device plugin against Intel's
// sgx_plugin (intel-device-plugins-for-kubernetes v0.27.1, built unmodified
// from the Go module proxy), both driven in the same run by dp-harness, a
// kubelet stand-in on the upstream k8s.io/kubelet deviceplugin/v1beta1 client
// types (bench/deviceplugin/harness). Reports
//   - Allocate latency, 10 devices per call, p50/p99 and plugin CPU per call,
//     with the kubetee/Intel ratio (and Node's bare HTTP/2 floor beside it);
//   - registration and ListAndWatch cost on 4 GiB, 64 GiB and 1 TiB EPC nodes,
//     plus re-registration after simulated kubelet restarts.
// Intel's plugin looks for /dev/sgx_enclave and registers at the fixed path
// /var/lib/kubelet/device-plugins: it runs in a private mount namespace
// (unshare) with stand-in device nodes on a tmpfs /dev and the harness's own
// socket directory bound over that path, so nothing on the host changes.
// kubetee runs as `kubetee node-agent` (from the sources) on simulated host trees.
// Env: BENCH_ALLOCATIONS (2000), BENCH_RESTARTS (3), KUBETEE_BENCH_CACHE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESOURCES } from '../src/common/labels.js';
import { createHostTree } from '../src/node/testing/host-tree.js';
import type { SgxShape } from '../src/sgx/cpuid-encode.js';

const ALLOCATIONS = Number(process.env['BENCH_ALLOCATIONS'] ?? 2000);
const RESTARTS = Number(process.env['BENCH_RESTARTS'] ?? 3);
const DEVICES_PER_CALL = 10;
const here = fileURLToPath(new URL('./deviceplugin/', import.meta.url));
const GiB = 2 ** 30;

interface ResourceResult { resource: string; registerMs: number; firstListMs: number; listBytes: number; devices: number; healthy: number; listError?: string }
interface ListResult { label: string; plugin: string; resources: ResourceResult[]; rssBytes: number; restartMs: number[] | null; restartMissed: number; restartError?: string }
interface AllocateResult { plugin: string; resource: string; calls: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; meanMs: number; responseBytes: number; rssBytes: number; cpuMsPerCall: number }

function shape(sectionsGiB: number[]): SgxShape {
  return { sgxSupported: true, flc: true, sgx1: true, sgx2: true, sections: sectionsGiB.map((g, i) => ({ base: (i + 1) * 0x100_0000_0000, sizeBytes: g * GiB })) };
}

const bin = spawnSync('bash', [join(here, 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (bin.status !== 0) {
  console.error('device-plugin bench: building the harness and Intel\'s plugin failed (see above)');
  process.exit(1);
}
const binDir = bin.stdout.trim().split('\n').at(-1)!;
const work = mkdtempSync(join(tmpdir(), 'kt-bench-dp-'));

// The stand-in /dev and the bind mount exist only inside the plugin's mount namespace.
const intelScript = join(work, 'intel-ns.sh');
writeFileSync(
  intelScript,
  [
    'set -e',
    'mount -t tmpfs -o mode=755 kt-dev /dev',
    ': > /dev/sgx_enclave; : > /dev/sgx_provision',
    'if [ -d /var/lib/kubelet ]; then mount -t tmpfs kt-kubelet /var/lib/kubelet; else mount -t tmpfs kt-varlib /var/lib; fi',
    'mkdir -p /var/lib/kubelet/device-plugins',
    'mount --bind "$1" /var/lib/kubelet/device-plugins',
    'shift',
    'exec "$@"',
    '',
  ].join('\n'),
);
const unshare = ['unshare', ...(process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']), '--mount', '--propagation', 'private', '--'];
const intel = (dir: string): string[] => [...unshare, 'sh', intelScript, dir, join(binDir, 'sgx_plugin'), '-enclave-limit', '110', '-provision-limit', '110'];
const node = (script: string, ...args: string[]): string[] => [process.execPath, '--import', 'tsx', script, ...args];
const kubetee = (profile: 'alibaba' | 'intel', hostRoot: string, dir: string, extra: string[] = []): string[] =>
  node(join(here, 'kubetee-cli.ts'), 'node-agent', '--host-root', hostRoot, '--profile', profile, '--kubelet-dir', dir, '--no-labels', '--pod-resources-socket', '', '--aesm-socket-dir', '', ...extra);

const hosts = {
  '4 GiB': createHostTree(join(work, 'host-4g'), { machine: shape([4]), driver: 'in-kernel' }).root,
  '64 GiB': createHostTree(join(work, 'host-64g'), { machine: shape([32, 32]), driver: 'in-kernel' }).root,
  '1 TiB': createHostTree(join(work, 'host-1t'), { machine: 'xeon-2socket-1tib', driver: 'in-kernel' }).root,
};
const A = RESOURCES.alibaba;
const I = RESOURCES.intel;
let dirs = 0;
const dir = (): string => join(work, `dp${dirs++}`);

const lists = [];
for (const [size, root] of Object.entries(hosts)) {
  const alibabaResources = size === '1 TiB' ? [A.enclave, A.provision] : [A.epc, A.enclave, A.provision];
  lists.push({ label: `${size} | kubetee alibaba (auto)`, restarts: RESTARTS, plugin: { name: 'kubetee-alibaba', dir: '', resources: alibabaResources, command: [] as string[] }, root, profile: 'alibaba' as const, extra: [] as string[] });
  if (size === '1 TiB') lists.push({ label: `${size} | kubetee alibaba (--epc-mode devices)`, restarts: 0, plugin: { name: 'kubetee-alibaba-devices', dir: '', resources: [A.epc, A.enclave, A.provision], command: [] }, root, profile: 'alibaba' as const, extra: ['--epc-mode', 'devices'] });
  lists.push({ label: `${size} | kubetee intel`, restarts: RESTARTS, plugin: { name: 'kubetee-intel', dir: '', resources: [I.enclave, I.provision], command: [] }, root, profile: 'intel' as const, extra: [] });
  lists.push({ label: `${size} | Intel sgx_plugin v0.27.1`, restarts: RESTARTS, plugin: { name: 'intel-sgx_plugin', dir: '', resources: [I.enclave, I.provision], command: [] }, root: null, profile: null, extra: [] });
}
const config = {
  readyTimeoutSeconds: 300,
  lists: lists.map((l) => {
    const d = dir();
    return { label: l.label, restarts: l.restarts, plugin: { ...l.plugin, dir: d, command: l.profile ? kubetee(l.profile, l.root!, d, l.extra) : intel(d) } };
  }),
  allocate: {
    calls: ALLOCATIONS,
    devices: DEVICES_PER_CALL,
    warmup: 200,
    batch: 50,
    plugins: [
      (() => { const d = dir(); return { name: 'kubetee (intel profile)', dir: d, resource: I.enclave, resources: [I.enclave, I.provision], command: kubetee('intel', hosts['4 GiB'], d) }; })(),
      (() => { const d = dir(); return { name: 'Intel sgx_plugin v0.27.1', dir: d, resource: I.enclave, resources: [I.enclave, I.provision], command: intel(d) }; })(),
      (() => { const d = dir(); return { name: 'kubetee (alibaba, EPC MiB)', dir: d, resource: A.epc, resources: [A.epc, A.enclave, A.provision], command: kubetee('alibaba', hosts['4 GiB'], d) }; })(),
      (() => { const d = dir(); return { name: 'Node http2 floor (canned)', dir: d, resource: I.enclave, resources: [I.enclave], command: node(join(here, 'http2-floor.ts'), d) }; })(),
    ],
  },
};
const configPath = join(work, 'config.json');
writeFileSync(configPath, JSON.stringify(config, null, 2));
const run = spawnSync(join(binDir, 'dp-harness'), ['-config', configPath], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
rmSync(work, { recursive: true, force: true });
if (run.status !== 0) {
  console.error(`device-plugin bench: dp-harness failed (exit ${run.status})`);
  process.exit(1);
}
const results = JSON.parse(run.stdout) as { lists: ListResult[]; allocate: AllocateResult[] };

const ms = (v: number): string => `${v.toFixed(3)} ms`;
const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

console.log(`Allocate: ${DEVICES_PER_CALL} devices per call, ${ALLOCATIONS} calls per plugin in interleaved batches of 50, kubelet's v1beta1 Go client, unix socket, no deadline (as kubelet)`);
console.log(`  ${pad('plugin', 28)} ${pad('resource', 30)} ${lpad('p50', 10)} ${lpad('p99', 10)} ${lpad('mean', 10)} ${lpad('CPU/call', 10)} ${lpad('reply', 7)} ${lpad('RSS', 10)}`);
for (const a of results.allocate) {
  console.log(`  ${pad(a.plugin, 28)} ${pad(a.resource, 30)} ${lpad(ms(a.p50Ms), 10)} ${lpad(ms(a.p99Ms), 10)} ${lpad(ms(a.meanMs), 10)} ${lpad(ms(a.cpuMsPerCall), 10)} ${lpad(`${a.responseBytes} B`, 7)} ${lpad(mib(a.rssBytes), 10)}`);
}
const [kt, ref, , floor] = results.allocate;
console.log(`  ratio kubetee/Intel (same resource, same call): p50 ${(kt!.p50Ms / ref!.p50Ms).toFixed(2)}x  p99 ${(kt!.p99Ms / ref!.p99Ms).toFixed(2)}x  CPU/call ${(kt!.cpuMsPerCall / ref!.cpuMsPerCall).toFixed(2)}x`);
console.log(`  ratio Node http2 floor/Intel: p50 ${(floor!.p50Ms / ref!.p50Ms).toFixed(2)}x  CPU/call ${(floor!.cpuMsPerCall / ref!.cpuMsPerCall).toFixed(2)}x  (kubetee above the floor: p50 +${ms(kt!.p50Ms - floor!.p50Ms)})`);

console.log('\nRegistration and ListAndWatch per EPC size (Register: from process start; first list: Register to first ListAndWatch message; restart: kubelet.sock back to every resource re-listed)');
console.log(`  ${pad('node | plugin', 48)} ${pad('resource', 30)} ${lpad('devices', 9)} ${lpad('message', 12)} ${lpad('Register', 11)} ${lpad('first list', 11)} ${lpad('RSS', 10)} ${lpad('restart p50/max', 22)}`);
for (const l of results.lists) {
  l.resources.forEach((r, i) => {
    const ok = i === 0 && l.restartMs && l.restartMs.length > 0 ? `${ms(pct(l.restartMs, 50))} / ${ms(Math.max(...l.restartMs))}` : '';
    const restart = i === 0 && l.restartMissed > 0 ? `${ok}${ok ? ' ' : ''}MISSED ${l.restartMissed}` : ok;
    const list = r.listError ? `ERROR ${r.listError.slice(0, 40)}` : ms(r.firstListMs);
    console.log(`  ${pad(i === 0 ? l.label : '', 48)} ${pad(r.resource, 30)} ${lpad(String(r.devices), 9)} ${lpad(mib(r.listBytes), 12)} ${lpad(ms(r.registerMs), 11)} ${lpad(list, 11)} ${lpad(i === 0 ? mib(l.rssBytes) : '', 10)} ${lpad(restart, 22)}`);
  });
}
for (const l of results.lists) if (l.restartError) console.log(`  ${l.label}: did not re-register after a kubelet restart within 30 s (${l.restartError.split('\n')[0]})`);
console.log('  EPC reaches the scheduler as: alibaba auto = one device per MiB (4, 64 GiB) or node capacity alibabacloud.com/sgx_epc_MiB (1 TiB: 1048576, patched by the agent);');
console.log('  intel = node capacity sgx.intel.com/epc in bytes (kubetee agent; Intel uses NFD or epchook). --epc-mode devices on 1 TiB shows why: most MiB do not fit the 4 MiB message.');
