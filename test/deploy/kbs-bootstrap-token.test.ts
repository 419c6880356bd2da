import { test } from 'node:test';
import assert from 'node:assert/strict';
import { install } from '../../src/deploy/install.js';
import { uninstall } from '../../src/deploy/uninstall.js';
import { renderManifests } from '../../src/deploy/render.js';
import { resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls } from '../../src/deploy/webhook-tls.js';
import { objectRef, type KubeObject } from '../../src/deploy/objects.js';
import type { Cluster } from '../../src/deploy/cluster.js';
import { isTokenShaped } from '../../src/kbs/auth/token-format.js';

const SECRET = 'kubetee-kbs-bootstrap-token';
const MASTER = 'kubetee-kbs-master-key';

/** An in-memory API server: apply/create store objects, rollouts finish at once. */
function memoryCluster(): Cluster & { objects: Map<string, KubeObject> } {
  const objects = new Map<string, KubeObject>();
  let rv = 0;
  const key = (o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string => objectRef(o as KubeObject);
  const withStatus = (o: KubeObject): KubeObject => {
    if (o.kind !== 'Deployment') return o;
    const n = (o['spec'] as { replicas?: number }).replicas ?? 1;
    return { ...o, status: { replicas: n, updatedReplicas: n, availableReplicas: n } };
  };
  const store = (o: KubeObject): KubeObject => {
    const before = objects.get(key(o));
    const same = before && JSON.stringify({ ...before, metadata: { ...before.metadata, resourceVersion: undefined } }) === JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
    const saved = structuredClone({ ...o, metadata: { ...o.metadata, resourceVersion: same ? before.metadata['resourceVersion'] : String(++rv) } }) as KubeObject;
    objects.set(key(o), saved);
    return saved;
  };
  return {
    objects,
    server: 'https://memory',
    context: 'memory',
    apply: async (o, opts) => (opts?.dryRun ? o : store(o)),
    get: async (ref) => {
      const o = objects.get(key(ref));
      return o ? withStatus(structuredClone(o)) : undefined;
    },
    list: async (apiVersion, kind, opts) => {
      const [lk, lv] = (opts?.labelSelector ?? '=').split('=');
      return [...objects.values()].filter(
        (o) => o.apiVersion === apiVersion && o.kind === kind && (opts?.namespace === undefined || o.metadata.namespace === opts.namespace) && (!lk || o.metadata.labels?.[lk] === lv),
      );
    },
    delete: async (ref) => objects.delete(key(ref)),
    create: async (o, opts) => {
      if (objects.has(key(o))) throw new Error(`${key(o)} already exists`);
      return opts?.dryRun ? o : store(o);
    },
  };
}

const values = (doc: ValuesInput = {}) => resolveValues(doc, 'test');
const secretOf = (c: { objects: Map<string, KubeObject> }, name: string): KubeObject | undefined => [...c.objects.values()].find((o) => o.kind === 'Secret' && o.metadata.name === name);
const tokenOf = (s: KubeObject): string => Buffer.from((s['data'] as Record<string, string>)['token']!, 'base64').toString('utf8');

test('render: the broker mounts the bootstrap token Secret read-only and passes --bootstrap-token-file; like the master key, the Secret is not in the rendered stream', async () => {
  const tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date('2026-01-01T00:00:00Z') });
  for (const doc of [{}, { kbs: { replicas: 3, storage: { postgres: { secretName: 'kbs-pg', key: 'dsn' } } } }] as ValuesInput[]) {
    const objs = renderManifests(values(doc), tls);
    assert.equal(objs.find((o) => o.kind === 'Secret' && o.metadata.name === MASTER), undefined);
    assert.equal(objs.find((o) => o.kind === 'Secret' && o.metadata.name === SECRET), undefined);
    const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kubetee-kbs')!;
    const pod = (d['spec'] as any).template.spec;
    const c = pod.containers[0];
    const i = c.args.indexOf('--bootstrap-token-file');
    assert.ok(i > 0, c.args.join(' '));
    assert.equal(c.args[i + 1], '/etc/kubetee/bootstrap-token/token');
    assert.ok(!c.args.includes('--admin-token-file'));
    assert.deepEqual(c.volumeMounts.find((m: { name: string }) => m.name === 'bootstrap-token'), { name: 'bootstrap-token', mountPath: '/etc/kubetee/bootstrap-token', readOnly: true });
    const vol = pod.volumes.find((v: { name: string }) => v.name === 'bootstrap-token');
    assert.equal(vol.secret.secretName, SECRET);
    assert.deepEqual(vol.secret.items, [{ key: 'token', path: 'token' }]);
    assert.equal(vol.secret.defaultMode & 0o007, 0, 'not world-readable');
  }
  const off = renderManifests(values({ kbs: { enabled: false } }), tls);
  assert.equal(off.find((o) => o.metadata.name === 'kubetee-kbs'), undefined);
});

