import Fastify, { type FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { ResourceProfile } from '../common/labels.js';
import { describeError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import { WebhookError } from './errors.js';
import { createAdmissionHandler, type AdmissionHandler } from './handler.js';
import type { AdmissionPolicy } from './policy/schema.js';
import type { PublishResult } from './publish-ca-bundle.js';
import type { TlsSource } from './tls/tls-source.js';
import { WEBHOOK_CONFIGURATION_NAME } from './webhook-configurations.js';
import type { DecisionLog } from './decision-log.js';
import { readFileSync } from 'node:fs';
import { parsePolicy } from './policy/load-policy.js';

function readPolicyText(path: string): string {
  return readFileSync(path, 'utf8');
}

export interface WebhookServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  tls: TlsSource;
  policy: AdmissionPolicy;
  profile: ResourceProfile;
  logger?: Logger;
  decisionLog?: DecisionLog;
  /**
   * The file `policy` was loaded from. Re-read on every refresh; a valid new
   * document replaces the policy without a restart (a ConfigMap update), an
   * invalid one is logged and the previous policy stays in force.
   */
  policyFile?: string;
  /** When set, the CA bundle is written into the webhook configurations named `configurationName`. */
  kubeconfig?: string;
  configurationName?: string;
  /** How often TLS material is checked for rotation or file changes (default 60 s). */
  refreshIntervalMs?: number;
  /** Delay before retrying a failed or incomplete caBundle publication (default 10 s). */
  publishRetryMs?: number;
}

export interface WebhookServer {
  /** https://host:port */
  readonly url: string;
  readonly port: number;
  readonly handler: AdmissionHandler;
  readonly app: FastifyInstance;
  /** Checks TLS now (rotate or reload), swaps the served certificate and republishes the bundle if it changed. */
  refreshTls(): Promise<'none' | 'certificate' | 'ca'>;
  /** Re-reads the policy file now; 'reloaded', 'unchanged', or the problem (the old policy stays). */
  refreshPolicy(): 'reloaded' | 'unchanged' | { error: string };
  /** The last caBundle publication (undefined without --kubeconfig or before the first attempt). */
  lastPublish(): PublishResult | { error: string } | undefined;
  close(): Promise<void>;
}

/**
 * Starts `kubetee webhook serve`: HTTPS with the admission routes,
 * `/healthz` (process alive), `/readyz` (serving with valid TLS) and
 * `/metrics` on one port. TLS is reloaded in place (no restart, no dropped
 * connections) when the source rotates it.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const logger = options.logger ?? silentLogger();
  // The Kubernetes client is loaded only to publish the CA bundle: it is ~27 MB of heap
  // that every major GC would otherwise mark while the webhook admits pods.
  const publisher = options.kubeconfig ? await import('./publish-ca-bundle.js') : undefined;
  const handler = createAdmissionHandler({ policy: options.policy, profile: options.profile, logger, ...(options.decisionLog ? { decisionLog: options.decisionLog } : {}) });
  const initial = options.tls.material();
  // No fastify logger: per-request lines would dominate at admission rates; the
  // handler logs decisions (denials at info) through our own logger instead.
  const app = Fastify({
    https: { cert: initial.certPem, key: initial.keyPem, minVersion: 'TLSv1.2' },
    // The API server keeps connections open; keep them longer than its idle timeout.
    keepAliveTimeout: 65_000,
    // Bound slow or stuck clients (the API server's own timeout is at most 30 s).
    requestTimeout: 30_000,
  }) as unknown as FastifyInstance;
  let closing = false;
  let tlsError: string | undefined;
  let published: PublishResult | { error: string } | undefined;
  let policyError: string | undefined;
  let policyText: string | undefined;
  try {
    policyText = options.policyFile ? readPolicyText(options.policyFile) : undefined;
  } catch {
    policyText = undefined; // gone since it was loaded; the next refresh reports it
  }

  app.get('/healthz', async () => ({ status: 'ok', version: VERSION }));
  app.get('/readyz', async (_req, reply) => {
    const m = options.tls.material();
    const problems = [closing ? 'shutting down' : undefined, m.notAfter.getTime() <= Date.now() ? 'serving certificate expired' : undefined, tlsError].filter(Boolean);
    // A rejected policy update is reported but does not make the replica unready: the
    // previous valid policy is still enforced, and unready replicas would block every pod.
    const body = { status: problems.length ? 'not ready' : 'ready', problems, certificateNotAfter: m.notAfter.toISOString(), caBundlePublished: published, ...(policyError ? { policyUpdateRejected: policyError } : {}) };
    return reply.code(problems.length ? 503 : 200).send(body);
  });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', handler.metrics.registry.contentType).send(await handler.metrics.registry.metrics()));
  await app.register(handler.plugin);

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new WebhookError('PORT_IN_USE', `port ${options.port} on ${options.host} is already in use`, { cause: err, hint: 'stop the process that holds it or pass --listen HOST:<another port>' });
    throw new WebhookError('LISTEN_FAILED', `cannot listen on ${options.host}:${options.port} (${code ?? describeError(err)})`, { cause: err, hint: 'check --listen' });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `https://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  const api = publisher && options.kubeconfig ? publisher.admissionClientFromKubeconfig(options.kubeconfig) : undefined;
  const configurationName = options.configurationName ?? WEBHOOK_CONFIGURATION_NAME;
  let retryTimer: NodeJS.Timeout | undefined;
  async function publish(): Promise<void> {
    const bundle = options.tls.material().caBundlePem;
    if (!api || !publisher || !bundle || closing) return;
    clearTimeout(retryTimer);
    try {
      published = await publisher.publishCaBundle(api, configurationName, bundle);
      logger.info({ ...published }, 'caBundle published');
      if (published.missing.length) retryTimer = setTimeout(() => void publish(), options.publishRetryMs ?? 10_000).unref();
    } catch (err) {
      published = { error: describeError(err) };
      logger.warn({ err: describeError(err) }, 'caBundle publication failed; retrying');
      retryTimer = setTimeout(() => void publish(), options.publishRetryMs ?? 10_000).unref();
    }
  }

  async function refreshTls(): Promise<'none' | 'certificate' | 'ca'> {
    let changed: 'none' | 'certificate' | 'ca';
    try {
      changed = await options.tls.refresh();
      tlsError = undefined;
    } catch (err) {
      tlsError = describeError(err);
      logger.error({ err: tlsError }, 'TLS refresh failed; still serving the previous certificate');
      return 'none';
    }
    if (changed !== 'none') {
      const m = options.tls.material();
      // New handshakes use the new pair; open connections finish on the old one.
      (app.server as HttpsServer).setSecureContext({ cert: m.certPem, key: m.keyPem, minVersion: 'TLSv1.2' });
      logger.info({ changed, notAfter: m.notAfter.toISOString() }, 'TLS material rotated');
      await publish();
    }
    return changed;
  }
  function refreshPolicy(): 'reloaded' | 'unchanged' | { error: string } {
    if (!options.policyFile) return 'unchanged';
    let text: string;
    try {
      text = readPolicyText(options.policyFile);
    } catch (err) {
      policyError = describeError(err);
      return { error: policyError };
    }
    if (text === policyText) return 'unchanged';
    try {
      handler.setPolicy(parsePolicy(text, options.policyFile));
    } catch (err) {
      policyError = describeError(err);
      logger.error({ err: policyError, file: options.policyFile }, 'policy update rejected; the previous policy stays in force');
      return { error: policyError };
    }
    policyText = text;
    policyError = undefined;
    logger.info({ file: options.policyFile, defaultTrustLevel: handler.policy().defaultTrustLevel }, 'policy reloaded');
    return 'reloaded';
  }
  const refreshTimer = setInterval(() => {
    refreshPolicy();
    void refreshTls();
  }, options.refreshIntervalMs ?? 60_000).unref();
  await publish();
  logger.info({ url, tls: options.tls.description, profile: options.profile, defaultTrustLevel: options.policy.defaultTrustLevel }, 'webhook ready');

  return {
    url,
    port,
    handler,
    app,
    refreshTls,
    refreshPolicy,
    lastPublish: () => published,
    async close() {
      closing = true;
      clearInterval(refreshTimer);
      clearTimeout(retryTimer);
      await app.close();
    },
  };
}
