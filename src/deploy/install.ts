import type { Cluster } from './cluster.js';
import { DeployError } from './errors.js';
import { epcMismatch } from './doctor/checks.js';
import { describeChange } from './diff.js';
import { randomBytes } from 'node:crypto';
import { COMPONENTS, FIELD_MANAGER, KBS_BOOTSTRAP_TOKEN_SECRET, KBS_MASTER_KEY_SECRET, WEBHOOK_TLS_SECRET } from './names.js';
import { kbsBootstrapTokenSecret, kbsMasterKeySecret } from './manifests/kbs.js';
import { newTokenValue } from '../kbs/auth/token-format.js';
import { isBrokerData, listInstalled } from './uninstall.js';
import { objectRef, isClusterScoped, type KubeObject } from './objects.js';
import { renderManifests } from './render.js';
import { waitForRollouts } from './rollout.js';
import type { Values } from './values.js';
import { generateWebhookTls, serviceDnsNames, tlsProblems, type WebhookTls } from './webhook-tls.js';

export interface InstallOptions {
  dryRun?: boolean;
  timeoutMs?: number;
  /** Where progress lines go (stdout in the CLI). */
  print: (line: string) => void;
  now?: () => Date;
}

export interface InstallResult {
  objects: KubeObject[];
  created: number;
  updated: number;
  unchanged: number;
  /** Objects of an earlier install that the current values no longer render. */
  pruned: number;
}

/** Certificates are renewed this long before they expire. */
const RENEW_BEFORE_DAYS = 30;

/**
 * Reuses the webhook's serving certificate from the cluster when it is still
 * good (so re-running install changes nothing and the caBundle stays put),
 * otherwise issues a new CA and certificate.
 */
export async function webhookTlsFor(cluster: Cluster, values: Values, now: Date): Promise<{ tls: WebhookTls; reused: boolean; reason?: string }> {
  const dnsNames = serviceDnsNames(COMPONENTS.webhook, values.namespace);
  const secret = await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: WEBHOOK_TLS_SECRET, namespace: values.namespace } });
  const data = (secret?.['data'] ?? {}) as Record<string, string>;
  let reason: string | undefined;
  if (data['ca.crt'] && data['tls.crt'] && data['tls.key']) {
    const existing = {
      caPem: Buffer.from(data['ca.crt'], 'base64').toString('utf8'),
      certPem: Buffer.from(data['tls.crt'], 'base64').toString('utf8'),
      keyPem: Buffer.from(data['tls.key'], 'base64').toString('utf8'),
    };
    const problems = tlsProblems(existing.caPem, existing.certPem, { dnsNames, now, minRemainingDays: RENEW_BEFORE_DAYS });
    if (problems.length === 0) return { tls: existing, reused: true };
    reason = problems.join('; ');
  }
  return { tls: await generateWebhookTls({ dnsNames, now }), reused: false, ...(reason ? { reason } : {}) };
}

const isWebhookConfiguration = (o: KubeObject): boolean => o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration';

/**
 * Installs (or upgrades) kubetee with server-side apply under kubetee's field
 * manager, then waits for every workload to roll out. The webhook
 * configurations go in only after the webhook is serving: with
 * `failurePolicy: Fail` an earlier registration would reject pod creation in
 * opted-in namespaces while the webhook is still starting.
 * With `dryRun` nothing is written: the server's dry-run result is diffed
 * against the live objects.
 */
