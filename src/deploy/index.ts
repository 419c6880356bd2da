/**
 * kubetee deploy: render every manifest, install/upgrade/uninstall with
 * server-side apply, prepare SGX nodes, and check a cluster (doctor).
 *
 * @example
 * import { resolveValues, renderManifests, toYamlStream, generateWebhookTls, serviceDnsNames } from 'kubetee/deploy';
 * const values = resolveValues({ profile: 'intel' }, 'inline');
 * const tls = await generateWebhookTls({ dnsNames: serviceDnsNames('kubetee-webhook', values.namespace), now: new Date() });
 * process.stdout.write(toYamlStream(renderManifests(values, tls)));
 */
export { resolveValues, loadValuesFile, parseValuesText, valuesSchema, type Values, type ValuesInput, type RuntimeClassValues } from './values.js';
export { renderManifests, toYamlStream } from './render.js';
export { validateObjects } from './validate-objects.js';
export { generateWebhookTls, serviceDnsNames, tlsProblems, type WebhookTls } from './webhook-tls.js';
export { nodeInitScript, renderNodeInit, renderNodeInitCloudInit, renderNodeInitDaemonSet, checkPccsUrl, DEFAULT_PCCS_URL, type NodeInitFormat } from './node-init.js';
export { connectCluster, loadKubeConfig, type Cluster, type ClusterOptions } from './cluster.js';
export { install, staleObjects, webhookTlsFor, type InstallOptions, type InstallResult } from './install.js';
export { uninstall, listInstalled, INSTALLED_KINDS, type UninstallOptions, type UninstallResult } from './uninstall.js';
export { rolloutState, waitForRollouts, type RolloutState, type WaitOptions } from './rollout.js';
export { describeChange, lineDiff, type ChangeKind } from './diff.js';
export { runChecks, blocking, type ClusterSnapshot, type Finding, type FindingCode, type Severity } from './doctor/checks.js';
export { collectSnapshot, probeWebhook, probeKbs } from './doctor/collect.js';
export { formatReport, formatJson } from './doctor/report.js';
export { sgxCapability, ALIBABA_SGX_INSTANCE_TYPES, type SgxCapability } from './instance-types.js';
export { DeployError, type DeployErrorCode } from './errors.js';
export { COMPONENTS, FIELD_MANAGER, PART_OF_SELECTOR } from './names.js';
