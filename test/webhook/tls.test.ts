import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SelfManagedCa } from '../../src/webhook/tls/self-managed-ca.js';
import { fileTlsSource, selfManagedTlsSource } from '../../src/webhook/tls/tls-source.js';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { buildWebhookConfigurations } from '../../src/webhook/webhook-configurations.js';
import { DEFAULT_POLICY } from '../../src/webhook/policy/default-policy.js';
import { WebhookError } from '../../src/webhook/errors.js';
import { admissionReview, container, epc, pod } from './helpers.js';
import { startFakeApiServer } from './fake-apiserver.js';

const dir = mkdtempSync(join(tmpdir(), 'kubetee-tls-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

interface Reply {
  status: number;
  body: string;
  serial: string;
  issuer: string;
}

/** A real HTTPS request that verifies the server against `ca` (Node's default verification, hostname included). */
function httpsCall(url: string, path: string, ca: string, options: { agent?: Agent; body?: unknown } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      `${url}${path}`,
      { method: payload ? 'POST' : 'GET', ca, agent: options.agent ?? false, headers: payload ? { 'content-type': 'application/json' } : {}, timeout: 10_000 },
      (res) => {
        // Read the peer certificate now: a keep-alive agent detaches the socket at 'end'.
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        const issuerCn = peer.issuer?.CN;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial: peer.serialNumber ?? '', issuer: Array.isArray(issuerCn) ? issuerCn.join() : (issuerCn ?? '') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function certCount(pem: string): number {
  return (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;
}

test('CA timing: the serving certificate renews before expiry, the CA rotates with an overlap window, the old CA leaves the bundle when expired', async () => {
  let now = new Date('2030-01-01T00:00:00Z').getTime();
  const ca = await SelfManagedCa.open({ dir: join(dir, 'timing'), hosts: ['webhook.kubetee-system.svc'], now: () => new Date(now) });
  const firstLeaf = ca.material().certPem;
  const firstCaPem = ca.caBundlePem();
  assert.equal(certCount(firstCaPem), 1);
  now += 19 * DAY;
  assert.equal(await ca.refresh(), 'none', '11 days left: keep it');
  now += 2 * DAY;
  assert.equal(await ca.refresh(), 'certificate', '9 days left: renew');
  assert.notEqual(ca.material().certPem, firstLeaf);
  assert.equal(await ca.refresh(), 'none', 'idempotent');
  // CA lifetime 365 days, new CA when < 60 left; renew the leaf along the way.
  while (now < new Date('2030-01-01T00:00:00Z').getTime() + 300 * DAY) {
    now += 20 * DAY;
    await ca.refresh();
  }
  now = new Date('2030-01-01T00:00:00Z').getTime() + 306 * DAY;
  assert.equal(await ca.refresh(), 'ca');
  const bundle = ca.caBundlePem();
  assert.equal(certCount(bundle), 2, 'both CAs are trusted during the overlap');
  const oldCa = new X509Certificate(firstCaPem);
  const leaf = new X509Certificate(ca.material().certPem);
  assert.ok(leaf.checkIssued(oldCa), 'within the propagation window the leaf is still from the old CA');
  now += 11 * 60_000;
  await ca.refresh();
  const newLeaf = new X509Certificate(ca.material().certPem);
  assert.equal(newLeaf.checkIssued(oldCa), false, 'after the window the leaf moves to the new CA');
  assert.ok(newLeaf.verify(new X509Certificate(bundle.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!).publicKey));
  assert.equal(newLeaf.subjectAltName, 'DNS:webhook.kubetee-system.svc');
  now = new Date('2030-01-01T00:00:00Z').getTime() + 366 * DAY;
  await ca.refresh();
  assert.equal(certCount(ca.caBundlePem()), 1, 'expired CA dropped from the bundle');
  assert.equal(readFileSync(join(dir, 'timing', 'ca-bundle.crt'), 'utf8'), ca.caBundlePem());
  // A restart loads the same state instead of minting a new CA.
  const reopened = await SelfManagedCa.open({ dir: join(dir, 'timing'), hosts: ['webhook.kubetee-system.svc'], now: () => new Date(now) });
  assert.equal(reopened.caBundlePem(), ca.caBundlePem());
  assert.equal(reopened.material().certPem, ca.material().certPem);
});

test('HTTPS: a real client verifies the server against the published CA bundle; rotation keeps serving and republishes', async (t) => {
  const api = await startFakeApiServer(dir);
  t.after(() => api.close());
  // The deploy engineer's objects, created before the webhook starts, without caBundle.
  const { mutating, validating } = buildWebhookConfigurations({ target: { url: 'https://127.0.0.1:8443' } });
  api.objects.set('mutatingwebhookconfigurations/kubetee-admission', { ...mutating, metadata: { ...mutating['metadata'], resourceVersion: '1' } });
  api.objects.set('validatingwebhookconfigurations/kubetee-admission', { ...validating, metadata: { ...validating['metadata'], resourceVersion: '1' } });

  let offsetMs = 0;
  const caDir = join(dir, 'serve');
  const ca = await SelfManagedCa.open({ dir: caDir, hosts: ['127.0.0.1', 'localhost'], now: () => new Date(Date.now() + offsetMs), certValidityDays: 1 / 24, certRenewBeforeDays: 1 / 48, caPropagationMs: 5 * 60_000 });
  const server: WebhookServer = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: selfManagedTlsSource(ca), policy: DEFAULT_POLICY, profile: 'intel', kubeconfig: api.kubeconfigPath, refreshIntervalMs: 3_600_000 });
  t.after(() => server.close());
  const bundle1 = readFileSync(join(caDir, 'ca-bundle.crt'), 'utf8');
  const published = (): string[] =>
    ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'].flatMap((k) => api.objects.get(`${k}/kubetee-admission`)!['webhooks'].map((w: { clientConfig: { caBundle: string } }) => Buffer.from(w.clientConfig.caBundle, 'base64').toString()));

  // Published into every webhook of both configurations at start-up.
  assert.deepEqual(new Set(published()), new Set([bundle1]));
  assert.equal(published().length, 7);

  // Verified HTTPS with the published bundle; health, readiness and metrics on the same port.
  const health = await httpsCall(server.url, '/healthz', bundle1);
  assert.equal(health.status, 200);
  const ready = await httpsCall(server.url, '/readyz', bundle1);
  assert.equal(ready.status, 200, ready.body);
  assert.equal(JSON.parse(ready.body).status, 'ready');
  const admit = await httpsCall(server.url, '/mutate/confidential', bundle1, { body: admissionReview(pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' }))] })) });
  assert.equal(admit.status, 200);
  assert.equal(JSON.parse(admit.body).response.allowed, true);
  const metrics = await httpsCall(server.url, '/metrics', bundle1);
  assert.match(metrics.body, /kubetee_webhook_admissions_total\{phase="mutate",verdict="mutated"/);

  // A client that trusts another CA refuses the server: verification is real.
  const stranger = await SelfManagedCa.open({ dir: join(dir, 'stranger'), hosts: ['127.0.0.1'] });
  await assert.rejects(httpsCall(server.url, '/healthz', stranger.caBundlePem()), (err: NodeJS.ErrnoException) => /certificate|verify|self.signed/i.test(`${err.code} ${err.message}`));

  // Serving-certificate renewal: a keep-alive connection opened before keeps working, new handshakes get the new certificate.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: bundle1 });
  t.after(() => agent.destroy());
  const before = await httpsCall(server.url, '/healthz', bundle1, { agent });
  offsetMs = 31 * 60_000;
  assert.equal(await server.refreshTls(), 'certificate');
  const onOldConnection = await httpsCall(server.url, '/healthz', bundle1, { agent });
  assert.equal(onOldConnection.status, 200);
  assert.equal(onOldConnection.serial, before.serial, 'the open connection still uses the old certificate');
  const fresh = await httpsCall(server.url, '/healthz', bundle1);
  assert.notEqual(fresh.serial, before.serial, 'a new handshake gets the renewed certificate');
  assert.equal(fresh.issuer, before.issuer);

  // CA rotation: the bundle grows to two CAs and is republished before the serving certificate moves.
  await ca.rotateCa();
  assert.equal(await server.refreshTls(), 'ca');
  const bundle2 = readFileSync(join(caDir, 'ca-bundle.crt'), 'utf8');
  assert.equal(certCount(bundle2), 2);
  assert.deepEqual(new Set(published()), new Set([bundle2]));
  const oldOnly = await httpsCall(server.url, '/healthz', bundle1);
  assert.equal(oldOnly.status, 200, 'clients that have not seen the new bundle yet still connect');
  offsetMs += 6 * 60_000;
  assert.equal(await server.refreshTls(), 'certificate');
  const moved = await httpsCall(server.url, '/healthz', bundle2);
  assert.equal(moved.status, 200);
  assert.notEqual(moved.issuer, before.issuer, 'the serving certificate now comes from the new CA');
  await assert.rejects(httpsCall(server.url, '/healthz', bundle1), 'the old CA alone no longer verifies');
  const last = server.lastPublish();
  assert.ok(last && 'updated' in last, `publication succeeded: ${JSON.stringify(last)}`);
});

test('caBundle publishing: conflicts are retried; configurations created later are published on retry', async (t) => {
  const api = await startFakeApiServer(join(dir));
  t.after(() => api.close());
  const ca = await SelfManagedCa.open({ dir: join(dir, 'late'), hosts: ['127.0.0.1'] });
  const server = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: selfManagedTlsSource(ca), policy: DEFAULT_POLICY, profile: 'alibaba', kubeconfig: api.kubeconfigPath, publishRetryMs: 50 });
  t.after(() => server.close());
  assert.deepEqual((server.lastPublish() as { missing: string[] }).missing, ['MutatingWebhookConfiguration/kubetee-admission', 'ValidatingWebhookConfiguration/kubetee-admission']);
  const ready = await httpsCall(server.url, '/readyz', ca.caBundlePem());
  assert.equal(ready.status, 200, 'serving does not wait for the configurations');
  const { mutating, validating } = buildWebhookConfigurations({ target: { service: { namespace: 'kubetee-system', name: 'kubetee-webhook' } } });
  api.conflictOnce();
  api.objects.set('mutatingwebhookconfigurations/kubetee-admission', { ...mutating, metadata: { ...mutating['metadata'], resourceVersion: '7' } });
  api.objects.set('validatingwebhookconfigurations/kubetee-admission', { ...validating, metadata: { ...validating['metadata'], resourceVersion: '3' } });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (server.lastPublish() as { updated?: string[] }).updated?.length !== 2) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual((server.lastPublish() as { updated: string[] }).updated, ['MutatingWebhookConfiguration/kubetee-admission', 'ValidatingWebhookConfiguration/kubetee-admission']);
  assert.ok(api.puts >= 3, 'one conflict was retried');
  const hook = api.objects.get('mutatingwebhookconfigurations/kubetee-admission')!['webhooks'][0];
  assert.equal(Buffer.from(hook.clientConfig.caBundle, 'base64').toString(), ca.caBundlePem());
});

test('certificate files: a replaced pair is served without restart; bad files are TLS_MATERIAL_INVALID', async (t) => {
  const a = await SelfManagedCa.open({ dir: join(dir, 'files-a'), hosts: ['127.0.0.1'] });
  const b = await SelfManagedCa.open({ dir: join(dir, 'files-b'), hosts: ['127.0.0.1'] });
  const certPath = join(dir, 'tls.crt');
  const keyPath = join(dir, 'tls.key');
  cpSync(join(dir, 'files-a', 'tls.crt'), certPath);
  cpSync(join(dir, 'files-a', 'tls.key'), keyPath);
  const source = fileTlsSource(certPath, keyPath);
  const server = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: source, policy: DEFAULT_POLICY, profile: 'alibaba' });
  t.after(() => server.close());
  assert.equal((await httpsCall(server.url, '/healthz', a.caBundlePem())).status, 200);
  assert.equal(await server.refreshTls(), 'none');
  // cert-manager renews the Secret: new files, new mtime.
  writeFileSync(certPath, b.material().certPem);
  writeFileSync(keyPath, b.material().keyPem);
  assert.equal(await server.refreshTls(), 'certificate');
  assert.equal((await httpsCall(server.url, '/healthz', b.caBundlePem())).status, 200);
  // A broken update is refused; the previous pair keeps serving and /readyz says why.
  writeFileSync(keyPath, a.material().keyPem);
  assert.equal(await server.refreshTls(), 'none');
  assert.equal((await httpsCall(server.url, '/healthz', b.caBundlePem())).status, 200);
  const ready = await httpsCall(server.url, '/readyz', b.caBundlePem());
  assert.equal(ready.status, 503);
  assert.match(JSON.parse(ready.body).problems.join(), /not a matching PEM certificate and private key/);

  assert.throws(() => fileTlsSource(certPath, keyPath), (err: unknown) => err instanceof WebhookError && err.code === 'TLS_MATERIAL_INVALID');
  assert.throws(() => fileTlsSource(join(dir, 'nope.crt'), keyPath), (err: unknown) => err instanceof WebhookError && err.code === 'TLS_MATERIAL_INVALID');
});

test('listening on a busy port is PORT_IN_USE', async (t) => {
  const ca = await SelfManagedCa.open({ dir: join(dir, 'busy'), hosts: ['127.0.0.1'] });
  const first = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: selfManagedTlsSource(ca), policy: DEFAULT_POLICY, profile: 'alibaba' });
  t.after(() => first.close());
  await assert.rejects(startWebhookServer({ host: '127.0.0.1', port: first.port, tls: selfManagedTlsSource(ca), policy: DEFAULT_POLICY, profile: 'alibaba' }), (err: unknown) => err instanceof WebhookError && err.code === 'PORT_IN_USE');
});
