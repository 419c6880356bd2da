import { X509Certificate } from 'node:crypto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../common/errors.js';
import { TRUST_LABEL, type ResourceProfile } from '../common/labels.js';
import type { AdmissionPolicy } from '../webhook/policy/schema.js';
import type { ClientTarget } from '../webhook/webhook-configurations.js';
import type { TlsSource } from '../webhook/tls/tls-source.js';
import { parsePort } from './options.js';
import { waitForShutdownSignal } from '../common/signals.js';

// The webhook libraries (fastify, client-node, x509) load only when a webhook or
// policy command runs, so they cost nothing to every other kubetee command.
const WEBHOOK_CONFIGURATION_NAME = 'kubetee-admission';

/** Parses HOST:PORT (IPv6 as [::1]:8443). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not HOST:PORT (for example 0.0.0.0:8443 or [::1]:8443).`);
  return { host: (m[1] ?? m[2])!, port: parsePort(m[3]!) };
}

function parseLabels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`"${part}" is not key=value (for example ${TRUST_LABEL}=confidential).`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const profileOption = (): Option => new Option('--profile <profile>', "the cluster's active EPC resource profile").choices(['alibaba', 'intel']).default('alibaba');

/** The policy file, or the built-in policy of the profile (its default install's sandbox classes). */
async function policyFrom(path: string | undefined, profile?: ResourceProfile): Promise<AdmissionPolicy> {
  if (path) {
    const { loadPolicyFile } = await import('../webhook/policy/load-policy.js');
    return loadPolicyFile(resolve(path));
  }
  const builtIn = await import('../webhook/policy/default-policy.js');
  return profile ? builtIn.defaultPolicyFor(profile) : builtIn.DEFAULT_POLICY;
}

interface ServeOptions {
  listen: { host: string; port: number };
  tlsCert?: string;
  tlsKey?: string;
  caDir?: string;
  san: string[];
  policy?: string;
  profile: ResourceProfile;
  kubeconfig?: string;
  configurationName: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

async function serve(opts: ServeOptions): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new UsageError('USAGE', '--tls-cert and --tls-key go together', { hint: 'pass both, or --ca-dir DIR for a self-managed CA' });
  if (opts.tlsCert && opts.caDir) throw new UsageError('USAGE', '--tls-cert/--tls-key and --ca-dir are alternatives', { hint: 'pass one of them' });
  if (!opts.tlsCert && !opts.caDir) throw new UsageError('USAGE', 'no TLS configured: the API server only calls webhooks over HTTPS', { hint: 'pass --ca-dir DIR (kubetee creates and rotates a CA there) or --tls-cert FILE --tls-key FILE' });
  const policy = await policyFrom(opts.policy, opts.profile);
  const { createLogger } = await import('../common/log.js');
  const { startWebhookServer } = await import('../webhook/server.js');
  const { SelfManagedCa } = await import('../webhook/tls/self-managed-ca.js');
  const { fileTlsSource, selfManagedTlsSource } = await import('../webhook/tls/tls-source.js');
  const logger = createLogger({ level: opts.logLevel, name: 'kubetee-webhook' });
  let tls: TlsSource;
  if (opts.caDir) {
    const wildcard = opts.listen.host === '0.0.0.0' || opts.listen.host === '::';
    const hosts = [...new Set([...(wildcard ? ['127.0.0.1', 'localhost'] : [opts.listen.host]), ...opts.san])];
    tls = selfManagedTlsSource(await SelfManagedCa.open({ dir: resolve(opts.caDir), hosts }));
  } else {
    tls = fileTlsSource(resolve(opts.tlsCert!), resolve(opts.tlsKey!));
  }
  const server = await startWebhookServer({
    host: opts.listen.host,
    port: opts.listen.port,
    tls,
    policy,
    ...(opts.policy ? { policyFile: resolve(opts.policy) } : {}),
    profile: opts.profile,
    logger,
    configurationName: opts.configurationName,
    ...(opts.kubeconfig ? { kubeconfig: resolve(opts.kubeconfig) } : {}),
  });
  process.stdout.write(`kubetee webhook listening on ${server.url} (profile ${opts.profile}, default trust level ${policy.defaultTrustLevel})\n`);
  if (opts.caDir) process.stdout.write(`  CA bundle: ${resolve(opts.caDir, 'ca-bundle.crt')}\n`);
  await waitForShutdownSignal();
  await server.close();
  process.stdout.write('kubetee webhook stopped\n');
}

