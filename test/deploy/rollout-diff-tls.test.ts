import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rolloutState, waitForRollouts } from '../../src/deploy/rollout.js';
import { describeChange, lineDiff } from '../../src/deploy/diff.js';
import { generateWebhookTls, tlsProblems } from '../../src/deploy/webhook-tls.js';
import { DeployError } from '../../src/deploy/errors.js';
import type { Cluster } from '../../src/deploy/cluster.js';
import type { KubeObject } from '../../src/deploy/objects.js';

const deployment = (replicas: number, status: Record<string, unknown>, generation = 1): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'w', namespace: 'n', generation },
  spec: { replicas },
  status: { observedGeneration: 1, ...status },
});

test('rollout state follows kubectl rollout status', () => {
  assert.equal(rolloutState(deployment(2, {}, 2)).message, 'waiting for the controller to observe the new spec');
  assert.deepEqual(rolloutState(deployment(2, { updatedReplicas: 1, replicas: 2, availableReplicas: 1 })), { done: false, message: '1 of 2 replicas updated' });
  assert.deepEqual(rolloutState(deployment(2, { updatedReplicas: 2, replicas: 3, availableReplicas: 2 })), { done: false, message: '1 old replicas pending termination' });
  assert.deepEqual(rolloutState(deployment(2, { updatedReplicas: 2, replicas: 2, availableReplicas: 1 })), { done: false, message: '1 of 2 replicas available' });
  assert.equal(rolloutState(deployment(2, { updatedReplicas: 2, replicas: 2, availableReplicas: 2 })).done, true);
  assert.match(rolloutState(deployment(2, { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet has timed out' }] })).message, /stuck: ReplicaSet has timed out/);
  const ds = (status: Record<string, number>): KubeObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd', generation: 1 }, status: { observedGeneration: 1, ...status } });
  assert.deepEqual(rolloutState(ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 })), { done: false, message: '2 of 3 nodes available' });
  assert.deepEqual(rolloutState(ds({ desiredNumberScheduled: 0 })), { done: true, message: 'no matching nodes yet' });
});

/** A cluster whose Deployment becomes available after `readyAfter` reads (logic test of the wait loop). */
function scriptedCluster(readyAfter: number): Cluster {
  let reads = 0;
  return {
    server: 'test',
    context: 'test',
    get: async () => (++reads >= readyAfter ? deployment(1, { updatedReplicas: 1, replicas: 1, availableReplicas: 1 }) : deployment(1, { updatedReplicas: 1, replicas: 1, availableReplicas: 0 })),
    apply: async (o) => o,
    list: async () => [],
    delete: async () => true,
    create: async (o) => o,
  };
}

test('waitForRollouts reports progress once per change and returns when done', async () => {
  const lines: string[] = [];
  await waitForRollouts(scriptedCluster(3), [deployment(1, {})], { timeoutMs: 10_000, sleep: async () => {}, onProgress: (ref, s) => lines.push(`${ref}: ${s.message}${s.done ? ' done' : ''}`) });
  assert.deepEqual(lines, ['Deployment/n/w: 0 of 1 replicas available', 'Deployment/n/w: 1 of 1 replicas available done']);
});

test('waitForRollouts times out with ROLLOUT_TIMEOUT naming what was pending', async () => {
  let t = 0;
  await assert.rejects(
    waitForRollouts(scriptedCluster(Number.POSITIVE_INFINITY), [deployment(1, {})], { timeoutMs: 5_000, now: () => t, sleep: async (ms) => void (t += ms) }),
    (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_TIMEOUT' && /Deployment\/n\/w: 0 of 1 replicas available/.test(err.message),
  );
});

test('line diff and change classification; Secret payloads never appear', () => {
  assert.equal(lineDiff('a\nb\nc', 'a\nb\nc'), '');
  assert.equal(lineDiff('a\nb\nc', 'a\nx\nc'), '  a\n- b\n+ x\n  c');
  const cm = (v: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: v, managedFields: [{}] }, data: { k: 'v' } });
  assert.equal(describeChange(cm('1'), cm('2')).change, 'unchanged', 'server-managed metadata is ignored');
  assert.equal(describeChange(undefined, cm('1')).change, 'create');
  const changed = describeChange(cm('1'), { ...cm('2'), data: { k: 'w' } });
  assert.equal(changed.change, 'update');
  assert.match(changed.diff, /- {3}k: v\n\+ {3}k: w/);
  const secret = (v: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { 'tls.key': v } });
  const d = describeChange(undefined, secret('-----BEGIN PRIVATE KEY-----abc'));
  assert.doesNotMatch(d.diff, /PRIVATE KEY/);
  assert.match(d.diff, /tls\.key: \(\d+ bytes, hash [0-9a-f]{8}\)/);
});

test('webhook TLS: a fresh pair is valid; wrong CA, expiry and missing names are reported', async () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const a = await generateWebhookTls({ dnsNames: ['svc.ns.svc'], ipAddresses: ['127.0.0.1'], now });
  assert.deepEqual(tlsProblems(a.caPem, a.certPem, { dnsNames: ['svc.ns.svc'], ipAddresses: ['127.0.0.1'], now }), []);
  const b = await generateWebhookTls({ dnsNames: ['svc.ns.svc'], now });
  assert.match(tlsProblems(b.caPem, a.certPem, { now }).join(), /was not signed by the CA bundle/);
  assert.match(tlsProblems(a.caPem, a.certPem, { now: new Date('2027-03-02T00:00:00Z') }).join(), /serving certificate expired/);
  assert.match(tlsProblems(a.caPem, a.certPem, { now: new Date('2027-02-15T00:00:00Z'), minRemainingDays: 30 }).join(), /in less than 30 days/);
  assert.match(tlsProblems(a.caPem, a.certPem, { dnsNames: ['other.ns.svc'], now }).join(), /does not cover the DNS name other\.ns\.svc/);
  assert.deepEqual(tlsProblems('junk', a.certPem, { now }), ['the CA bundle is not a PEM certificate']);
});

test('every rendered object can be diffed (shared sub-objects never become YAML aliases)', async () => {
  const { renderManifests } = await import('../../src/deploy/render.js');
  const { resolveValues } = await import('../../src/deploy/values.js');
  const tls = await generateWebhookTls({ dnsNames: ['a'], now: new Date() });
  for (const obj of renderManifests(resolveValues({}, 'test'), tls)) {
    const { change, diff } = describeChange(obj, obj);
    assert.equal(change, 'unchanged', obj.metadata.name);
    assert.equal(describeChange(undefined, obj).change, 'create');
    assert.equal(diff, '');
  }
});