export async function install(cluster: Cluster, values: Values, options: InstallOptions): Promise<InstallResult> {
  const now = options.now ?? (() => new Date());
  const { tls, reused, reason } = await webhookTlsFor(cluster, values, now());
  if (!options.dryRun) {
    options.print(reused ? 'webhook certificate: reusing the one in the cluster' : `webhook certificate: issuing a new CA and certificate${reason ? ` (${reason})` : ''}`);
  }
  const objects = renderManifests(values, tls);
  await checkRuntimeClasses(cluster, values, objects, options.print);
  const result: InstallResult = { objects, created: 0, updated: 0, unchanged: 0, pruned: 0 };
  if (options.dryRun) {
    const nsExists = (await cluster.get(objects[0]!)) !== undefined;
    for (const obj of objects) {
      const live = await cluster.get(obj);
      // A namespaced object cannot be dry-run applied into a namespace that does not exist yet.
      const after = nsExists || isClusterScoped(obj.kind) ? await cluster.apply(obj, { dryRun: true }) : obj;
      const { change, diff } = describeChange(live, after);
      result[change === 'create' ? 'created' : change === 'update' ? 'updated' : 'unchanged']++;
      if (change === 'unchanged') options.print(`= ${objectRef(obj)} (unchanged)`);
      else options.print(`${change === 'create' ? '+' : '~'} ${objectRef(obj)} (${change})\n${indent(diff)}`);
    }
    for (const stale of await staleObjects(cluster, values, objects)) {
      result.pruned++;
      options.print(`- ${objectRef(stale)} (prune: no longer rendered by these values)`);
    }
    if (values.kbs.enabled && !(await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: KBS_MASTER_KEY_SECRET, namespace: values.namespace } })))
      options.print(`+ Secret/${values.namespace}/${KBS_MASTER_KEY_SECRET} (create; a random broker master key, generated at install)`);
    if (values.kbs.enabled && !(await cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: KBS_BOOTSTRAP_TOKEN_SECRET, namespace: values.namespace } })))
      options.print(`+ Secret/${values.namespace}/${KBS_BOOTSTRAP_TOKEN_SECRET} (create; the broker's first admin token, generated at install)`);
    options.print(`dry run: ${result.created} to create, ${result.updated} to update, ${result.unchanged} unchanged, ${result.pruned} to prune; nothing was changed`);
    return result;
  }
  const workloads = objects.filter((o) => !isWebhookConfiguration(o));
  const webhookConfigs = objects.filter(isWebhookConfiguration);
  const applyAll = async (list: KubeObject[]): Promise<void> => {
    for (const obj of list) {
      const before = await cluster.get(obj);
      const after = await cluster.apply(obj);
      const change = !before ? 'created' : before.metadata['resourceVersion'] === after.metadata['resourceVersion'] ? 'unchanged' : 'configured';
      result[change === 'created' ? 'created' : change === 'configured' ? 'updated' : 'unchanged']++;
      options.print(`${objectRef(obj)} ${change}`);
    }
  };
  // The namespace (always the first object) before the master key that lives in it.
  await applyAll(workloads.slice(0, 1));
  await ensureKbsMasterKey(cluster, values, options.print);
  await ensureKbsBootstrapToken(cluster, values, options.print);
  await applyAll(workloads.slice(1));
  options.print('waiting for rollout...');
  await waitForRollouts(cluster, workloads, {
    timeoutMs: options.timeoutMs ?? 300_000,
    onProgress: (ref, state) => options.print(`  ${ref}: ${state.message}${state.done ? ' (ready)' : ''}`),
  });
  await applyAll(webhookConfigs);
  for (const stale of await staleObjects(cluster, values, objects)) {
    if (await cluster.delete(stale)) {
      result.pruned++;
      options.print(`${objectRef(stale)} pruned (no longer rendered by these values)`);
    }
  }
  options.print(`kubetee installed in namespace ${values.namespace}: ${result.created} created, ${result.updated} configured, ${result.unchanged} unchanged, ${result.pruned} pruned`);
  return result;
}

/**
 * Install never takes over a RuntimeClass it did not create (kata-deploy's
 * kata-qemu, say): applying would relabel it as kubetee's, and uninstall or a
 * later values change would delete it. Such a class belongs in
 * existingRuntimeClasses. Classes named there (or in hostRuntimeClasses) that
 * do not exist yet only get a warning: the runtime may be installed later,
 * and doctor reports them until then.
 */
