// The rendered NetworkPolicies, evaluated with the Kubernetes semantics
// (a pod selected by any Ingress policy accepts only what some rule allows;
// a peer's namespaceSelector and podSelector are ANDed; a peer without a
// namespaceSelector means the policy's own namespace), so the tests say who
// can reach which port rather than how the YAML looks.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderManifests } from '../../src/deploy/render.js';
import { resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import { selectorMatches, type LabelSelector } from '../../src/deploy/doctor/selectors.js';
import { DeployError } from '../../src/deploy/errors.js';
import type { KubeObject } from '../../src/deploy/objects.js';
import { TRUST_LABEL } from '../../src/common/labels.js';
import { NODE_AGENT_FACTS } from '../../src/node/manifests.js';

let tls: WebhookTls;
before(async () => {
  tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date('2026-01-01T00:00:00Z') });
});
const render = (doc: ValuesInput = {}): KubeObject[] => renderManifests(resolveValues(doc, 'test'), tls);

interface Peer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
}
interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes: string[];
  ingress?: { from?: Peer[]; ports?: { protocol: string; port: number }[] }[];
}
interface Endpoint {
  namespace: string;
  namespaceLabels?: Record<string, string>;
  podLabels: Record<string, string>;
}

const nsLabels = (e: Endpoint): Record<string, string> => ({ ...e.namespaceLabels, 'kubernetes.io/metadata.name': e.namespace });

/** Whether `source` may open a TCP connection to `port` of the pod `target`. */
function allowed(objects: KubeObject[], target: Endpoint, source: Endpoint, port: number): boolean {
  const selecting = objects
    .filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === target.namespace)
    .map((o) => ({ ns: o.metadata.namespace!, spec: o['spec'] as PolicySpec }))
    .filter((p) => p.spec.policyTypes.includes('Ingress') && selectorMatches(p.spec.podSelector, target.podLabels));
  if (selecting.length === 0) return true;
  const peerMatches = (policyNs: string, peer: Peer): boolean => {
    if (peer.namespaceSelector ? !selectorMatches(peer.namespaceSelector, nsLabels(source)) : source.namespace !== policyNs) return false;
    return peer.podSelector ? selectorMatches(peer.podSelector, source.podLabels) : true;
  };
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some((rule) => (!rule.ports || rule.ports.some((x) => x.protocol === 'TCP' && x.port === port)) && (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(p.ns, peer)))),
  );
}

const pod = (component: string): Endpoint => ({ namespace: 'kubetee-system', podLabels: { 'app.kubernetes.io/name': component, 'app.kubernetes.io/part-of': 'kubetee', 'app.kubernetes.io/managed-by': 'kubetee-install' } });
const AGENT = pod('kubetee-node-agent');
const WEBHOOK = pod('kubetee-webhook');
const KBS = pod('kubetee-kbs');
const AESM = pod('kubetee-aesm');
const PROMETHEUS: Endpoint = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
const GRAFANA: Endpoint = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'grafana' } };
const FAKE_PROMETHEUS: Endpoint = { namespace: 'team', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
const ENCLAVE: Endpoint = { namespace: 'vault', namespaceLabels: { [TRUST_LABEL]: 'confidential' }, podLabels: { app: 'kms' } };
const WEB: Endpoint = { namespace: 'web', podLabels: { app: 'shop' } };
const METRICS_FROM = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
};
const AGENT_METRICS = NODE_AGENT_FACTS.metricsPort;

/** The container port of `component` named `portName` in the rendered workload (guards against drift). */
function containerPort(objects: KubeObject[], component: string, portName: string): number {
  const w = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && o.metadata.name === component)!;
  const c = (w['spec'] as { template: { spec: { containers: { ports?: { name: string; containerPort: number }[] }[] } } }).template.spec.containers[0]!;
  return c.ports!.find((p) => p.name === portName)!.containerPort;
}

test('default: metrics stay closed to the monitoring stack (node agent, broker); the webhook port is open to all', () => {
  const objs = render();
  assert.equal(objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'kubetee-node-agent'), undefined, 'no opening unless asked for');
  assert.equal(allowed(objs, AGENT, PROMETHEUS, AGENT_METRICS), false);
  assert.equal(allowed(objs, KBS, PROMETHEUS, 8080), false);
  assert.equal(allowed(objs, WEBHOOK, PROMETHEUS, 8443), true, 'the API server must reach it from anywhere');
  assert.equal(allowed(objs, KBS, ENCLAVE, 8080), true);
  assert.equal(allowed(objs, KBS, WEB, 8080), false);
});

