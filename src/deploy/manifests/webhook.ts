import { TRUST_LABEL } from '../../common/labels.js';
import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import {
  COMPONENTS,
  MUTATE_PATH,
  TRUST_POLICY_CONFIGMAP,
  VALIDATE_PATH,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_TLS_SECRET,
  commonLabels,
  selectorLabels,
} from '../names.js';
import type { WebhookTls } from '../webhook-tls.js';
import { imagePullSecrets, imageRef, restrictedContainerSecurity } from './common.js';

/** Trust levels whose namespaces the webhook intercepts; `standard` namespaces are left alone. */
export const INTERCEPTED_TRUST_LEVELS = ['confidential', 'sandboxed'] as const;

/**
 * Namespaces opted in by the trust label, never kube-system or the install
 * namespace: with `failurePolicy: Fail` a webhook outage must not be able to
 * block the control plane or the webhook's own pods.
 */
export function webhookNamespaceSelector(values: Values): Record<string, unknown> {
  const excluded = [...new Set(['kube-system', values.namespace, ...values.webhook.excludedNamespaces])];
  return {
    matchExpressions: [
      { key: TRUST_LABEL, operator: 'In', values: [...INTERCEPTED_TRUST_LEVELS] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded },
    ],
  };
}

function clientConfig(values: Values, path: string, caBundle: string): Record<string, unknown> {
  if (values.webhook.externalURL) {
    return { url: `${values.webhook.externalURL.replace(/\/$/, '')}${path}`, caBundle };
  }
  return { service: { name: COMPONENTS.webhook, namespace: values.namespace, path, port: 443 }, caBundle };
}

/** Base64 CA bundle the configurations carry: the external one if set, else the generated CA. */
export function webhookCaBundle(values: Values, tls: WebhookTls): string {
  return values.webhook.caBundle ?? Buffer.from(tls.caPem).toString('base64');
}

export function renderWebhookConfigurations(values: Values, tls: WebhookTls): KubeObject[] {
  const caBundle = webhookCaBundle(values, tls);
  const common = {
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: webhookNamespaceSelector(values),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: values.webhook.timeoutSeconds,
  };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: WEBHOOK_CONFIGURATION, labels: commonLabels(COMPONENTS.webhook) },
      webhooks: [{ name: 'pods.mutate.kubetee.io', clientConfig: clientConfig(values, MUTATE_PATH, caBundle), reinvocationPolicy: 'IfNeeded', ...common }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: WEBHOOK_CONFIGURATION, labels: commonLabels(COMPONENTS.webhook) },
      webhooks: [{ name: 'pods.validate.kubetee.io', clientConfig: clientConfig(values, VALIDATE_PATH, caBundle), ...common }],
    },
  ];
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
                readinessProbe: { httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 5 },
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
