import { NODE_LABELS, RESOURCES, SGX_TAINT } from '../../common/labels.js';
import { MIB, QuantityError, parseWholeQuantity } from '../../common/quantity.js';
import { INSTANCE_TYPE_LABEL, sgxCapability } from '../instance-types.js';
import { AESM_QCNL_KEY, COMPONENTS, TRUST_POLICY_CONFIGMAP, WEBHOOK_CONFIGURATION } from '../names.js';
import { SGX_RESOURCE_NAMES, confidentialTaints, isNodeStateTaint, tolerates, tolerationFor, type Taint } from '../../common/sgx-tolerations.js';
import { knownRuntimeByHandler, knownRuntimeByName, type EpcCarriage } from '../../common/sandbox-runtimes.js';
import type { AdmissionPolicy } from '../../webhook/policy/schema.js';
import type { KubeObject } from '../objects.js';
import { serviceDnsNames, tlsProblems } from '../webhook-tls.js';

/**
 * Pure doctor checks: a snapshot of the cluster in, findings out. Every
 * finding names its scope (a node or a component), says what is wrong and
 * how to fix it; `error` findings block confidential workloads.
 */

export type Severity = 'ok' | 'warning' | 'error';

export type FindingCode =
  | 'NOT_INSTALLED'
  | 'NODE_OK'
  | 'NODE_NOT_SGX'
  | 'NODE_INSTANCE_TYPE'
  | 'NODE_NO_EPC'
  | 'NODE_NO_PLUGIN'
  | 'NODE_NO_FLC'
  | 'NODE_NO_DRIVER'
  | 'NODE_AESM_DOWN'
  | 'NO_SGX_NODES'
  | 'COMPONENT_OK'
  | 'COMPONENT_MISSING'
  | 'COMPONENT_DEGRADED'
  | 'COMPONENT_DOWN'
  | 'AESM_PCCS_LOCALHOST'
  | 'WEBHOOK_NOT_REGISTERED'
  | 'WEBHOOK_FAIL_OPEN'
  | 'WEBHOOK_CA_STALE'
  | 'WEBHOOK_UNREACHABLE'
  | 'WEBHOOK_NOT_PROBED'
  | 'RUNTIMECLASS_NO_NODES'
  | 'RUNTIMECLASS_MISSING'
  | 'RUNTIMECLASS_NOT_IN_POLICY'
  | 'RUNTIMECLASS_EPC_MISMATCH'
  | 'TRUST_POLICY_INVALID'
  | 'NODE_TAINT_NOT_TOLERATED'
  | 'KBS_UNHEALTHY'
  | 'KBS_SIMULATED_ROOT'
  | 'KBS_COLLATERAL_EXPIRING'
  | 'KBS_COLLATERAL_EXPIRED';

export interface Finding {
  /** `node/<name>`, `component/<name>`, `runtimeclass/<name>` or `cluster`. */
  scope: string;
  severity: Severity;
  code: FindingCode;
  message: string;
  hint?: string;
}

/** Result of asking the API server to admit a probe pod (dry run) in an opted-in namespace. */
export type WebhookProbe = { status: 'ok'; namespace: string } | { status: 'failed'; namespace: string; message: string } | { status: 'skipped'; reason: string };

/** The installed trust policy, as doctor found it. */
export type TrustPolicyState = { status: 'ok'; policy: AdmissionPolicy } | { status: 'missing' } | { status: 'invalid'; message: string };

/** Result of GET <broker>/readyz when a broker URL was given. */
export type KbsProbe = { status: 'ok'; body: unknown } | { status: 'failed'; message: string } | { status: 'skipped' };

export interface ClusterSnapshot {
  namespace: string;
  namespaceExists: boolean;
  nodes: KubeObject[];
  pods: KubeObject[];
  daemonSets: KubeObject[];
  deployments: KubeObject[];
  mutatingWebhooks: KubeObject[];
  validatingWebhooks: KubeObject[];
  webhookTlsSecret: KubeObject | undefined;
  /** The AESM ConfigMap (quote provider configuration with the PCCS URL), when installed. */
  aesmConfig?: KubeObject | undefined;
  /** Every RuntimeClass in the cluster (kubetee's and the operator's). */
  runtimeClasses: KubeObject[];
  /** The trust policy install wrote (ConfigMap kubetee-trust-policy); absent means not read. */
  trustPolicy?: TrustPolicyState;
  webhookProbe: WebhookProbe;
  kbsProbe: KbsProbe;
  now: Date;
}

