import { RESOURCES, TRUST_LABEL } from '../../common/labels.js';
import { apiErrorMessage, type Cluster } from '../cluster.js';
import { DeployError } from '../errors.js';
import { selectorMatches, type LabelSelector } from './selectors.js';
import { AESM_CONFIGMAP, PART_OF_SELECTOR, TRUST_POLICY_CONFIGMAP, WEBHOOK_TLS_SECRET } from '../names.js';
import { parsePolicy } from '../../webhook/policy/load-policy.js';
import type { KubeObject } from '../objects.js';
import type { ClusterSnapshot, KbsProbe, TrustPolicyState, WebhookProbe } from './checks.js';

interface ProbedWebhook {
  failurePolicy?: string;
  namespaceSelector?: LabelSelector;
}

/**
 * Asks the API server to admit (dry run: nothing is stored) a minimal pod in a
 * namespace the webhook intercepts. That exercises the real path: the API
 * server dials the webhook with the configured caBundle. A denial by the
 * webhook still proves it is reachable; "failed calling webhook" does not.
 *
 * The probe goes to a namespace a `failurePolicy: Fail` webhook selects
 * (confidential or sandboxed), where a failed call is an error the API server
 * reports. Only when no such namespace exists does it use one the standard
 * webhook selects; that webhook fails open (Ignore), so a failed call would
 * look like success, and the probe pod asks for EPC instead: the webhook
 * denies that (global.epc-outside-confidential), so an admitted pod means the
 * webhook was not reached.
 */
export async function probeWebhook(cluster: Cluster, namespaces: KubeObject[], mutating: KubeObject[]): Promise<WebhookProbe> {
  // Any EPC resource name the webhook knows is denied outside confidential.
  const profileEpc = RESOURCES.alibaba.epc;
  const hooks = mutating.flatMap((c) => (c['webhooks'] as ProbedWebhook[] | undefined) ?? []);
  const failClosed = (w: ProbedWebhook): boolean => (w.failurePolicy ?? 'Fail') === 'Fail';
  const selectedBy = (n: KubeObject, which: (w: ProbedWebhook) => boolean): boolean => hooks.some((w) => which(w) && selectorMatches(w.namespaceSelector ?? {}, n.metadata.labels ?? {}));
  // Prefer a namespace someone opted in (its pods matter most).
  const pick = (which: (w: ProbedWebhook) => boolean): KubeObject | undefined =>
    namespaces
      .filter((n) => !n.metadata['deletionTimestamp'] && selectedBy(n, which))
      .sort((a, b) => Number(b.metadata.labels?.[TRUST_LABEL] !== undefined) - Number(a.metadata.labels?.[TRUST_LABEL] !== undefined))[0];
  const closed = pick(failClosed);
  const open = closed ? undefined : pick((w) => !failClosed(w));
  const target = closed ?? open;
  if (!target) return { status: 'skipped', reason: 'no namespace is selected by the webhook configurations' };
  const ns = target.metadata.name;
  const epc = { [profileEpc]: '1' };
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kubetee-doctor-probe', namespace: ns, labels: { 'app.kubernetes.io/name': 'kubetee-doctor-probe' } },
    spec: { containers: [{ name: 'probe', image: 'registry.k8s.io/pause:3.10', ...(open ? { resources: { requests: epc, limits: epc } } : {}) }] },
  };
  try {
    await cluster.create(pod, { dryRun: true });
    if (open) {
      return {
        status: 'failed',
        namespace: ns,
        message: `a dry-run pod requesting ${profileEpc} in this standard namespace was admitted, so the API server got no answer from the webhook (failurePolicy Ignore admits pods when the call fails)`,
      };
    }
    return { status: 'ok', namespace: ns };
  } catch (err) {
    if (err instanceof DeployError && err.code === 'CLUSTER_UNREACHABLE') throw err;
    const message = err instanceof DeployError && err.cause ? apiErrorMessage(err.cause) : (err as Error).message;
    if (/failed calling webhook|failed to call webhook/i.test(message)) return { status: 'failed', namespace: ns, message };
    if (/admission webhook .* denied/i.test(message)) return { status: 'ok', namespace: ns };
    if (!open && /already exists/i.test(message)) return { status: 'ok', namespace: ns };
    return { status: 'failed', namespace: ns, message };
  }
}

