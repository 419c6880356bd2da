// Blast radius of the admission webhook: Fail exactly where an unwired pod is
// dangerous (confidential, sandboxed, and unlabelled namespaces when the
// default level is one of those), Ignore for standard namespaces. The
// namespace selectors must put every namespace on exactly the webhook whose
// level the webhook itself would pick, and the webhook must serve every path.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { renderManifests } from '../../src/deploy/render.js';
import { resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import { selectorMatches, type LabelSelector } from '../../src/deploy/doctor/selectors.js';
import { probeWebhook } from '../../src/deploy/doctor/collect.js';
import { runChecks } from '../../src/deploy/doctor/checks.js';
import type { Cluster } from '../../src/deploy/cluster.js';
import { DeployError } from '../../src/deploy/errors.js';
import type { KubeObject } from '../../src/deploy/objects.js';
import { RESOURCES, TRUST_LABEL, TRUST_LEVELS, type TrustLevel } from '../../src/common/labels.js';
import { createAdmissionHandler, namespaceTrustFromLabels, parsePolicy, resolveTrust, type AdmissionPolicy } from '../../src/webhook/index.js';

let tls: WebhookTls;
before(async () => {
  tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date('2026-01-01T00:00:00Z') });
});

interface Hook {
  name: string;
  failurePolicy: 'Fail' | 'Ignore';
  namespaceSelector: LabelSelector;
  clientConfig: { service?: { path: string }; url?: string };
  timeoutSeconds: number;
}

function rendered(doc: ValuesInput = {}): { mutating: Hook[]; validating: Hook[]; policy: AdmissionPolicy; objects: KubeObject[] } {
  const objects = renderManifests(resolveValues(doc, 'test'), tls); // schema-validated on the way out
  const hooks = (kind: string): Hook[] => objects.find((o) => o.kind === kind)!['webhooks'] as Hook[];
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubetee-trust-policy')!;
  return { mutating: hooks('MutatingWebhookConfiguration'), validating: hooks('ValidatingWebhookConfiguration'), policy: parsePolicy((cm['data'] as Record<string, string>)['policy.yaml']!, 'rendered'), objects };
}

/** Level the entry's path hands the webhook (`/mutate/<level>`). */
const pathOf = (h: Hook): string => h.clientConfig.service?.path ?? new URL(h.clientConfig.url!).pathname;
const levelOf = (h: Hook): string => pathOf(h).split('/').pop()!;

/** Namespaces as the API server sees them (it adds kubernetes.io/metadata.name itself). */
const NAMESPACES: { name: string; labels: Record<string, string> }[] = [
  { name: 'team', labels: {} },
  { name: 'vault', labels: { [TRUST_LABEL]: 'confidential' } },
  { name: 'ci', labels: { [TRUST_LABEL]: 'sandboxed' } },
  { name: 'web', labels: { [TRUST_LABEL]: 'standard' } },
  { name: 'typo', labels: { [TRUST_LABEL]: 'confidentail' } },
  { name: 'kube-system', labels: {} },
  { name: 'kubetee-system', labels: {} },
  { name: 'ops', labels: {} },
];
const labelsOf = (ns: { name: string; labels: Record<string, string> }): Record<string, string> => ({ ...ns.labels, 'kubernetes.io/metadata.name': ns.name });