const DAY_MS = 86_400_000;
const COLLATERAL_WARN_DAYS = 7;

type Labels = Record<string, string>;
const labelsOf = (o: KubeObject): Labels => o.metadata.labels ?? {};
const nameOf = (o: KubeObject): string => o.metadata.name;

function podReady(pod: KubeObject): boolean {
  const status = pod['status'] as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function readyPodOn(snapshot: ClusterSnapshot, component: string, node: string): boolean {
  return snapshot.pods.some((p) => labelsOf(p)['app.kubernetes.io/name'] === component && (p['spec'] as { nodeName?: string } | undefined)?.nodeName === node && podReady(p));
}

/**
 * EPC the node offers to the scheduler, in whole MiB, under either profile's
 * resource name; a value that is not a quantity is reported, not read as 0.
 */
export function allocatableEpcMiB(node: KubeObject): { mib: bigint; problem?: string } {
  const alloc = ((node['status'] as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {}) as Record<string, unknown>;
  for (const [name, unit] of [[RESOURCES.alibaba.epc, MIB], [RESOURCES.intel.epc, 1n]] as const) {
    if (alloc[name] === undefined) continue;
    try {
      const bytes = parseWholeQuantity(alloc[name], `allocatable["${name}"]`, unit);
      return { mib: bytes / MIB };
    } catch (err) {
      if (err instanceof QuantityError) return { mib: 0n, problem: err.message };
      throw err;
    }
  }
  return { mib: 0n };
}

function taintsOf(node: KubeObject): Taint[] {
  return ((node['spec'] as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[];
}

function hasSgxTaint(node: KubeObject): boolean {
  return taintsOf(node).some((t) => t.key === SGX_TAINT.key || SGX_RESOURCE_NAMES.includes(t.key));
}

/**
 * Taints of an SGX node that no confidential pod tolerates: the webhook gives
 * them kubetee's taint and `<resource>:NoSchedule` for each SGX resource they
 * request, which here are the ones the node advertises. Anything else
 * (`dedicated=enclaves`, a NoExecute resource taint) keeps every enclave off
 * the node. Taints about node state (not-ready, cordoned) are left to Kubernetes.
 */
export function untoleratedNodeTaints(node: KubeObject): Taint[] {
  const alloc = Object.keys((node['status'] as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {});
  const tolerated = confidentialTaints(alloc.filter((r) => SGX_RESOURCE_NAMES.includes(r))).map(tolerationFor);
  return taintsOf(node).filter((taint) => (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !isNodeStateTaint(taint) && !tolerated.some((t) => tolerates(t, taint)));
}

export function checkNode(snapshot: ClusterSnapshot, node: KubeObject): Finding[] {
  const name = nameOf(node);
  const scope = `node/${name}`;
  const labels = labelsOf(node);
  const instanceType = labels[INSTANCE_TYPE_LABEL];
  const capability = sgxCapability(instanceType);
  const labelled = labels[NODE_LABELS.sgx] === 'true';
  const tainted = hasSgxTaint(node);
  if (!labelled && !tainted && capability !== 'capable') {
    return [{ scope, severity: 'ok', code: 'NODE_NOT_SGX', message: 'not an SGX node (no SGX label, taint or SGX instance type); enclave pods will not be placed here' }];
  }
  const findings: Finding[] = [];
  if (capability === 'incapable') {
    findings.push({
      scope,
      severity: 'error',
      code: 'NODE_INSTANCE_TYPE',
      message: `instance type ${instanceType} cannot run SGX enclaves, but the node is ${labelled ? 'labelled' : 'tainted'} as an SGX node`,
      hint: 'use an SGX instance type (Alibaba: ecs.ebmhfg5.2xlarge, ecs.g7t/c7t/r7t.*; Azure: Standard_DC*s_v3) or remove the SGX label/taint from this node pool',
    });
  }
  const driver = labels[NODE_LABELS.driver];
  if (driver === 'none') {
    findings.push({ scope, severity: 'error', code: 'NODE_NO_DRIVER', message: 'the node agent found no SGX device node (driver: none)', hint: 'run `kubetee render node-init` on this node (kernel 5.11+ with CONFIG_X86_SGX, SGX enabled in firmware)' });
  }
  if (driver === 'in-kernel' && labels[NODE_LABELS.flc] === 'false') {
    findings.push({
      scope,
      severity: 'error',
      code: 'NODE_NO_FLC',
      message: 'the CPU lacks Flexible Launch Control, which the in-kernel SGX driver requires',
      hint: 'enable SGX Launch Control in firmware or move enclave workloads to FLC-capable instance types (Ice Lake and later, g7t/c7t/r7t)',
    });
  }
  if (!readyPodOn(snapshot, COMPONENTS.nodeAgent, name)) {
    findings.push({
      scope,
      severity: 'error',
      code: 'NODE_NO_PLUGIN',
      message: 'no ready kubetee node agent (SGX device plugin) on this node, so EPC is not advertised or allocated',
      hint: `kubectl -n ${snapshot.namespace} get pods -l app.kubernetes.io/name=${COMPONENTS.nodeAgent} -o wide; check the DaemonSet's node affinity matches this node`,
    });
  }
  const { mib: epc, problem: epcProblem } = allocatableEpcMiB(node);
  if (epc <= 0n) {
    findings.push({
      scope,
      severity: 'error',
      code: 'NODE_NO_EPC',
      message: epcProblem ? `SGX node with unreadable allocatable EPC: ${epcProblem}` : `SGX node without allocatable EPC (${RESOURCES.alibaba.epc} / ${RESOURCES.intel.epc} missing or 0)`,
      hint: 'check SGX is enabled in firmware and the node agent is running here; its log says what it detected',
    });
  }
  // With aesm.enabled: false the nodes run AESM themselves (render node-init); the node agent's label says whether it answers.
  const hostAesm = aesmOnHosts(snapshot);
  if (labels[NODE_LABELS.aesm] === 'false' || (hostAesm ? labels[NODE_LABELS.aesm] !== 'true' : !readyPodOn(snapshot, COMPONENTS.aesm, name))) {
    findings.push({
      scope,
      severity: 'error',
      code: 'NODE_AESM_DOWN',
      message:
        labels[NODE_LABELS.aesm] === 'false'
          ? 'AESM is not answering on /var/run/aesmd/aesm.socket'
          : hostAesm
            ? 'the node agent has not seen AESM answer on /var/run/aesmd/aesm.socket (AESM is expected on the host: aesm.enabled is false)'
            : 'no ready AESM pod on this node, so enclaves cannot get quotes',
      hint: hostAesm
        ? 'run the `kubetee render node-init` script on this node (it installs and starts aesmd), or install with aesm.enabled: true'
        : `kubectl -n ${snapshot.namespace} logs -l app.kubernetes.io/name=${COMPONENTS.aesm}; check the PCCS URL (aesm.pccsURL) is reachable from the node`,
    });
  }
  const untolerated = untoleratedNodeTaints(node);
  if (untolerated.length) {
    const list = untolerated.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ');
    findings.push({
      scope,
      severity: 'warning',
      code: 'NODE_TAINT_NOT_TOLERATED',
      message: `taint ${list} is tolerated by no confidential pod (they tolerate ${SGX_TAINT.key}=${SGX_TAINT.value}:${SGX_TAINT.effect} and <SGX resource>:NoSchedule for what they request), so enclave pods cannot be scheduled here`,
      hint: `taint SGX nodes with ${SGX_TAINT.key}=${SGX_TAINT.value}:NoSchedule or with the EPC resource name (e.g. kubectl taint node ${name} ${RESOURCES.alibaba.epc}:NoSchedule), and remove ${untolerated.length > 1 ? 'these taints' : 'this taint'}: kubectl taint node ${name} ${untolerated.map((t) => `${t.key}:${t.effect}-`).join(' ')}`,
    });
  }
  if (findings.length === 0) findings.push({ scope, severity: 'ok', code: 'NODE_OK', message: `SGX ready: ${epc} MiB EPC allocatable, node agent and AESM running` });
  return findings;
}

/**
 * True when kubetee installed no AESM at all (aesm.enabled: false: neither
 * its DaemonSet nor its ConfigMap exists), so AESM runs on the hosts. A
 * DaemonSet missing next to its ConfigMap is a broken install instead.
 */
function aesmOnHosts(snapshot: ClusterSnapshot): boolean {
  return !findLive(snapshot.daemonSets, COMPONENTS.aesm) && !snapshot.aesmConfig;
}

function findLive(list: KubeObject[], name: string): KubeObject | undefined {
  return list.find((o) => nameOf(o) === name);
}

function checkWorkload(scope: string, live: KubeObject | undefined, kind: 'Deployment' | 'DaemonSet', hint: string): Finding {
  if (!live) return { scope, severity: 'error', code: 'COMPONENT_MISSING', message: `${kind} is missing`, hint: 'run kubetee install' };
  const s = (live['status'] ?? {}) as Record<string, number | undefined>;
  const want = kind === 'Deployment' ? ((live['spec'] as { replicas?: number }).replicas ?? 1) : (s['desiredNumberScheduled'] ?? 0);
  const have = kind === 'Deployment' ? (s['availableReplicas'] ?? 0) : (s['numberAvailable'] ?? 0);
  if (want > 0 && have === 0) return { scope, severity: 'error', code: 'COMPONENT_DOWN', message: `no ${kind === 'Deployment' ? 'replica' : 'pod'} available (0 of ${want})`, hint };
  if (have < want) return { scope, severity: 'warning', code: 'COMPONENT_DEGRADED', message: `${have} of ${want} available`, hint };
  return { scope, severity: 'ok', code: 'COMPONENT_OK', message: `${have} of ${want} available` };
}

const LOOPBACK_HOST = /^(localhost|0\.0\.0\.0|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])$/i;

/**
 * The quote provider in the AESM pods fetches PCK certificates from the PCCS
 * in its configuration. A loopback URL there is checkably wrong: the AESM
 * pod has its own network namespace (no hostNetwork), so localhost is the pod
 * itself, where only aesmd runs; a PCCS on the node is not reachable that
 * way. Not checked when someone gave the pod the host network or a sidecar.
 */
export function checkAesmPccs(snapshot: ClusterSnapshot): Finding[] {
  const daemonSet = findLive(snapshot.daemonSets, COMPONENTS.aesm);
  const conf = ((snapshot.aesmConfig?.['data'] ?? {}) as Record<string, string>)[AESM_QCNL_KEY];
  if (!daemonSet || !conf) return [];
  let url: string | undefined;
  try {
    url = (JSON.parse(conf) as { pccs_url?: unknown }).pccs_url as string | undefined;
  } catch {
    return [];
  }
  if (typeof url !== 'string') return [];
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return [];
  }
  const pod = ((daemonSet['spec'] as { template?: { spec?: { hostNetwork?: boolean; containers?: unknown[] } } } | undefined)?.template?.spec ?? {});
  if (!LOOPBACK_HOST.test(host) || pod.hostNetwork === true || (pod.containers?.length ?? 0) > 1) return [];
  return [
    {
      scope: `component/${COMPONENTS.aesm}`,
      severity: 'warning',
      code: 'AESM_PCCS_LOCALHOST',
      message: `the quote provider's PCCS URL ${url} (aesm.pccsURL) points at localhost, which inside the AESM pod is the pod itself (its own network namespace, only aesmd runs there), not the node: quotes cannot get PCK certificates`,
      hint: 'set aesm.pccsURL to a PCCS the AESM pods can reach (on ACK: https://sgx-dcap-server.<region>.aliyuncs.com/sgx/certification/v4/; or a PCCS Service in the cluster) and run kubetee install',
    },
  ];
}

function checkWebhook(snapshot: ClusterSnapshot): Finding[] {
  const scope = `component/${COMPONENTS.webhook}`;
  const ns = snapshot.namespace;
  const out: Finding[] = [];
  const deployment = findLive(snapshot.deployments, COMPONENTS.webhook);
  const external = [...snapshot.mutatingWebhooks, ...snapshot.validatingWebhooks].some((c) => webhooksOf(c).some((w) => w.clientConfig?.url));
  // A webhook served from outside the cluster does not need its Deployment.
  if (!external) out.push(checkWorkload(scope, deployment, 'Deployment', `kubectl -n ${ns} describe deployment ${COMPONENTS.webhook}`));
  const configs = [findLive(snapshot.mutatingWebhooks, WEBHOOK_CONFIGURATION), findLive(snapshot.validatingWebhooks, WEBHOOK_CONFIGURATION)];
  if (configs.some((c) => !c)) {
    out.push({ scope, severity: 'error', code: 'WEBHOOK_NOT_REGISTERED', message: 'the Mutating/ValidatingWebhookConfiguration is missing, so confidential pods are neither wired nor checked', hint: 'run kubetee install' });
    return out;
  }
  const secret = snapshot.webhookTlsSecret;
  const secretData = (secret?.['data'] ?? {}) as Record<string, string>;
  for (const config of configs as KubeObject[]) {
    for (const w of webhooksOf(config)) {
      // Standard namespaces may fail open by design (webhook.standardFailurePolicy); the others must not.
      if (w.failurePolicy !== 'Fail' && !isStandardWebhook(w.name)) {
        out.push({ scope, severity: 'warning', code: 'WEBHOOK_FAIL_OPEN', message: `${config.kind} webhook ${w.name} has failurePolicy ${w.failurePolicy ?? 'unset'}: pods in its namespaces are admitted unchecked (unwired) when it is down`, hint: 'run kubetee install to restore failurePolicy: Fail' });
      }
      if (w.clientConfig?.service && secretData['tls.crt']) {
        const caPem = Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8');
        const certPem = Buffer.from(secretData['tls.crt'], 'base64').toString('utf8');
        const problems = tlsProblems(caPem, certPem, { dnsNames: serviceDnsNames(w.clientConfig.service.name, w.clientConfig.service.namespace), now: snapshot.now, minRemainingDays: 7 });
        if (problems.length) {
          out.push({ scope, severity: 'error', code: 'WEBHOOK_CA_STALE', message: `${config.kind} webhook ${w.name}: CA bundle does not match the serving certificate: ${problems.join('; ')}`, hint: 'run kubetee install: it renews the certificate and rewrites the caBundle' });
        }
      }
    }
  }
  const probe = snapshot.webhookProbe;
  if (probe.status === 'failed') {
    const tls = /x509|certificate|tls/i.test(probe.message);
    out.push({
      scope,
      severity: 'error',
      code: tls ? 'WEBHOOK_CA_STALE' : 'WEBHOOK_UNREACHABLE',
      message: `the API server could not call the webhook for a probe pod in namespace ${probe.namespace}: ${probe.message}`,
      hint: tls ? 'the caBundle does not match the certificate the webhook serves; run kubetee install to re-issue both' : 'check the webhook pods and Service endpoints (or webhook.externalURL) and network policies',
    });
  } else if (probe.status === 'skipped') {
    out.push({ scope, severity: 'warning', code: 'WEBHOOK_NOT_PROBED', message: `end-to-end webhook probe skipped: ${probe.reason}`, hint: 'label a namespace kubetee.io/trust=confidential (or sandboxed) to let doctor probe the webhook' });
  } else if (!out.some((f) => f.severity !== 'ok')) {
    out.push({ scope, severity: 'ok', code: 'COMPONENT_OK', message: `the API server reached the webhook over TLS (probe in namespace ${probe.namespace})` });
  }
  return out;
}

/** The standard level's webhooks (`standard.mutate.kubetee.io`, `standard.validate.kubetee.io`). */
export function isStandardWebhook(name: string): boolean {
  return name.startsWith('standard.');
}

interface WebhookEntry {
  name: string;
  failurePolicy?: string;
  clientConfig?: { url?: string; caBundle?: string; service?: { name: string; namespace: string } };
}
function webhooksOf(config: KubeObject | undefined): WebhookEntry[] {
  return ((config?.['webhooks'] as WebhookEntry[] | undefined) ?? []);
}

/**
 * The policy trusts a class's name for how it carries EPC; its handler says
 * what really runs. A class the policy sizes by annotation whose handler
 * cannot carry EPC (a "kata" class running gVisor or Firecracker) would admit
 * enclaves that start without EPC: an error. The reverse only denies pods
 * that could have run: a warning.
 */
export function epcMismatch(declared: { name: string; epc: EpcCarriage }, live: KubeObject): Finding | undefined {
  const handler = String(live['handler']);
  const runtime = knownRuntimeByHandler(handler);
  if (!runtime || runtime.epc === declared.epc) return undefined;
  const failsOpen = declared.epc === 'annotation';
  return {
    scope: `runtimeclass/${declared.name}`,
    severity: failsOpen ? 'error' : 'warning',
    code: 'RUNTIMECLASS_EPC_MISMATCH',
    message: failsOpen
      ? `the trust policy sizes enclaves in RuntimeClass ${declared.name} with the sgx.intel.com/epc annotation, but its handler ${handler} cannot give enclaves EPC (${runtime.epcReason}): confidential pods in it are admitted and their enclaves fail at start`
      : `the trust policy denies enclaves in RuntimeClass ${declared.name} (epc: unsupported), but its handler ${handler} takes EPC from the sgx.intel.com/epc annotation`,
    hint: `declare it in your values as existingRuntimeClasses: [{name: ${declared.name}, epc: ${runtime.epc}}] (or fix the RuntimeClass's handler) and run kubetee install`,
  };
}

const isKubeteeObject = (o: KubeObject): boolean => labelsOf(o)['app.kubernetes.io/part-of'] === 'kubetee';

/**
 * RuntimeClasses against the installed trust policy and the nodes: a class
 * the policy names must exist (else the API server rejects the pods that use
 * it, the injected default included), a class of the cluster the policy does
 * not name is refused for sandboxed pods (and for enclaves, unless kubetee
 * knows it), and a sandbox class needs nodes that run it.
 */
function checkRuntimeClasses(snapshot: ClusterSnapshot): Finding[] {
  const out: Finding[] = [];
  const state = snapshot.trustPolicy;
  if (state?.status === 'invalid') {
    out.push({ scope: `component/${COMPONENTS.webhook}`, severity: 'error', code: 'TRUST_POLICY_INVALID', message: `the installed trust policy (ConfigMap ${TRUST_POLICY_CONFIGMAP}) is not valid: ${state.message}`, hint: 'run kubetee install to rewrite it from the values' });
  }
  const policy = state?.status === 'ok' ? state.policy : undefined;
  const sandboxNames = policy?.sandboxRuntimeClasses.map((c) => c.name) ?? [];
  const liveNames = new Set(snapshot.runtimeClasses.map(nameOf));
  const checked = snapshot.runtimeClasses.filter((rc) => isKubeteeObject(rc) || sandboxNames.includes(nameOf(rc)));
  const results = checked.map((rc) => {
    const selector = ((rc['scheduling'] as { nodeSelector?: Labels } | undefined)?.nodeSelector ?? {}) as Labels;
    const nodes = snapshot.nodes.filter((n) => Object.entries(selector).every(([k, v]) => labelsOf(n)[k] === v));
    return { rc, selector, nodes };
  });
  const anyUsable = results.some((r) => r.nodes.length > 0);
  for (const { rc, selector, nodes } of results) {
    const scope = `runtimeclass/${nameOf(rc)}`;
    if (nodes.length > 0) {
      out.push({ scope, severity: 'ok', code: 'COMPONENT_OK', message: `${nodes.length} node(s) can run handler ${String(rc['handler'])}` });
      continue;
    }
    const sel = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    out.push({
      scope,
      severity: anyUsable ? 'warning' : 'error',
      code: 'RUNTIMECLASS_NO_NODES',
      message: `no node can run handler ${String(rc['handler'])} (no node labelled ${sel || '(no selector)'}); pods using it stay Pending${anyUsable ? '' : '; no sandbox runtime is usable at all, so sandboxed namespaces cannot run pods'}`,
      hint: `install the runtime on a node pool and label those nodes ${sel}, or drop this RuntimeClass from ${isKubeteeObject(rc) ? 'runtimeClasses' : 'existingRuntimeClasses'} in your values`,
    });
  }
  if (!policy) return out;
  for (const name of sandboxNames.filter((n) => !liveNames.has(n))) {
    const injected = name === policy.sandboxed.defaultRuntimeClass;
    out.push({
      scope: `runtimeclass/${name}`,
      severity: injected ? 'error' : 'warning',
      code: 'RUNTIMECLASS_MISSING',
      message: `the trust policy counts RuntimeClass ${name} as a sandbox, but the cluster has no such RuntimeClass: the API server rejects every pod that names it${injected ? ', and the webhook injects it into sandboxed pods that name none, so they all fail' : ''}`,
      hint: `create the RuntimeClass (install the runtime, e.g. kata-deploy), or remove ${name} from existingRuntimeClasses in your values and run kubetee install`,
    });
  }
  for (const declared of policy.sandboxRuntimeClasses) {
    const live = snapshot.runtimeClasses.find((rc) => nameOf(rc) === declared.name);
    const finding = live && epcMismatch(declared, live);
    if (finding) out.push(finding);
  }
  for (const name of policy.hostRuntimeClasses.filter((n) => !liveNames.has(n))) {
    out.push({ scope: `runtimeclass/${name}`, severity: 'warning', code: 'RUNTIMECLASS_MISSING', message: `the trust policy lists RuntimeClass ${name} as a host-kernel runtime, but the cluster has no such RuntimeClass`, hint: `create it, or remove ${name} from hostRuntimeClasses in your values and run kubetee install` });
  }
  for (const rc of snapshot.runtimeClasses) {
    const name = nameOf(rc);
    if (sandboxNames.includes(name) || policy.hostRuntimeClasses.includes(name)) continue;
    const known = knownRuntimeByHandler(String(rc['handler'])) ?? knownRuntimeByName(name);
    out.push({
      scope: `runtimeclass/${name}`,
      severity: 'warning',
      code: 'RUNTIMECLASS_NOT_IN_POLICY',
      message: `RuntimeClass ${name} (handler ${String(rc['handler'])}) is not in the trust policy: sandboxed pods that name it are denied${known ? '' : ', and so are enclave pods (kubetee cannot tell how it gives them EPC)'}`,
      hint: known
        ? `if it is a sandbox for untrusted pods, add ${name} to existingRuntimeClasses in your values and run kubetee install`
        : `add it to existingRuntimeClasses as {name: ${name}, epc: annotation|unsupported} if it runs pods in their own guest kernel, or to hostRuntimeClasses if it runs them on the host kernel, then run kubetee install`,
    });
  }
  return out;
}

function checkKbs(snapshot: ClusterSnapshot): Finding[] {
  const scope = `component/${COMPONENTS.kbs}`;
  const out: Finding[] = [];
  const deployment = findLive(snapshot.deployments, COMPONENTS.kbs);
  if (deployment || snapshot.kbsProbe.status === 'skipped') out.push(checkWorkload(scope, deployment, 'Deployment', `kubectl -n ${snapshot.namespace} logs deployment/${COMPONENTS.kbs}`));
  const probe = snapshot.kbsProbe;
  if (probe.status === 'failed') {
    out.push({ scope, severity: 'error', code: 'KBS_UNHEALTHY', message: `key broker health check failed: ${probe.message}`, hint: `kubectl -n ${snapshot.namespace} logs deployment/${COMPONENTS.kbs}` });
  } else if (probe.status === 'ok') {
    const ready = (probe.body ?? {}) as { store?: string; simulatedRootTrusted?: boolean };
    if (ready.simulatedRootTrusted === true) {
      out.push({
        scope,
        severity: 'error',
        code: 'KBS_SIMULATED_ROOT',
        message: "the broker trusts the simulated SGX platform root (--trust-sim-root): quotes from the simulator verify, so it releases secrets to non-enclaves",
        hint: 'restart the broker without --trust-sim-root (development only)',
      });
    }
    const expiry = collateralExpiry(probe.body);
    if (expiry) {
      const leftMs = expiry.getTime() - snapshot.now.getTime();
      if (leftMs <= 0) out.push({ scope, severity: 'error', code: 'KBS_COLLATERAL_EXPIRED', message: `the broker's attestation collateral expired on ${expiry.toISOString()}; quotes cannot be verified`, hint: 'refresh the collateral from the PCCS (check the broker can reach it)' });
      else if (leftMs < COLLATERAL_WARN_DAYS * DAY_MS) out.push({ scope, severity: 'warning', code: 'KBS_COLLATERAL_EXPIRING', message: `the broker's attestation collateral expires on ${expiry.toISOString()} (in ${Math.ceil(leftMs / DAY_MS)} day(s))`, hint: 'refresh the collateral from the PCCS before it expires' });
      else out.push({ scope, severity: 'ok', code: 'COMPONENT_OK', message: `healthy; collateral valid until ${expiry.toISOString()}` });
    } else out.push({ scope, severity: 'ok', code: 'COMPONENT_OK', message: `ready${ready.store ? ` (store ${ready.store})` : ''}` });
  }
  return out;
}

/** Reads the earliest collateral expiry the broker reports in its health body, if any. */
export function collateralExpiry(body: unknown): Date | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const c = (body as { collateral?: { nextUpdate?: string; expiresAt?: string } }).collateral;
  const text = c?.nextUpdate ?? c?.expiresAt;
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Runs every check. */
export function runChecks(snapshot: ClusterSnapshot): Finding[] {
  if (!snapshot.namespaceExists) {
    return [{ scope: 'cluster', severity: 'error', code: 'NOT_INSTALLED', message: `kubetee is not installed (namespace ${snapshot.namespace} not found)`, hint: 'run kubetee install (or pass --namespace if you installed elsewhere)' }];
  }
  const findings: Finding[] = [];
  const nodeFindings = snapshot.nodes.map((n) => checkNode(snapshot, n));
  findings.push(...nodeFindings.flat());
  const sgxNodes = nodeFindings.filter((f) => !f.some((x) => x.code === 'NODE_NOT_SGX'));
  if (sgxNodes.length === 0) {
    findings.push({ scope: 'cluster', severity: 'error', code: 'NO_SGX_NODES', message: 'no SGX node in the cluster: enclave pods cannot be scheduled', hint: 'add nodes of an SGX instance type and run `kubetee render node-init` on them' });
  }
  findings.push(checkWorkload(`component/${COMPONENTS.nodeAgent}`, findLive(snapshot.daemonSets, COMPONENTS.nodeAgent), 'DaemonSet', `kubectl -n ${snapshot.namespace} describe daemonset ${COMPONENTS.nodeAgent}`));
  if (aesmOnHosts(snapshot)) {
    findings.push({ scope: `component/${COMPONENTS.aesm}`, severity: 'ok', code: 'COMPONENT_OK', message: 'not installed by kubetee (aesm.enabled: false): each SGX node runs AESM itself (render node-init); checked per node' });
  } else {
    findings.push(checkWorkload(`component/${COMPONENTS.aesm}`, findLive(snapshot.daemonSets, COMPONENTS.aesm), 'DaemonSet', `kubectl -n ${snapshot.namespace} describe daemonset ${COMPONENTS.aesm}`));
  }
  findings.push(...checkAesmPccs(snapshot));
  findings.push(...checkWebhook(snapshot));
  findings.push(...checkRuntimeClasses(snapshot));
  findings.push(...checkKbs(snapshot));
  return findings;
}

export function blocking(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}