export async function checkRuntimeClasses(cluster: Cluster, values: Values, rendered: readonly KubeObject[], print: (line: string) => void): Promise<void> {
  for (const rc of rendered.filter((o) => o.kind === 'RuntimeClass')) {
    const live = await cluster.get(rc);
    if (live && live.metadata.labels?.['app.kubernetes.io/managed-by'] !== FIELD_MANAGER) {
      throw new DeployError('RUNTIMECLASS_EXISTS', `RuntimeClass ${rc.metadata.name} already exists and was not created by kubetee (handler ${String(live['handler'])}); install would take it over, and uninstall delete it`, {
        hint: `name it under existingRuntimeClasses in your values and leave it out of runtimeClasses${values.runtimeClasses ? '' : ` (which defaults to the ${values.profile} profile's classes: set it explicitly)`}; see docs/admission.md#sandbox-runtimes`,
        exitCode: 2,
      });
    }
  }
  for (const [list, names] of [['existingRuntimeClasses', values.existingRuntimeClasses.map((c) => c.name)], ['hostRuntimeClasses', values.hostRuntimeClasses]] as const) {
    for (const name of names) {
      const live = await cluster.get({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name } });
      if (!live) {
        print(`warning: RuntimeClass ${name} (${list}) does not exist in the cluster; the API server rejects pods that name it until it does (kubetee doctor: RUNTIMECLASS_MISSING)`);
        continue;
      }
      const declared = values.existingRuntimeClasses.find((c) => c.name === name);
      const mismatch = declared && epcMismatch(declared, live);
      // Its handler cannot carry EPC while the policy would size enclaves by annotation: refuse, or enclaves start without EPC.
      if (mismatch?.severity === 'error') throw new DeployError('RUNTIMECLASS_EPC_MISMATCH', mismatch.message, { hint: mismatch.hint, exitCode: 2 });
      if (mismatch) print(`warning: ${mismatch.message}; ${mismatch.hint}`);
    }
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/**
 * Creates the broker's master key once. Never applied over an existing one:
 * a new key would make every secret in the store unreadable.
 */
async function ensureKbsMasterKey(cluster: Cluster, values: Values, print: (line: string) => void): Promise<void> {
  if (!values.kbs.enabled) return;
  const ref = { apiVersion: 'v1', kind: 'Secret', metadata: { name: KBS_MASTER_KEY_SECRET, namespace: values.namespace } };
  if (await cluster.get(ref)) return;
  // The namespace must exist first; it is the first rendered object and applying it is idempotent.
  await cluster.create(kbsMasterKeySecret(values, randomBytes(32).toString('base64')));
  print(`Secret/${values.namespace}/${KBS_MASTER_KEY_SECRET} created (broker master key; kept by uninstall unless --delete-broker-secrets)`);
}

/**
 * Creates the broker's first admin token Secret once (the Deployment reads
 * it with --bootstrap-token-file). Never applied over an existing one: the
 * broker uses it only on an empty store, so a new value would not be the
 * token the broker knows. The token is never printed.
 */
export async function ensureKbsBootstrapToken(cluster: Cluster, values: Values, print: (line: string) => void): Promise<void> {
  if (!values.kbs.enabled) return;
  const ref = { apiVersion: 'v1', kind: 'Secret', metadata: { name: KBS_BOOTSTRAP_TOKEN_SECRET, namespace: values.namespace } };
  if (await cluster.get(ref)) return;
  await cluster.create(kbsBootstrapTokenSecret(values, newTokenValue()));
  print(`Secret/${values.namespace}/${KBS_BOOTSTRAP_TOKEN_SECRET} created (broker's first admin token; read it with kubectl, see docs/install.md; kept by uninstall unless --delete-broker-secrets)`);
}

/**
 * Objects an earlier install created that these values no longer render
 * (a RuntimeClass dropped from the list, NetworkPolicies disabled, the
 * broker's PVC after moving to PostgreSQL is NOT among them: broker data and
 * the master key are never pruned, only `uninstall --delete-broker-secrets`
 * removes them).
 */
export async function staleObjects(cluster: Cluster, values: Values, rendered: readonly KubeObject[]): Promise<KubeObject[]> {
  const wanted = new Set(rendered.map(objectRef));
  const installed = await listInstalled(cluster, values.namespace);
  // Only what install itself applied: objects applied by hand (e.g. the node-init DaemonSet) are left alone.
  // A class an earlier install created and the values now name as the cluster's own stays.
  const kept = new Set(values.existingRuntimeClasses.map((c) => c.name));
  return installed.filter((o) => !wanted.has(objectRef(o)) && !isBrokerData(o) && o.metadata.labels?.['app.kubernetes.io/managed-by'] === FIELD_MANAGER && !(o.kind === 'RuntimeClass' && kept.has(o.metadata.name)));
}
