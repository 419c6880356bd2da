import { DEFAULT_EXCLUDED_NAMESPACES, buildWebhookConfigurations } from '../../webhook/webhook-configurations.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { trustPolicyFor } from './trust-policy.js';
import {
  COMPONENTS,
  TRUST_POLICY_CONFIGMAP,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_TLS_SECRET,
  commonLabels,
  selectorLabels,
} from '../names.js';
import type { WebhookTls } from '../webhook-tls.js';
import { imagePullSecrets, imageRef, restrictedContainerSecurity } from './common.js';

/** Namespaces the webhook never sees: the control plane's and the install namespace (the webhook's own pods). */
export function excludedNamespaces(values: Values): string[] {
  return [...new Set([...DEFAULT_EXCLUDED_NAMESPACES, values.namespace, ...values.webhook.excludedNamespaces])];
}

/** Base64 CA bundle the configurations carry: the external one if set, else the generated CA. */
export function webhookCaBundle(values: Values, tls: WebhookTls): string {
  return values.webhook.caBundle ?? Buffer.from(tls.caPem).toString('base64');
}

/**
 * The webhook component's own configurations, pointed at the in-cluster
 * Service or at webhook.externalURL, labelled as part of kubetee. One webhook
 * per trust level (names and paths differ: `<level>.mutate.kubetee.io` ->
 * `/mutate/<level>`), selected by the namespace's kubetee.io/trust label; the
 * default level's webhook also gets unlabelled namespaces. The server takes
 * the level from the path, so the selectors alone decide a namespace's level.
 *
 * Failure policy follows the blast radius: confidential, sandboxed (and the
 * invalid-label webhook, which only ever denies) are Fail, so a pod there is
 * refused rather than started unwired while the webhook is down; standard is
 * `webhook.standardFailurePolicy` (Ignore by default), so a webhook outage
 * never blocks pod creation in the rest of the cluster.
 */
export function renderWebhookConfigurations(values: Values, tls: WebhookTls): KubeObject[] {
  const target = values.webhook.externalURL ? { url: values.webhook.externalURL } : { service: { namespace: values.namespace, name: COMPONENTS.webhook, port: 443 } };
  const { mutating, validating } = buildWebhookConfigurations({
    target,
    caBundlePem: Buffer.from(webhookCaBundle(values, tls), 'base64').toString('utf8'),
    name: WEBHOOK_CONFIGURATION,
    policy: trustPolicyFor(values),
    timeoutSeconds: values.webhook.timeoutSeconds,
    excludeNamespaces: excludedNamespaces(values),
    standardFailurePolicy: values.webhook.standardFailurePolicy,
  });
  return [mutating, validating].map((c) => {
    const obj = JSON.parse(JSON.stringify(c)) as KubeObject;
    obj.metadata.labels = { ...obj.metadata.labels, ...commonLabels(COMPONENTS.webhook) };
    return obj;
  });
}

/**
 * Webhook Deployment (2 replicas by default, spread across nodes, a PDB so a
 * drain never takes both), its Service and serving-certificate Secret.
 */
export function renderWebhook(values: Values, tls: WebhookTls): KubeObject[] {
  const name = COMPONENTS.webhook;
  const replicas = values.webhook.replicas;
  const port = values.webhook.port;
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: WEBHOOK_TLS_SECRET, namespace: values.namespace, labels: commonLabels(name) },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': tls.certPem, 'tls.key': tls.keyPem, 'ca.crt': tls.caPem },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      spec: { selector: selectorLabels(name), ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      spec: {
        replicas,
        selector: { matchLabels: selectorLabels(name) },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: commonLabels(name) },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            priorityClassName: 'system-cluster-critical',
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(name) } } },
                ],
              },
            },
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'webhook',
                image: imageRef(values.image),
                imagePullPolicy: values.image.pullPolicy,
                args: ['webhook', 'serve', '--listen', `0.0.0.0:${port}`, '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--policy', '/policy/policy.yaml', '--profile', values.profile],
                ports: [{ name: 'https', containerPort: port, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 20, failureThreshold: 3 },
                resources: values.webhook.resources,
                securityContext: restrictedContainerSecurity(),
                volumeMounts: [
                  { name: 'tls', mountPath: '/tls', readOnly: true },
                  { name: 'policy', mountPath: '/policy', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName: WEBHOOK_TLS_SECRET } },
              { name: 'policy', configMap: { name: TRUST_POLICY_CONFIGMAP } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      // With one replica a minAvailable of 1 would block every node drain.
      spec: { selector: { matchLabels: selectorLabels(name) }, ...(replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }) },
    },
  ];
}
