import type { Values } from '../values.js';
import type { KubeObject } from '../objects.js';
import { BROKER_DATA_LABEL, COMPONENTS, KBS_BOOTSTRAP_TOKEN_SECRET, KBS_MASTER_KEY_SECRET, KBS_PVC, commonLabels, selectorLabels } from '../names.js';
import { imagePullSecrets, imageRef, restrictedContainerSecurity } from './common.js';

/** Where the Deployment mounts the bootstrap token Secret (read-only). */
export const BOOTSTRAP_TOKEN_DIR = '/etc/kubetee/bootstrap-token';

/**
 * Key broker. One replica keeps its store in SQLite on a PersistentVolumeClaim
 * (Recreate strategy: a ReadWriteOnce volume cannot be shared during a
 * rollout); more replicas need PostgreSQL, whose URL comes from a Secret the
 * operator creates. The PVC is labelled as broker data so uninstall keeps it
 * unless told otherwise.
 */
export function renderKbs(values: Values): KubeObject[] {
  if (!values.kbs.enabled) return [];
  const name = COMPONENTS.kbs;
  const { replicas, port, storage } = values.kbs;
  const postgres = storage.postgres;
  const sqlite = !postgres;
  const out: KubeObject[] = [];
  if (sqlite) {
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: KBS_PVC, namespace: values.namespace, labels: { ...commonLabels(name), [BROKER_DATA_LABEL]: 'true' } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: storage.size } },
        ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
      },
    });
  }
  // SQLite lives on the volume; with PostgreSQL the data dir holds nothing that must survive the pod.
  const dbArgs = sqlite ? ['--db', 'sqlite:/data/kbs.db', '--data-dir', '/data'] : ['--db', '$(KBS_DATABASE_URL)', '--data-dir', '/data'];
  // The first admin token comes from a Secret install creates once, so it survives any pod (kubectl reads it back).
  const bootstrapArgs = ['--bootstrap-token-file', `${BOOTSTRAP_TOKEN_DIR}/token`];
  const env: Record<string, unknown>[] = [
    // The master keyring wraps every data key; install creates it once and never rotates it by itself.
    { name: 'KUBETEE_KBS_MASTER_KEY', valueFrom: { secretKeyRef: { name: KBS_MASTER_KEY_SECRET, key: 'master-key' } } },
    ...(postgres ? [{ name: 'KBS_DATABASE_URL', valueFrom: { secretKeyRef: { name: postgres.secretName, key: postgres.key } } }] : []),
  ];
  out.push(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      spec: { selector: selectorLabels(name), ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: values.namespace, labels: commonLabels(name) },
      spec: {
        replicas,
        selector: { matchLabels: selectorLabels(name) },
        strategy: sqlite ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: commonLabels(name) },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            ...imagePullSecrets(values),
            containers: [
              {
                name: 'kbs',
                image: imageRef(values.image),
                imagePullPolicy: values.image.pullPolicy,
                args: ['kbs', 'serve', ...dbArgs, ...bootstrapArgs, '--listen', `0.0.0.0:${port}`, '--pccs', values.kbs.pccsURL],
                env,
                ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 20, failureThreshold: 3 },
                resources: values.kbs.resources,
                securityContext: restrictedContainerSecurity(),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'bootstrap-token', mountPath: BOOTSTRAP_TOKEN_DIR, readOnly: true },
                ],
              },
            ],
            volumes: [
              sqlite ? { name: 'data', persistentVolumeClaim: { claimName: KBS_PVC } } : { name: 'data', emptyDir: {} },
              // Owner root, group fsGroup (65532): 0440 lets the non-root broker read it and nobody else.
              { name: 'bootstrap-token', secret: { secretName: KBS_BOOTSTRAP_TOKEN_SECRET, defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } },
            ],
          },
        },
      },
    },
  );
  return out;
}

/**
 * The broker's master key Secret (base64 of 32 random bytes). Not part of
 * the rendered stream: re-applying it would replace the key and make every
 * stored secret unreadable, so install creates it only when it is missing.
 */
export function kbsMasterKeySecret(values: Values, keyBase64: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: KBS_MASTER_KEY_SECRET, namespace: values.namespace, labels: { ...commonLabels(COMPONENTS.kbs), [BROKER_DATA_LABEL]: 'true' } },
    type: 'Opaque',
    data: { 'master-key': Buffer.from(keyBase64).toString('base64') },
  };
}

/**
 * The broker's first admin token (a random token in the broker's `kbt_…`
 * format), read by `kbs serve --bootstrap-token-file` when the store has no
 * token yet. Like the master key it is not part of the rendered stream and
 * install creates it only when it is missing: the broker only honours it on
 * an empty store, so a replaced value would not match the token in use.
 * Labelled as broker data: kept by uninstall unless --delete-broker-secrets.
 */
export function kbsBootstrapTokenSecret(values: Values, token: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: KBS_BOOTSTRAP_TOKEN_SECRET, namespace: values.namespace, labels: { ...commonLabels(COMPONENTS.kbs), [BROKER_DATA_LABEL]: 'true' } },
    type: 'Opaque',
    data: { token: Buffer.from(token).toString('base64') },
  };
}