for (const defaultTrustLevel of TRUST_LEVELS) {
  for (const standardFailurePolicy of ['Ignore', 'Fail'] as const) {
    test(`default level ${defaultTrustLevel}, standard ${standardFailurePolicy}: every namespace reaches exactly the webhook of its own level, Fail wherever that level is not standard`, () => {
      const { mutating, validating, policy } = rendered({ webhook: { defaultTrustLevel, standardFailurePolicy, excludedNamespaces: ['ops'] } });
      assert.equal(policy.defaultTrustLevel, defaultTrustLevel, 'the trust policy ConfigMap carries the same default');
      for (const config of [mutating, validating]) assert.equal(new Set(config.map((h) => h.name)).size, config.length, 'webhook names are unique');
      for (const ns of NAMESPACES) {
        const labels = labelsOf(ns);
        const m = mutating.filter((h) => selectorMatches(h.namespaceSelector, labels));
        const v = validating.filter((h) => selectorMatches(h.namespaceSelector, labels));
        if (['kube-system', 'kubetee-system', 'ops'].includes(ns.name)) {
          assert.deepEqual([...m, ...v].map((h) => h.name), [], `${ns.name} is never intercepted`);
          continue;
        }
        const trust = resolveTrust(namespaceTrustFromLabels(ns.labels), undefined, policy);
        if (trust.invalidLabel !== undefined) {
          // Always denied, also while the webhook is down. (The default level's NotIn selector
          // matches an unknown value too; that webhook runs as well but cannot change the denial.)
          assert.ok(v.some((h) => h.name === 'invalid-label.validate.kubetee.io' && h.failurePolicy === 'Fail'), `${ns.name}: ${v.map((h) => h.name).join(', ')}`);
          for (const h of [...m, ...v.filter((x) => x.name !== 'invalid-label.validate.kubetee.io')]) assert.equal(levelOf(h), defaultTrustLevel, `${ns.name}: ${h.name}`);
          continue;
        }
        assert.equal(m.length, 1, `${ns.name}: one mutating webhook, got ${m.map((h) => h.name).join(', ')}`);
        assert.equal(v.length, 1, `${ns.name}: one validating webhook, got ${v.map((h) => h.name).join(', ')}`);
        for (const h of [m[0]!, v[0]!]) {
          assert.equal(levelOf(h), trust.namespaceLevel, `${ns.name} (${JSON.stringify(ns.labels)}) -> ${h.name}`);
          assert.equal(h.name.split('.')[0], trust.namespaceLevel);
          const want = trust.namespaceLevel === 'standard' ? standardFailurePolicy : 'Fail';
          assert.equal(h.failurePolicy, want, `${ns.name}: ${h.name} failurePolicy`);
        }
      }
    });
  }
}

test('defaults: confidential and sandboxed fail closed, standard (labelled or not) fails open', () => {
  const { mutating, validating } = rendered();
  const policies = Object.fromEntries([...mutating, ...validating].map((h) => [h.name, h.failurePolicy]));
  assert.deepEqual(policies, {
    'confidential.mutate.kubetee.io': 'Fail',
    'sandboxed.mutate.kubetee.io': 'Fail',
    'standard.mutate.kubetee.io': 'Ignore',
    'confidential.validate.kubetee.io': 'Fail',
    'sandboxed.validate.kubetee.io': 'Fail',
    'standard.validate.kubetee.io': 'Ignore',
    'invalid-label.validate.kubetee.io': 'Fail',
  });
  // Unlabelled namespaces land on the standard webhook, so they fail open too.
  const unlabelled = { 'kubernetes.io/metadata.name': 'default' };
  assert.deepEqual(mutating.filter((h) => selectorMatches(h.namespaceSelector, unlabelled)).map((h) => h.failurePolicy), ['Ignore']);
  // With a non-standard default, unlabelled namespaces fail closed.
  const strict = rendered({ webhook: { defaultTrustLevel: 'sandboxed' } });
  assert.deepEqual(strict.mutating.filter((h) => selectorMatches(h.namespaceSelector, unlabelled)).map((h) => [h.name, h.failurePolicy]), [['sandboxed.mutate.kubetee.io', 'Fail']]);
});

