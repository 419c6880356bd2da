import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { buildWebhookConfigurations, namespaceSelectorFor } from '../../src/webhook/webhook-configurations.js';
import { validatePolicy } from '../../src/webhook/policy/load-policy.js';

/** Label-selector semantics (In/NotIn/Exists; NotIn matches a missing label), to check which webhook a namespace reaches. */
function matches(selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string>): boolean {
  return selector.matchExpressions.every((e) => {
    const v = labels[e.key];
    if (e.operator === 'In') return v !== undefined && e.values!.includes(v);
    if (e.operator === 'NotIn') return v === undefined || !e.values!.includes(v);
    if (e.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });
}

test('every namespace reaches exactly the webhook of its effective level (and unknown labels reach the denying one)', () => {
  for (const defaultTrustLevel of ['standard', 'sandboxed', 'confidential'] as const) {
    const policy = validatePolicy({ apiVersion: 'policy.kubetee.io/v1', kind: 'AdmissionPolicy', defaultTrustLevel });
    const { mutating, validating } = buildWebhookConfigurations({ target: { url: 'https://10.0.0.5:8443/' }, policy });
    new MutatingWebhookConfiguration(mutating as never).validate();
    new ValidatingWebhookConfiguration(validating as never).validate();
    const namespaces: [Record<string, string>, string[]][] = [
      [{ 'kubernetes.io/metadata.name': 'team' }, [defaultTrustLevel]],
      [{ 'kubernetes.io/metadata.name': 'vault', 'kubetee.io/trust': 'confidential' }, ['confidential']],
      [{ 'kubernetes.io/metadata.name': 'ci', 'kubetee.io/trust': 'sandboxed' }, ['sandboxed']],
      [{ 'kubernetes.io/metadata.name': 'web', 'kubetee.io/trust': 'standard' }, ['standard']],
      [{ 'kubernetes.io/metadata.name': 'kube-system', 'kubetee.io/trust': 'confidential' }, []],
    ];
    for (const [labels, want] of namespaces) {
      const hit = (hooks: { name: string; namespaceSelector: never }[]) => hooks.filter((w) => matches(w.namespaceSelector, labels)).map((w) => w.name.split('.')[0]);
      assert.deepEqual(hit(mutating['webhooks']), want, `mutating, default ${defaultTrustLevel}, ${JSON.stringify(labels)}`);
      assert.deepEqual(hit(validating['webhooks']), want, `validating, default ${defaultTrustLevel}, ${JSON.stringify(labels)}`);
    }
    const typo = { 'kubernetes.io/metadata.name': 'oops', 'kubetee.io/trust': 'confidental' };
    assert.ok(validating['webhooks'].some((w: { name: string; namespaceSelector: never }) => w.name === 'invalid-label.validate.kubetee.io' && matches(w.namespaceSelector, typo)));
  }
  const { mutating } = buildWebhookConfigurations({ target: { url: 'https://10.0.0.5:8443/' } });
  assert.equal(mutating['webhooks'][0].clientConfig.url, 'https://10.0.0.5:8443/mutate/confidential');
  assert.equal(mutating['webhooks'][0].clientConfig.caBundle, undefined, 'left for a CA injector when no bundle is given');
});

test('options: standard failure policy, timeouts and exclusions', () => {
  const { validating } = buildWebhookConfigurations({ target: { service: { namespace: 'kt', name: 'wh', port: 9443 } }, standardFailurePolicy: 'Ignore', timeoutSeconds: 10, excludeNamespaces: ['infra'] });
  const byName = Object.fromEntries(validating['webhooks'].map((w: { name: string }) => [w.name, w]));
  assert.equal(byName['standard.validate.kubetee.io'].failurePolicy, 'Ignore');
  assert.equal(byName['confidential.validate.kubetee.io'].failurePolicy, 'Fail', 'confidential is always Fail');
  assert.equal(byName['sandboxed.validate.kubetee.io'].timeoutSeconds, 10);
  assert.deepEqual(byName['sandboxed.validate.kubetee.io'].clientConfig.service, { namespace: 'kt', name: 'wh', port: 9443, path: '/validate/sandboxed' });
  assert.deepEqual(namespaceSelectorFor('sandboxed', 'standard', ['infra', 'kt']).matchExpressions[1], { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['infra', 'kt'] });
  assert.throws(() => buildWebhookConfigurations({ target: { url: 'https://x' }, timeoutSeconds: 31 }), RangeError);
});
