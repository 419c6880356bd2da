/**
 * Names of the objects kubetee installs. Install, uninstall and doctor all
 * find their objects through these, so renaming happens in one place.
 */
export const PART_OF = 'kubetee';
export const FIELD_MANAGER = 'kubetee-install';

export const COMPONENTS = {
  nodeAgent: 'kubetee-node-agent',
  aesm: 'kubetee-aesm',
  webhook: 'kubetee-webhook',
  kbs: 'kubetee-kbs',
} as const;
export type ComponentKey = keyof typeof COMPONENTS;

export const WEBHOOK_TLS_SECRET = 'kubetee-webhook-tls';
export const TRUST_POLICY_CONFIGMAP = 'kubetee-trust-policy';
export const AESM_CONFIGMAP = 'kubetee-aesm-config';
/** Key of the quote provider library's configuration (with the PCCS URL) in the AESM ConfigMap. */
export const AESM_QCNL_KEY = 'sgx_default_qcnl.conf';
export const KBS_PVC = 'kubetee-kbs-data';
export const KBS_MASTER_KEY_SECRET = 'kubetee-kbs-master-key';
/** The broker's first admin token (key `token`), created once by install; the broker reads it with --bootstrap-token-file. */
export const KBS_BOOTSTRAP_TOKEN_SECRET = 'kubetee-kbs-bootstrap-token';
/** Name of both webhook configurations (the webhook component's default). */
export { WEBHOOK_CONFIGURATION_NAME as WEBHOOK_CONFIGURATION } from '../webhook/webhook-configurations.js';

/** Label on objects that hold broker secrets; uninstall keeps them unless asked. */
export const BROKER_DATA_LABEL = 'kubetee.io/broker-data';

/** Labels every installed object carries (uninstall and doctor select on `part-of`). */
export function commonLabels(component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
  };
}

/** Pod selector labels of a component (stable across upgrades: never add to them). */
export function selectorLabels(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component, 'app.kubernetes.io/part-of': PART_OF };
}

export const PART_OF_SELECTOR = `app.kubernetes.io/part-of=${PART_OF}`;
