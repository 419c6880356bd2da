import type { Cluster } from './cluster.js';
import { DeployError } from './errors.js';
import { BROKER_DATA_LABEL, PART_OF_SELECTOR } from './names.js';
import { objectRef, isClusterScoped, type KubeObject } from './objects.js';
import type { Values } from './values.js';

/**
 * Kinds kubetee installs, in delete order: webhook configurations first (so
 * nothing is blocked by a webhook that is going away), workloads, then
 * configuration and identities, the namespace last.
 */
export const INSTALLED_KINDS: readonly (readonly [apiVersion: string, kind: string])[] = [
  ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'],
  ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
  ['apps/v1', 'DaemonSet'],
  ['apps/v1', 'Deployment'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['v1', 'Service'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'PersistentVolumeClaim'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['v1', 'ServiceAccount'],
  ['node.k8s.io/v1', 'RuntimeClass'],
];

export interface UninstallOptions {
  deleteBrokerSecrets?: boolean;
  timeoutMs?: number;
  print: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface UninstallResult {
  deleted: string[];
  kept: string[];
}

/** Is this object broker data (secret store volume, broker secrets) kept by default? */
export function isBrokerData(obj: KubeObject): boolean {
  return obj.metadata.labels?.[BROKER_DATA_LABEL] === 'true';
}

/** Everything carrying kubetee's part-of label, in delete order. */
export async function listInstalled(cluster: Cluster, namespace: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const [apiVersion, kind] of INSTALLED_KINDS) {
    const items = await cluster.list(apiVersion, kind, { ...(isClusterScoped(kind) ? {} : { namespace }), labelSelector: PART_OF_SELECTOR });
    out.push(...items.map((o) => ({ ...o, apiVersion, kind })));
  }
  return out;
}

/**
 * Removes everything kubetee installed and waits until it is gone. Broker
 * data (the SQLite volume, anything labelled kubetee.io/broker-data) and
 * Secrets the operator created in the namespace are kept, together with the
 * namespace, unless `deleteBrokerSecrets` is set.
 */
export async function uninstall(cluster: Cluster, values: Values, options: UninstallOptions): Promise<UninstallResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ns = values.namespace;
  const installed = await listInstalled(cluster, ns);
  const kept: KubeObject[] = [];
  const toDelete: KubeObject[] = [];
  for (const obj of installed) (isBrokerData(obj) && !options.deleteBrokerSecrets ? kept : toDelete).push(obj);
  if (!options.deleteBrokerSecrets) {
    // Secrets the operator made for the broker (e.g. the PostgreSQL URL) carry no kubetee label.
    const foreign = (await cluster.list('v1', 'Secret', { namespace: ns })).filter((s) => s.metadata.labels?.['app.kubernetes.io/part-of'] !== 'kubetee' && s['type'] !== 'kubernetes.io/service-account-token');
    kept.push(...foreign.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' })));
  }
  const deleted: string[] = [];
  for (const obj of toDelete) {
    if (await cluster.delete(obj)) {
      deleted.push(objectRef(obj));
      options.print(`${objectRef(obj)} deleted`);
    }
  }
  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  const nsLive = await cluster.get(namespace);
  if (nsLive && kept.length === 0) {
    await cluster.delete(namespace);
    deleted.push(objectRef(namespace));
    options.print(`${objectRef(namespace)} deleted`);
  }
  for (const obj of kept) options.print(`${objectRef(obj)} kept (broker data; pass --delete-broker-secrets to remove it)`);

  // Deletion is asynchronous (finalizers, the namespace controller): wait until it is done.
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  const waitFor = [...toDelete, ...(nsLive && kept.length === 0 ? [namespace] : [])];
  for (;;) {
    const remaining: string[] = [];
    for (const obj of waitFor) if (await cluster.get(obj)) remaining.push(objectRef(obj));
    if (remaining.length === 0) break;
    if (Date.now() >= deadline) {
      throw new DeployError('DELETE_FAILED', `these objects were still present after uninstall: ${remaining.join(', ')}`, {
        hint: 'check their finalizers (kubectl get -o yaml) and that kube-controller-manager is running; re-run uninstall',
      });
    }
    await sleep(500);
  }
  options.print(kept.length ? `kubetee uninstalled; kept ${kept.length} object(s) holding broker data in namespace ${ns}` : 'kubetee uninstalled; nothing left behind');
  return { deleted, kept: kept.map(objectRef) };
}