/**
 * GET <url>/readyz with a bounded timeout: the broker answers 503 when its
 * store is unavailable; the JSON body is kept for the other broker checks.
 */
export async function probeKbs(url: string | undefined, timeoutMs = 5000): Promise<KbsProbe> {
  if (!url) return { status: 'skipped' };
  try {
    const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const reason = (body as { reason?: string } | undefined)?.reason;
      return { status: 'failed', message: `GET /readyz answered HTTP ${res.status}${reason ? ` (${reason})` : ''}` };
    }
    return { status: 'ok', body };
  } catch (err) {
    const e = err as { cause?: { code?: string }; name?: string; message?: string };
    return { status: 'failed', message: `cannot reach ${url}: ${e.cause?.code ?? (e.name === 'TimeoutError' ? 'timed out' : e.message)}` };
  }
}

/** The policy in the trust-policy ConfigMap, parsed by the webhook's own loader. */
export function readTrustPolicy(configMap: KubeObject | undefined): TrustPolicyState {
  const text = ((configMap?.['data'] ?? {}) as Record<string, string>)['policy.yaml'];
  if (text === undefined) return { status: 'missing' };
  try {
    return { status: 'ok', policy: parsePolicy(text, `ConfigMap ${TRUST_POLICY_CONFIGMAP}`) };
  } catch (err) {
    return { status: 'invalid', message: (err as Error).message };
  }
}

/** Reads everything the checks need. Read-only apart from the dry-run probe. */
export async function collectSnapshot(cluster: Cluster, options: { namespace: string; kbsUrl?: string; now: Date }): Promise<ClusterSnapshot> {
  const ns = options.namespace;
  const namespaces = await cluster.list('v1', 'Namespace');
  const namespaceExists = namespaces.some((n) => n.metadata.name === ns);
  const inNs = { namespace: ns, labelSelector: PART_OF_SELECTOR };
  const [nodes, pods, daemonSets, deployments, mutatingWebhooks, validatingWebhooks, runtimeClasses, webhookTlsSecret, aesmConfig, policyConfig] = await Promise.all([
    cluster.list('v1', 'Node'),
    namespaceExists ? cluster.list('v1', 'Pod', inNs) : Promise.resolve([]),
    namespaceExists ? cluster.list('apps/v1', 'DaemonSet', inNs) : Promise.resolve([]),
    namespaceExists ? cluster.list('apps/v1', 'Deployment', inNs) : Promise.resolve([]),
    cluster.list('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', { labelSelector: PART_OF_SELECTOR }),
    cluster.list('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', { labelSelector: PART_OF_SELECTOR }),
    // Every RuntimeClass, not only kubetee's: the trust policy may name the operator's own.
    cluster.list('node.k8s.io/v1', 'RuntimeClass'),
    namespaceExists ? cluster.get({ apiVersion: 'v1', kind: 'Secret', metadata: { name: WEBHOOK_TLS_SECRET, namespace: ns } }) : Promise.resolve(undefined),
    namespaceExists ? cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: AESM_CONFIGMAP, namespace: ns } }) : Promise.resolve(undefined),
    namespaceExists ? cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: TRUST_POLICY_CONFIGMAP, namespace: ns } }) : Promise.resolve(undefined),
  ]);
  const webhookProbe: WebhookProbe = namespaceExists && mutatingWebhooks.length ? await probeWebhook(cluster, namespaces, mutatingWebhooks) : { status: 'skipped', reason: 'the webhook is not registered' };
  return {
    namespace: ns,
    namespaceExists,
    nodes,
    pods,
    daemonSets,
    deployments,
    mutatingWebhooks,
    validatingWebhooks,
    webhookTlsSecret,
    aesmConfig,
    runtimeClasses,
    trustPolicy: readTrustPolicy(policyConfig),
    webhookProbe,
    kbsProbe: await probeKbs(options.kbsUrl),
    now: options.now,
  };
}
