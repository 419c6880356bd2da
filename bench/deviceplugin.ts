// Device plugin benchmark: Allocate latency (p50/p99) of the SGX device plugin
// against a reference gRPC server on the same kind of unix socket that returns
// a precomputed response (transport + serialization floor), measured in the
// same run and reported as ratios; and re-registration time after a kubelet
// restart (directory wiped, kubelet.sock recreated) against the 1 s target.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { startDevicePlugins, startKubeletStandin } from '../src/deviceplugin/index.js';
import { devicePluginApi, type AllocateResponse } from '../src/deviceplugin/proto.js';
import { sgxDeviceParts, staticSgxState } from '../src/deviceplugin/sgx/index.js';
import { RESOURCES } from '../src/common/labels.js';

const ALLOCATIONS = Number(process.env['BENCH_ALLOCATIONS'] ?? 2000);
const RESTARTS = Number(process.env['BENCH_RESTARTS'] ?? 20);
const MiB = 1024 * 1024;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-'));
  const kubelet = await startKubeletStandin({ dir: join(dir, 'dp') });
  const state = staticSgxState({ present: ['/dev/sgx_enclave', '/dev/sgx_provision', '/dev/sgx/enclave', '/dev/sgx/provision'], aesmAlive: true });
  const parts = sgxDeviceParts({ profile: 'alibaba', numaEpc: [{ node: 0, bytes: 2028 * MiB }, { node: 1, bytes: 2036 * MiB }], aesmHostDir: '/var/run/aesmd' }, state);
  const plugins = await startDevicePlugins(parts, { pluginDir: kubelet.dir, pollIntervalMs: 500 });
  await kubelet.waitFor(() => (kubelet.resource(RESOURCES.alibaba.epc)?.devices.length ?? 0) === 4064, 'registration');

  // A typical enclave container: 64 MiB of EPC.
  const ids = Array.from({ length: 64 }, (_, i) => String(i));
  const sample: AllocateResponse = await kubelet.allocate(RESOURCES.alibaba.epc, [ids]);

  // Reference: same service, same socket kind, answers a precomputed response.
  const api = devicePluginApi();
  const refServer = new grpc.Server();
  const noop = (_c: unknown, cb: grpc.sendUnaryData<object>): void => cb(null, {});
  refServer.addService(api.devicePlugin.service, {
    Allocate: (_call: unknown, cb: grpc.sendUnaryData<AllocateResponse>) => cb(null, sample),
    GetDevicePluginOptions: noop,
    GetPreferredAllocation: noop,
    PreStartContainer: noop,
    ListAndWatch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  const refSock = join(dir, 'ref.sock');
  await new Promise<void>((res, rej) => refServer.bindAsync(`unix:${refSock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const refClient = new api.devicePlugin.client(`unix:${refSock}`, grpc.credentials.createInsecure());
  const refAllocate = (): Promise<void> =>
    new Promise((res, rej) => (refClient as unknown as { Allocate(r: object, cb: (e: Error | null) => void): void }).Allocate({ container_requests: [{ devices_ids: ids }] }, (e) => (e ? rej(e) : res())));

  const ours: number[] = [];
  const ref: number[] = [];
  // Warm-up, then interleave batches so both see the same machine load.
  for (let i = 0; i < 100; i++) {
    await kubelet.allocate(RESOURCES.alibaba.epc, [ids]);
    await refAllocate();
  }
  const batch = 50;
  for (let done = 0; done < ALLOCATIONS; done += batch) {
    for (let i = 0; i < batch; i++) {
      const t0 = performance.now();
      await kubelet.allocate(RESOURCES.alibaba.epc, [ids]);
      ours.push(performance.now() - t0);
    }
    for (let i = 0; i < batch; i++) {
      const t0 = performance.now();
      await refAllocate();
      ref.push(performance.now() - t0);
    }
  }
  ours.sort((a, b) => a - b);
  ref.sort((a, b) => a - b);

  // Re-registration after kubelet restarts.
  const rereg: number[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const before = kubelet.registrations.length;
    await kubelet.restart();
    const t0 = performance.now();
    await kubelet.waitFor(() => kubelet.registrations.length >= before + parts.length && kubelet.resource(RESOURCES.alibaba.epc)!.devices.length === 4064, 're-registration', 5000);
    rereg.push(performance.now() - t0);
  }
  rereg.sort((a, b) => a - b);

  refClient.close();
  refServer.forceShutdown();
  await plugins.close();
  await kubelet.close();
  rmSync(dir, { recursive: true, force: true });

  const f = (ms: number): string => `${ms.toFixed(3)} ms`;
  console.log(`Allocate, 64 x 1-MiB EPC devices per container, ${ALLOCATIONS} calls each, sequential, unix socket`);
  console.log(`  kubetee SGX plugin   p50 ${f(pct(ours, 50))}  p99 ${f(pct(ours, 99))}`);
  console.log(`  reference (canned)   p50 ${f(pct(ref, 50))}  p99 ${f(pct(ref, 99))}`);
  console.log(`  ratio plugin/reference  p50 ${(pct(ours, 50) / pct(ref, 50)).toFixed(2)}x  p99 ${(pct(ours, 99) / pct(ref, 99)).toFixed(2)}x`);
  console.log(`Re-registration after kubelet restart (both resources, full device list received), ${RESTARTS} restarts`);
  console.log(`  p50 ${f(pct(rereg, 50))}  max ${f(rereg.at(-1)!)}  ratio max/1 s target ${(rereg.at(-1)! / 1000).toFixed(3)}`);
}

await main();