test('values: defaultTrustLevel and standardFailurePolicy are validated', () => {
  assert.throws(() => resolveValues({ webhook: { defaultTrustLevel: 'trusted' } }, 'v'), (err: unknown) => err instanceof DeployError && err.code === 'VALUES_INVALID' && /webhook\.defaultTrustLevel/.test(err.message));
  assert.throws(() => resolveValues({ webhook: { standardFailurePolicy: 'ignore' } }, 'v'), (err: unknown) => err instanceof DeployError && /webhook\.standardFailurePolicy/.test(err.message));
  const v = resolveValues({}, 'v');
  assert.equal(v.webhook.defaultTrustLevel, 'standard');
  assert.equal(v.webhook.standardFailurePolicy, 'Ignore');
});

test('the webhook serves the path of every entry (a 404 would be a failed call: refused in Fail namespaces)', async () => {
  for (const defaultTrustLevel of TRUST_LEVELS) {
    const { mutating, validating, policy } = rendered({ webhook: { defaultTrustLevel } });
    const handler = createAdmissionHandler({ policy, profile: 'alibaba' });
    const app = Fastify();
    await app.register(handler.plugin);
    for (const h of [...mutating, ...validating]) {
      const uid = randomUUID();
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid,
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          namespace: 'team',
          operation: 'CREATE',
          userInfo: { username: 'test' },
          object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team' }, spec: { containers: [{ name: 'c', image: 'example.com/c:1' }] } },
          dryRun: false,
        },
      };
      const r = await app.inject({ method: 'POST', url: pathOf(h), payload: review });
      assert.equal(r.statusCode, 200, `${h.name} -> ${pathOf(h)}: ${r.body}`);
      const body = r.json() as { response: { uid: string; allowed: boolean } };
      assert.equal(body.response.uid, uid);
    }
    await app.close();
  }
});

test('broker NetworkPolicy follows the default level: unlabelled namespaces are clients only when they are sandboxed or confidential', () => {
  const peers = (doc: ValuesInput): unknown[] => {
    const np = rendered(doc).objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'kubetee-kbs')!;
    return (np['spec'] as { ingress: { from: unknown[] }[] }).ingress[0]!.from;
  };
  const labelled = { namespaceSelector: { matchExpressions: [{ key: TRUST_LABEL, operator: 'In', values: ['confidential', 'sandboxed'] }] } };
  const unlabelled = { namespaceSelector: { matchExpressions: [{ key: TRUST_LABEL, operator: 'DoesNotExist' }] } };
  assert.deepEqual(peers({}), [labelled]);
  assert.deepEqual(peers({ webhook: { defaultTrustLevel: 'sandboxed' } }), [labelled, unlabelled]);
  assert.deepEqual(peers({ webhook: { defaultTrustLevel: 'confidential' } }), [labelled, unlabelled]);
});

/** A Cluster whose dry-run pod creation answers like the API server would with the webhook up or down. */
function fakeCluster(webhookUp: boolean, created: KubeObject[]): Cluster {
  const fail = (message: string): never => {
    throw new DeployError('APPLY_FAILED', message, { cause: new Error(message) });
  };
  return {
    server: 'https://fake',
    context: 'fake',
    apply: async (o) => o,
    get: async () => undefined,
    list: async () => [],
    delete: async () => false,
    create: async (obj) => {
      created.push(obj);
      const ns = obj.metadata.namespace!;
      const level = ns === 'vault' ? 'confidential' : 'standard';
      const requestsEpc = JSON.stringify(obj['spec']).includes(RESOURCES.alibaba.epc);
      if (!webhookUp) {
        if (level === 'confidential') fail(`Internal error occurred: failed calling webhook "confidential.mutate.kubetee.io": connect: connection refused`);
        return obj; // standard: failurePolicy Ignore admits
      }
      if (level === 'confidential') fail('admission webhook "confidential.validate.kubetee.io" denied the request: [confidential.requires-epc]');
      if (requestsEpc) fail('admission webhook "standard.validate.kubetee.io" denied the request: [global.epc-outside-confidential]');
      return obj;
    },
  };
}