test('networkPolicies.metricsFrom opens exactly the metrics ports to exactly those pods', () => {
  const objs = render({ networkPolicies: { metricsFrom: METRICS_FROM } });
  assert.equal(AGENT_METRICS, 9756);
  assert.equal(containerPort(objs, 'kubetee-node-agent', 'metrics'), AGENT_METRICS);
  assert.equal(containerPort(objs, 'kubetee-kbs', 'http'), 8080);
  assert.equal(containerPort(objs, 'kubetee-webhook', 'https'), 8443);
  // Prometheus reaches every metrics endpoint ...
  assert.equal(allowed(objs, AGENT, PROMETHEUS, AGENT_METRICS), true);
  assert.equal(allowed(objs, KBS, PROMETHEUS, 8080), true);
  assert.equal(allowed(objs, WEBHOOK, PROMETHEUS, 8443), true);
  // ... and nothing else: other ports, AESM, other pods of its namespace, look-alikes elsewhere.
  assert.equal(allowed(objs, AGENT, PROMETHEUS, 8080), false);
  assert.equal(allowed(objs, KBS, PROMETHEUS, AGENT_METRICS), false);
  for (const port of [AGENT_METRICS, 8080, 8443]) assert.equal(allowed(objs, AESM, PROMETHEUS, port), false, `AESM :${port}`);
  assert.equal(allowed(objs, AGENT, GRAFANA, AGENT_METRICS), false);
  assert.equal(allowed(objs, KBS, GRAFANA, 8080), false);
  assert.equal(allowed(objs, AGENT, FAKE_PROMETHEUS, AGENT_METRICS), false);
  assert.equal(allowed(objs, AGENT, ENCLAVE, AGENT_METRICS), false);
  // The broker's clients are unchanged.
  assert.equal(allowed(objs, KBS, ENCLAVE, 8080), true);
  assert.equal(allowed(objs, KBS, WEB, 8080), false);
});

test('metricsFrom follows custom ports and disabled components', () => {
  const objs = render({ kbs: { port: 9090 }, networkPolicies: { metricsFrom: METRICS_FROM } });
  assert.equal(allowed(objs, KBS, PROMETHEUS, 9090), true);
  assert.equal(allowed(objs, KBS, PROMETHEUS, 8080), false);
  const noAgent = render({ nodeAgent: { enabled: false }, kbs: { enabled: false }, networkPolicies: { metricsFrom: METRICS_FROM } });
  assert.deepEqual(noAgent.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name), ['kubetee-default-deny-ingress', 'kubetee-webhook']);
  assert.equal(render({ networkPolicies: { enabled: false, metricsFrom: METRICS_FROM } }).filter((o) => o.kind === 'NetworkPolicy').length, 0);
});

test('a namespaceSelector alone admits every pod of those namespaces; a podSelector alone only pods of the install namespace', () => {
  const nsOnly = render({ networkPolicies: { metricsFrom: { namespaceSelector: METRICS_FROM.namespaceSelector } } });
  assert.equal(allowed(nsOnly, AGENT, GRAFANA, AGENT_METRICS), true);
  assert.equal(allowed(nsOnly, AGENT, FAKE_PROMETHEUS, AGENT_METRICS), false);
  const podOnly = render({ networkPolicies: { metricsFrom: { podSelector: METRICS_FROM.podSelector } } });
  assert.equal(allowed(podOnly, AGENT, PROMETHEUS, AGENT_METRICS), false, 'NetworkPolicy semantics: same namespace only');
  assert.equal(allowed(podOnly, AGENT, { namespace: 'kubetee-system', podLabels: { 'app.kubernetes.io/name': 'prometheus' } }, AGENT_METRICS), true);
  const expr = render({ networkPolicies: { metricsFrom: { namespaceSelector: { matchExpressions: [{ key: 'monitoring', operator: 'Exists' }] } } } });
  assert.equal(allowed(expr, AGENT, { ...PROMETHEUS, namespaceLabels: { monitoring: 'true' } }, AGENT_METRICS), true);
});

test('metricsFrom is schema-validated with its path', () => {
  const invalid = (metricsFrom: unknown, pattern: RegExp): void => {
    assert.throws(
      () => resolveValues({ networkPolicies: { metricsFrom } }, 'values.yaml'),
      (err: unknown) => err instanceof DeployError && err.code === 'VALUES_INVALID' && pattern.test(err.message),
      JSON.stringify(metricsFrom),
    );
  };
  invalid({}, /networkPolicies\.metricsFrom: give a namespaceSelector and\/or a podSelector/);
  invalid({ namespaceSelector: { matchLabel: { a: 'b' } } }, /networkPolicies\.metricsFrom\.namespaceSelector/);
  invalid({ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }, /matchExpressions\.0\.values: operator In needs at least one value/);
  invalid({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }, /operator Exists takes no values/);
  invalid({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] } }, /operator/);
  invalid({ namespaceSelector: { matchLabels: { 'bad key!': 'x' } } }, /must be a label key/);
  invalid({ namespaceSelector: { matchLabels: { team: 'not a value' } } }, /must be a label value/);
  invalid({ ipBlock: { cidr: '10.0.0.0/8' } }, /ipBlock|Unrecognized key/);
  const v = resolveValues({ networkPolicies: { metricsFrom: METRICS_FROM } }, 'v');
  assert.deepEqual(v.networkPolicies.metricsFrom, METRICS_FROM);
  assert.equal(resolveValues({}, 'v').networkPolicies.metricsFrom, undefined, 'default: none');
});