test('install creates the bootstrap token Secret once (broker-data label, broker format, never printed) and never overwrites it; uninstall keeps it unless --delete-broker-secrets', async () => {
  const cluster = memoryCluster();
  const lines: string[] = [];
  const print = (l: string): void => void lines.push(l);
  const v = values();

  const dry = await install(cluster, v, { dryRun: true, print });
  assert.ok(lines.some((l) => l.includes(`+ Secret/kubetee-system/${SECRET} (create`)), lines.join('\n'));
  assert.equal(secretOf(cluster, SECRET), undefined, 'dry run creates nothing');
  assert.equal(dry.objects.find((o) => o.metadata.name === SECRET), undefined);

  lines.length = 0;
  await install(cluster, v, { print, timeoutMs: 5_000 });
  const secret = secretOf(cluster, SECRET)!;
  assert.ok(secret, 'created');
  assert.equal(secret.metadata.labels?.['kubetee.io/broker-data'], 'true');
  assert.equal(secret.metadata.labels?.['app.kubernetes.io/part-of'], 'kubetee');
  const token = tokenOf(secret);
  assert.ok(isTokenShaped(token), 'the broker token format');
  assert.ok(lines.some((l) => l.startsWith(`Secret/kubetee-system/${SECRET} created`)));
  assert.ok(!lines.join('\n').includes(token), 'the token is never printed');

  // A second install (and one with other values) keeps the token; nothing prunes it.
  lines.length = 0;
  await install(cluster, v, { print, timeoutMs: 5_000 });
  await install(cluster, values({ networkPolicies: { enabled: false } } as ValuesInput), { print, timeoutMs: 5_000 });
  assert.equal(tokenOf(secretOf(cluster, SECRET)!), token);
  assert.ok(!lines.some((l) => l.includes(SECRET)), lines.join('\n'));
  lines.length = 0;
  await install(cluster, v, { dryRun: true, print });
  assert.ok(!lines.some((l) => l.includes(SECRET)), 'dry run does not announce an existing Secret');

  // With the broker disabled install neither creates it nor prunes it.
  const other = memoryCluster();
  await install(other, values({ kbs: { enabled: false } }), { print, timeoutMs: 5_000 });
  assert.equal(secretOf(other, SECRET), undefined);
  await install(cluster, values({ kbs: { enabled: false } }), { print, timeoutMs: 5_000 });
  assert.ok(secretOf(cluster, SECRET), 'not pruned');

  const kept = await uninstall(cluster, v, { print, sleep: async () => undefined, timeoutMs: 1_000 });
  assert.ok(kept.kept.includes(`Secret/kubetee-system/${SECRET}`));
  await uninstall(cluster, v, { print, sleep: async () => undefined, timeoutMs: 1_000, deleteBrokerSecrets: true });
  assert.equal(secretOf(cluster, SECRET), undefined);
  assert.equal(secretOf(cluster, MASTER), undefined);
});