test('doctor probes where a failed call is visible: a Fail namespace first, else an EPC pod in a standard one', async () => {
  const { objects } = rendered();
  const mutating = objects.filter((o) => o.kind === 'MutatingWebhookConfiguration');
  const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } });
  const withVault = [ns('default'), ns('kube-system'), ns('vault', { [TRUST_LABEL]: 'confidential' })];
  const onlyStandard = [ns('default'), ns('kube-system')];

  const sent: KubeObject[] = [];
  assert.deepEqual(await probeWebhook(fakeCluster(true, sent), withVault, mutating), { status: 'ok', namespace: 'vault' });
  const down = await probeWebhook(fakeCluster(false, sent), withVault, mutating);
  assert.equal(down.status, 'failed');
  assert.equal(sent.at(-1)!.metadata.namespace, 'vault');

  // Only standard (Ignore) namespaces: the probe asks for EPC, which the webhook denies when it is reached.
  assert.deepEqual(await probeWebhook(fakeCluster(true, sent), onlyStandard, mutating), { status: 'ok', namespace: 'default' });
  assert.match(JSON.stringify(sent.at(-1)!['spec']), /alibabacloud\.com\/sgx_epc_MiB/);
  const open = await probeWebhook(fakeCluster(false, sent), onlyStandard, mutating);
  assert.equal(open.status, 'failed');
  assert.match((open as { message: string }).message, /was admitted.*failurePolicy Ignore/);

  // Doctor turns the admitted EPC probe into a blocking finding.
  const f = runChecks({
    namespace: 'kubetee-system',
    namespaceExists: true,
    nodes: [],
    pods: [],
    daemonSets: [],
    deployments: [],
    mutatingWebhooks: mutating,
    validatingWebhooks: objects.filter((o) => o.kind === 'ValidatingWebhookConfiguration'),
    webhookTlsSecret: undefined,
    runtimeClasses: [],
    webhookProbe: open,
    kbsProbe: { status: 'skipped' },
    now: new Date('2026-06-01T00:00:00Z'),
  });
  assert.ok(f.some((x) => x.code === 'WEBHOOK_UNREACHABLE' && x.severity === 'error'));
  assert.ok(!f.some((x) => x.code === 'WEBHOOK_FAIL_OPEN'), 'the standard webhooks fail open by design');
});

test('doctor still warns when a confidential or sandboxed webhook was switched to Ignore', () => {
  const { objects } = rendered();
  const validating = objects.filter((o) => o.kind === 'ValidatingWebhookConfiguration').map((c) => ({ ...c, webhooks: (c['webhooks'] as Hook[]).map((w) => (w.name.startsWith('sandboxed.') ? { ...w, failurePolicy: 'Ignore' } : w)) }));
  const f = runChecks({
    namespace: 'kubetee-system',
    namespaceExists: true,
    nodes: [],
    pods: [],
    daemonSets: [],
    deployments: [],
    mutatingWebhooks: objects.filter((o) => o.kind === 'MutatingWebhookConfiguration'),
    validatingWebhooks: validating,
    webhookTlsSecret: undefined,
    runtimeClasses: [],
    webhookProbe: { status: 'ok', namespace: 'vault' },
    kbsProbe: { status: 'skipped' },
    now: new Date('2026-06-01T00:00:00Z'),
  });
  assert.deepEqual(f.filter((x) => x.code === 'WEBHOOK_FAIL_OPEN').map((x) => x.message.split(' has ')[0]), ['ValidatingWebhookConfiguration webhook sandboxed.validate.kubetee.io']);
});

// Keep the level list and the rendered entries in step.
test('one mutating and one validating webhook per trust level, plus invalid-label', () => {
  const { mutating, validating } = rendered();
  assert.deepEqual(mutating.map(levelOf), [...TRUST_LEVELS]);
  assert.deepEqual(validating.map(levelOf), [...TRUST_LEVELS, 'invalid-label'] as (TrustLevel | 'invalid-label')[]);
});
