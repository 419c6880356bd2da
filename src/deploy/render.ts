import { stringify } from 'yaml';
import type { Values } from './values.js';
import type { KubeObject } from './objects.js';
import type { WebhookTls } from './webhook-tls.js';
import { renderNamespace } from './manifests/namespace.js';
import { renderRbac } from './manifests/rbac.js';
import { renderNodeAgent } from './manifests/node-agent.js';
import { renderAesm } from './manifests/aesm.js';
import { renderWebhook, renderWebhookConfigurations } from './manifests/webhook.js';
import { renderKbs } from './manifests/kbs.js';
import { renderRuntimeClasses } from './manifests/runtime-classes.js';
import { renderNetworkPolicies } from './manifests/network-policies.js';
import { renderTrustPolicy } from './manifests/trust-policy.js';
import { validateObjects } from './validate-objects.js';

/**
 * Every object kubetee installs, in apply order: namespace and identities
 * first, workloads next, webhook configurations last so the webhook is
 * serving before the API server starts calling it. Pure: TLS material is
 * passed in. Every object is schema-validated before it is returned.
 */
export function renderManifests(values: Values, tls: WebhookTls): KubeObject[] {
  const objects: KubeObject[] = [
    renderNamespace(values),
    ...renderRbac(values),
    renderTrustPolicy(values),
    ...renderNodeAgent(values),
    ...renderAesm(values),
    ...renderWebhook(values, tls),
    ...renderKbs(values),
    ...renderRuntimeClasses(values),
    ...renderNetworkPolicies(values),
    ...renderWebhookConfigurations(values, tls),
  ];
  validateObjects(objects);
  return objects;
}

/** One YAML stream, documents separated by `---`. */
export function toYamlStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
