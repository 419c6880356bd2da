// Admission webhook throughput and latency over HTTPS on loopback.
// Target: p99 under 2 ms at 1,000 requests/s (open loop, load generator in a
// second process). Reference, measured in the same run with the same
// certificate, client and payload: a bare node:https server that parses the
// AdmissionReview and answers a fixed allow, i.e. the cost of HTTPS + JSON
// alone. Ratios are kubetee / reference.
import { createServer } from 'node:https';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfManagedCa } from '../src/webhook/tls/self-managed-ca.js';
import { selfManagedTlsSource } from '../src/webhook/tls/tls-source.js';
import { startWebhookServer } from '../src/webhook/server.js';
import { DEFAULT_POLICY } from '../src/webhook/policy/default-policy.js';

const RATE = Number(process.env['BENCH_RATE'] ?? 1000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-webhook-'));
const loadScript = fileURLToPath(new URL('./_webhook-load.ts', import.meta.url));

interface Result {
  ok: number;
  errors: number;
  dropped: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

// A realistic confidential pod: an Alibaba-style manifest on an Intel-profile cluster,
// AESM quoting, a sidecar: every mutation rule does work.
const review = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'vault',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'kms-7d9f-', namespace: 'vault', labels: { app: 'kms' }, annotations: { 'kubetee.io/quote-provider': 'aesmd' } },
      spec: {
        containers: [
          { name: 'kms', image: 'registry.example/kms:1.4', ports: [{ containerPort: 8443 }], resources: { requests: { cpu: '500m', memory: '256Mi', 'alibabacloud.com/sgx_epc_MiB': '64' }, limits: { memory: '256Mi', 'alibabacloud.com/sgx_epc_MiB': '64' } } },
          { name: 'log-shipper', image: 'registry.example/fluentbit:3', resources: { requests: { cpu: '50m' } } },
        ],
        serviceAccountName: 'kms',
      },
    },
  },
};

function runLoad(mode: 'open' | 'closed', url: string, ca: string, body: string, arg: number, seconds: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', loadScript, mode, url, ca, body, String(arg), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
      else reject(new Error(`load generator exited ${code}: ${out}`));
    });
  });
}

const ca = await SelfManagedCa.open({ dir: join(dir, 'ca'), hosts: ['127.0.0.1'] });
const caFile = join(dir, 'ca', 'ca-bundle.crt');
const bodyFile = join(dir, 'review.json');
writeFileSync(bodyFile, JSON.stringify(review));

const kubetee = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: selfManagedTlsSource(ca), policy: DEFAULT_POLICY, profile: 'intel' });
const reference = createServer({ cert: ca.material().certPem, key: ca.material().keyPem, keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const r = JSON.parse(Buffer.concat(chunks).toString()) as { request: { uid: string } };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: true } }));
  });
});
await new Promise<void>((r) => reference.listen(0, '127.0.0.1', r));
const refUrl = `https://127.0.0.1:${(reference.address() as { port: number }).port}/`;
const targets: [string, string][] = [
  ['kubetee /mutate/confidential', `${kubetee.url}/mutate/confidential`],
  ['reference (HTTPS + JSON only)', refUrl],
];

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
try {
  console.log(`webhook bench: ${RATE} req/s open loop for ${SECONDS} s per target, then 3 s closed loop (32 concurrent); Node ${process.version}, loadavg ${process.platform === 'linux' ? (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ') : 'n/a'}`);
  for (const [, url] of targets) await runLoad('open', url, caFile, bodyFile, RATE, 1); // warm-up (JIT, TLS sessions)
  const open: Record<string, Result> = {};
  const closed: Record<string, Result> = {};
  for (const [name, url] of targets) open[name] = await runLoad('open', url, caFile, bodyFile, RATE, SECONDS);
  // Server CPU per request: both servers live in this process and run one at a time, so the
  // process's CPU time over a run is that server's. Far less sensitive to a busy machine than latency.
  const cpuUsPerRequest: Record<string, number> = {};
  for (const [name, url] of targets) {
    const before = process.cpuUsage();
    closed[name] = await runLoad('closed', url, caFile, bodyFile, 32, 3);
    const used = process.cpuUsage(before);
    cpuUsPerRequest[name] = (used.user + used.system) / closed[name]!.ok;
  }
  console.log('\nopen loop (latency from scheduled send time, ms):');
  console.log('target                              achieved/s   p50      p99      max      errors  dropped');
  for (const [name] of targets) {
    const r = open[name]!;
    console.log(`${name.padEnd(36)}${r.perSecond.toFixed(0).padStart(10)}   ${fmt(r.p50).padEnd(8)} ${fmt(r.p99).padEnd(8)} ${fmt(r.max).padEnd(8)} ${String(r.errors).padStart(6)}  ${String(r.dropped).padStart(7)}`);
  }
  const k = open[targets[0]![0]]!;
  const ref = open[targets[1]![0]]!;
  console.log(`ratio kubetee/reference: p50 ${(k.p50 / ref.p50).toFixed(2)}x, p99 ${(k.p99 / ref.p99).toFixed(2)}x`);
  console.log(`target p99 < 2 ms at ${RATE}/s: ${k.p99 < 2 && k.errors === 0 && k.dropped === 0 ? 'MET' : 'NOT MET'} (p99 ${fmt(k.p99)} ms)`);
  console.log('\nclosed loop, 32 concurrent (max admissions/s):');
  for (const [name] of targets) console.log(`${name.padEnd(36)}${closed[name]!.perSecond.toFixed(0).padStart(10)}/s  p50 ${fmt(closed[name]!.p50)} ms`);
  console.log(`ratio kubetee/reference throughput: ${(closed[targets[0]![0]]!.perSecond / closed[targets[1]![0]]!.perSecond).toFixed(2)}x`);
  console.log('\nserver CPU per request (user+system, µs):');
  for (const [name] of targets) console.log(`${name.padEnd(36)}${cpuUsPerRequest[name]!.toFixed(0).padStart(10)}  (one core at this cost: ${(1e6 / cpuUsPerRequest[name]!).toFixed(0)} requests/s)`);
  console.log(`ratio kubetee/reference CPU: ${(cpuUsPerRequest[targets[0]![0]]! / cpuUsPerRequest[targets[1]![0]]!).toFixed(2)}x`);
} finally {
  await kubetee.close();
  reference.closeAllConnections();
  await new Promise((r) => reference.close(r));
  rmSync(dir, { recursive: true, force: true });
}