/** `kubetee webhook …` and `kubetee policy …`. */
export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook').description('the admission webhook: trust levels per namespace, SGX wiring, sandboxes');
  webhook
    .command('serve')
    .description('serve AdmissionReviews over HTTPS (/mutate, /validate, /healthz, /readyz, /metrics)')
    .option('--listen <host:port>', 'address to listen on', parseListen, { host: '0.0.0.0', port: 8443 })
    .option('--tls-cert <file>', 'serving certificate (PEM, with chain); re-read when it changes')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--ca-dir <dir>', 'self-managed CA: created, rotated and published as caBundle')
    .option('--san <name>', 'extra DNS name or IP for the self-managed certificate (repeatable)', collect, [])
    .option('--policy <file>', 'trust policy document (YAML or JSON), re-read every minute; built-in defaults without it')
    .addOption(profileOption())
    .option('--kubeconfig <file>', 'publish the CA bundle into the webhook configurations with this kubeconfig')
    .option('--configuration-name <name>', 'name of the Mutating/ValidatingWebhookConfiguration to publish to', WEBHOOK_CONFIGURATION_NAME)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(serve);
  webhook
    .command('manifests')
    .description('print the MutatingWebhookConfiguration and ValidatingWebhookConfiguration as YAML')
    .option('--url <base>', 'webhook base URL, e.g. https://10.0.0.5:8443')
    .option('--service <namespace/name>', 'in-cluster Service in front of the webhook')
    .option('--ca-bundle <file>', 'CA bundle PEM to embed as caBundle (e.g. <ca-dir>/ca-bundle.crt)')
    .option('--policy <file>', 'policy whose defaultTrustLevel decides where unlabelled namespaces go')
    .option('--timeout-seconds <n>', 'API server timeout per call (1-30)', (v) => Number(v), 5)
    .action(async (o: { url?: string; service?: string; caBundle?: string; policy?: string; timeoutSeconds: number }) => {
      if (!o.url === !o.service) throw new UsageError('USAGE', 'pass exactly one of --url or --service', { hint: 'for example --service kubetee-system/kubetee-webhook' });
      let target: ClientTarget;
      if (o.service) {
        const [namespace, name, extra] = o.service.split('/');
        if (!namespace || !name || extra !== undefined) throw new UsageError('USAGE', `--service "${o.service}" is not namespace/name`, { hint: 'for example --service kubetee-system/kubetee-webhook' });
        target = { service: { namespace, name } };
      } else {
        if (!/^https:\/\//.test(o.url!)) throw new UsageError('USAGE', `--url "${o.url}" must start with https://`, { hint: 'the API server calls webhooks over HTTPS only' });
        target = { url: o.url! };
      }
      let caBundlePem: string | undefined;
      if (o.caBundle) {
        try {
          caBundlePem = readFileSync(resolve(o.caBundle), 'utf8');
        } catch (err) {
          throw new UsageError('FILE_UNREADABLE', `cannot read ${o.caBundle}: ${(err as Error).message}`, { hint: 'check --ca-bundle' });
        }
        // The API server would reject (or silently fail TLS with) a bundle that is not a certificate: refuse it here.
        if (!isCertificatePem(caBundlePem)) {
          throw new UsageError('INPUT_INVALID', `--ca-bundle ${o.caBundle} is not a PEM certificate bundle`, { hint: 'pass <ca-dir>/ca-bundle.crt written by `kubetee webhook serve --ca-dir`' });
        }
      }
      if (!Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 1 || o.timeoutSeconds > 30) throw new UsageError('USAGE', '--timeout-seconds must be an integer from 1 to 30');
      const { buildWebhookConfigurations } = await import('../webhook/webhook-configurations.js');
      const { stringify } = await import('yaml');
      const { mutating, validating } = buildWebhookConfigurations({ target, policy: await policyFrom(o.policy), timeoutSeconds: o.timeoutSeconds, ...(caBundlePem ? { caBundlePem } : {}) });
      process.stdout.write(`${stringify(mutating)}---\n${stringify(validating)}`);
    });

  const policy = program.command('policy').description('check trust policy documents and explain admission decisions');
  policy
    .command('check')
    .description('validate a policy document; lists every problem at once')
    .argument('<file>', 'policy document (YAML or JSON)')
    .action(async (file: string) => {
      const p = await policyFrom(file);
      process.stdout.write(
        `policy OK: ${file}\n  default trust level: ${p.defaultTrustLevel}\n  sandbox runtime classes: ${p.sandboxRuntimeClasses.map((c) => `${c.name} (EPC: ${c.epc})`).join(', ')}; default ${p.sandboxed.defaultRuntimeClass}\n  host-kernel runtime classes: ${p.hostRuntimeClasses.length ? p.hostRuntimeClasses.join(', ') : 'none'}\n  pod overrides: ${Object.entries(p.podOverrides)
          .map(([k, v]) => `${k} → ${v.length ? v.join('|') : 'none'}`)
          .join('; ')}\n`,
      );
    });
  policy
    .command('explain')
    .description('show what the webhook would do to a pod, rule by rule, and why (exit 1 when it would be denied)')
    .argument('<pod.yaml>', 'a Pod (or Deployment/StatefulSet/DaemonSet/ReplicaSet/Job/CronJob) manifest')
    .option('--namespace-labels <k=v,...>', `labels of the pod's namespace, e.g. ${TRUST_LABEL}=confidential`, parseLabels, {})
    .option('--namespace <name>', "the pod's namespace (default: from the manifest, else \"default\")")
    .option('--policy <file>', 'trust policy document; built-in defaults without it')
    .addOption(profileOption())
    .addOption(new Option('--output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (file: string, o: { namespaceLabels: Record<string, string>; namespace?: string; policy?: string; profile: ResourceProfile; output: 'text' | 'json' }) => {
      let text: string;
      try {
        text = readFileSync(resolve(file), 'utf8');
      } catch (err) {
        throw new UsageError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the path of the pod manifest' });
      }
      const { podFromManifest } = await import('../webhook/pod-manifest.js');
      const { explainPod, formatExplanation } = await import('../webhook/explain.js');
      const manifest = podFromManifest(text, file);
      const e = explainPod({ pod: manifest.pod, namespace: o.namespace ?? manifest.namespace ?? 'default', namespaceLabels: o.namespaceLabels, policy: await policyFrom(o.policy, o.profile), profile: o.profile });
      if (o.output === 'json') {
        process.stdout.write(
          `${JSON.stringify({ admitted: e.admitted, trust: e.validate.trust ?? e.mutate.trust, patch: e.mutate.patch, mutate: e.mutate.results, validate: e.validate.results, pod: e.validate.pod }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(formatExplanation(e));
      }
      // Like `kbs policy test`: scripts and CI can gate on the verdict (2 stays usage errors).
      if (!e.admitted) process.exitCode = 1;
    });
}

/** True when the text is one or more PEM certificates that parse. */
function isCertificatePem(text: string): boolean {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return false;
  try {
    for (const b of blocks) new X509Certificate(b);
    return true;
  } catch {
    return false;
  }
}
