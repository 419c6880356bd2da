import { TRUST_LABEL, TRUST_LEVELS, type TrustLevel } from '../common/labels.js';
import { INVALID_LABEL_SEGMENT } from './handler.js';
import { DEFAULT_POLICY } from './policy/default-policy.js';
import type { AdmissionPolicy } from './policy/schema.js';

/** Default name of both webhook configuration objects. */
export const WEBHOOK_CONFIGURATION_NAME = 'kubetee-admission';

/** Namespaces never sent to the webhook, so the control plane (and the webhook itself) can always start. */
export const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = Object.freeze(['kube-system', 'kube-public', 'kube-node-lease']);

export type ClientTarget =
  | { service: { namespace: string; name: string; port?: number } }
  /** Base URL such as https://10.0.0.5:8443 (paths are appended). */
  | { url: string };

export interface WebhookConfigurationOptions {
  target: ClientTarget;
  /** PEM of the CA bundle (base64-encoded into caBundle); omit when a CA injector fills it. */
  caBundlePem?: string;
  name?: string;
  /** Its defaultTrustLevel decides which webhook also receives unlabelled namespaces. */
  policy?: AdmissionPolicy;
  /** API server wait per call, 1-30 s (default 5). */
  timeoutSeconds?: number;
  /** Namespaces excluded from every webhook (the webhook's own namespace is added for a service target). */
  excludeNamespaces?: readonly string[];
  /**
   * Failure policy for standard namespaces. Default Fail: the global rules
   * (no SGX outside confidential) hold even when the webhook is down.
   * Confidential and sandboxed namespaces are always Fail.
   */
  standardFailurePolicy?: 'Fail' | 'Ignore';
}

interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/**
 * The namespaceSelector of the webhook for `level`. The default level's
 * webhook uses NotIn so it also receives unlabelled namespaces; the others
 * match their label exactly. Namespaces with an unknown value go to the
 * invalid-label webhook, which denies.
 */
export function namespaceSelectorFor(level: TrustLevel | typeof INVALID_LABEL_SEGMENT, defaultLevel: TrustLevel, excluded: readonly string[]): { matchExpressions: LabelSelectorRequirement[] } {
  const exprs: LabelSelectorRequirement[] = [];
  if (level === INVALID_LABEL_SEGMENT) {
    exprs.push({ key: TRUST_LABEL, operator: 'Exists' }, { key: TRUST_LABEL, operator: 'NotIn', values: [...TRUST_LEVELS] });
  } else if (level === defaultLevel) {
    exprs.push({ key: TRUST_LABEL, operator: 'NotIn', values: TRUST_LEVELS.filter((l) => l !== level) });
  } else {
    exprs.push({ key: TRUST_LABEL, operator: 'In', values: [level] });
  }
  if (excluded.length) exprs.push({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...excluded] });
  return { matchExpressions: exprs };
}

function clientConfig(target: ClientTarget, path: string, caBundle: string | undefined): Record<string, unknown> {
  const base = 'service' in target ? { service: { namespace: target.service.namespace, name: target.service.name, port: target.service.port ?? 443, path } } : { url: `${target.url.replace(/\/+$/, '')}${path}` };
  return caBundle ? { ...base, caBundle } : base;
}

const POD_RULES = [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }];
// `kubectl debug` adds containers to a running pod through this subresource; only validated.
const EPHEMERAL_RULES = [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' }];

/**
 * The MutatingWebhookConfiguration and ValidatingWebhookConfiguration for
 * kubetee: one webhook per trust level (path /mutate/<level>,
 * /validate/<level>) selected by the namespace's kubetee.io/trust label, plus a
 * validating webhook that denies pods in namespaces with an unknown label value.
 * failurePolicy Fail, sideEffects None, admissionReviewVersions ["v1"],
 * reinvocationPolicy IfNeeded (mutation is idempotent).
 *
 * @example
 * const { mutating, validating } = buildWebhookConfigurations({
 *   target: { service: { namespace: 'kubetee-system', name: 'kubetee-webhook' } },
 *   caBundlePem: readFileSync('ca-bundle.crt', 'utf8'),
 * });
 */
export function buildWebhookConfigurations(options: WebhookConfigurationOptions): { mutating: Record<string, any>; validating: Record<string, any> } {
  const name = options.name ?? WEBHOOK_CONFIGURATION_NAME;
  const policy = options.policy ?? DEFAULT_POLICY;
  const timeoutSeconds = options.timeoutSeconds ?? 5;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) throw new RangeError('timeoutSeconds must be an integer from 1 to 30');
  const excluded = [...new Set([...(options.excludeNamespaces ?? DEFAULT_EXCLUDED_NAMESPACES), ...('service' in options.target ? [options.target.service.namespace] : [])])];
  const caBundle = options.caBundlePem ? Buffer.from(options.caBundlePem).toString('base64') : undefined;
  const failurePolicy = (level: TrustLevel | typeof INVALID_LABEL_SEGMENT): 'Fail' | 'Ignore' => (level === 'standard' ? (options.standardFailurePolicy ?? 'Fail') : 'Fail');
  const common = (level: TrustLevel | typeof INVALID_LABEL_SEGMENT, phase: 'mutate' | 'validate') => ({
    name: `${level}.${phase}.kubetee.io`,
    clientConfig: clientConfig(options.target, `/${phase}/${level}`, caBundle),
    rules: phase === 'validate' ? [...POD_RULES, ...EPHEMERAL_RULES] : POD_RULES,
    failurePolicy: failurePolicy(level),
    matchPolicy: 'Equivalent',
    namespaceSelector: namespaceSelectorFor(level, policy.defaultTrustLevel, excluded),
    sideEffects: 'None',
    timeoutSeconds,
    admissionReviewVersions: ['v1'],
  });
  const labels = { 'app.kubernetes.io/name': 'kubetee', 'app.kubernetes.io/component': 'admission-webhook' };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name, labels },
      webhooks: TRUST_LEVELS.map((level) => ({ ...common(level, 'mutate'), reinvocationPolicy: 'IfNeeded' })),
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name, labels },
      webhooks: [...TRUST_LEVELS.map((level) => common(level, 'validate')), common(INVALID_LABEL_SEGMENT, 'validate')],
    },
  };
}
