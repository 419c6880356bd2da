// The Kubernetes client (~40 MB of heap, ~0.4 s to load) is imported only by the commands that talk to a cluster.
import { Option, type Command } from 'commander';
import { parsePositiveInt } from '../cli/options.js';
import { DeployError } from './errors.js';
import { blocking, runChecks } from './doctor/checks.js';
import { formatJson, formatReport } from './doctor/report.js';
import { COMPONENTS } from './names.js';
import { DEFAULT_PCCS_URL, renderNodeInit, type NodeInitFormat } from './node-init.js';
import { renderManifests, toYamlStream } from './render.js';
import { loadValuesFile, resolveValues, type Values } from './values.js';
import { generateWebhookTls, serviceDnsNames } from './webhook-tls.js';

interface ValuesFlags {
  values?: string;
  profile?: 'alibaba' | 'intel';
}
interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
}

function valuesFrom(flags: ValuesFlags): Values {
  const overrides = flags.profile ? { profile: flags.profile } : {};
  return flags.values ? loadValuesFile(flags.values, overrides) : resolveValues({}, 'defaults', overrides);
}

const profileOption = (): Option => new Option('--profile <profile>', 'EPC resource profile').choices(['alibaba', 'intel']);
const print = (line: string): void => void process.stdout.write(`${line}\n`);

/** `kubetee render`, `render node-init`, `install`, `uninstall`, `doctor`. */
export function registerDeploy(program: Command): void {
  const render = program
    .command('render')
    .description('print every manifest kubetee installs as one YAML stream (validated offline)')
    .addOption(profileOption())
    .option('--values <file>', 'values file (YAML); see docs/install.md')
    .action(async (opts: ValuesFlags) => {
      const values = valuesFrom(opts);
      // Offline render: a fresh webhook CA and certificate (install reuses the cluster's).
      const tls = await generateWebhookTls({ dnsNames: serviceDnsNames(COMPONENTS.webhook, values.namespace), now: new Date() });
      process.stdout.write(toYamlStream(renderManifests(values, tls)));
    });
  render
    .command('node-init')
    .description('print the SGX node initialization (driver check, PSW/DCAP + AESM, quote provider -> PCCS)')
    .option('--pccs <url>', 'PCCS base URL the quote provider library uses', DEFAULT_PCCS_URL)
    .addOption(new Option('--format <format>', 'cloud-init user data or a one-shot privileged DaemonSet').choices(['cloud-init', 'daemonset']).default('cloud-init'))
    .option('--values <file>', 'values file (namespace and node selection for the DaemonSet)')
    .action((opts: { pccs: string; format: NodeInitFormat; values?: string }) => {
      process.stdout.write(renderNodeInit(opts.format, opts.pccs, valuesFrom({ ...(opts.values ? { values: opts.values } : {}) })));
    });

  const clusterOptions = (cmd: Command): Command =>
    cmd.option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)').option('--context <name>', 'kubeconfig context to use');

  clusterOptions(program.command('install'))
    .description('install or upgrade kubetee in a cluster (server-side apply) and wait for the rollout')
    .addOption(profileOption())
    .option('--values <file>', 'values file (YAML); see docs/install.md')
    .option('--dry-run', 'show what would change (server-side dry run + diff); change nothing')
    .option('--timeout <seconds>', 'how long to wait for the rollout', parsePositiveInt, 300)
    .action(async (opts: ValuesFlags & ClusterFlags & { dryRun?: boolean; timeout: number }) => {
      const values = valuesFrom(opts);
      const [{ connectCluster }, { install }] = await Promise.all([import('./cluster.js'), import('./install.js')]);
      const cluster = connectCluster(opts);
      print(`${opts.dryRun ? 'dry run against' : 'installing into'} ${cluster.server} (context ${cluster.context}), profile ${values.profile}`);
      await install(cluster, values, { dryRun: Boolean(opts.dryRun), timeoutMs: opts.timeout * 1000, print });
    });

  clusterOptions(program.command('uninstall'))
    .description('remove everything kubetee installed (broker data only with --delete-broker-secrets)')
    .option('--values <file>', 'values file used at install (for the namespace)')
    .option('--delete-broker-secrets', "also delete the key broker's data volume and secrets (irreversible)")
    .option('--timeout <seconds>', 'how long to wait for deletion to finish', parsePositiveInt, 180)
    .action(async (opts: ValuesFlags & ClusterFlags & { deleteBrokerSecrets?: boolean; timeout: number }) => {
      const values = valuesFrom(opts);
      const [{ connectCluster }, { uninstall }] = await Promise.all([import('./cluster.js'), import('./uninstall.js')]);
      const cluster = connectCluster(opts);
      print(`uninstalling from ${cluster.server} (context ${cluster.context})`);
      await uninstall(cluster, values, { deleteBrokerSecrets: Boolean(opts.deleteBrokerSecrets), timeoutMs: opts.timeout * 1000, print });
    });

  clusterOptions(program.command('doctor'))
    .description('check a cluster per node and component; exits non-zero when confidential workloads are blocked')
    .option('--namespace <name>', 'namespace kubetee is installed in', 'kubetee-system')
    .option('--kbs-url <url>', 'key broker base URL to check /readyz (e.g. through kubectl port-forward)')
    .option('--json', 'print the findings as JSON')
    .action(async (opts: ClusterFlags & { namespace: string; kbsUrl?: string; json?: boolean }) => {
      const [{ connectCluster }, { collectSnapshot }] = await Promise.all([import('./cluster.js'), import('./doctor/collect.js')]);
      const cluster = connectCluster(opts);
      const snapshot = await collectSnapshot(cluster, { namespace: opts.namespace, ...(opts.kbsUrl ? { kbsUrl: opts.kbsUrl } : {}), now: new Date() });
      const findings = runChecks(snapshot);
      process.stdout.write(opts.json ? formatJson(findings, { server: cluster.server, context: cluster.context }) : formatReport(findings, `kubetee doctor: ${cluster.server} (context ${cluster.context})`));
      const blockers = blocking(findings);
      if (blockers.length) {
        throw new DeployError('DOCTOR_BLOCKING', `${blockers.length} problem(s) block confidential workloads: ${blockers.map((f) => `${f.scope} ${f.code}`).join(', ')}`, {
          hint: 'fix the findings marked ERROR above (each has a fix line), then run kubetee doctor again',
        });
      }
    });
}
