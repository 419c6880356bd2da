import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Registry } from 'prom-client';
import { KubeteeError, isKubeteeError } from '../common/errors.js';
import { KbsStoreError } from './store/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { QuoteVerifier } from '../attestation/index.js';
import type { SecretService } from './secrets/service.js';
import type { TokenService } from './auth/tokens.js';
import { adminRoutes } from './admin/routes.js';
import { compilePolicy, DEFAULT_ACCEPTED_STATUSES } from './policy/engine.js';
import type { CollateralProvider } from './protocol/collateral-source.js';
import { KbsMetrics } from './protocol/metrics.js';
import { TokenBucketLimiter } from './protocol/rate-limit.js';
import { kbsProtocolRoutes } from './protocol/routes.js';
import { identityRoutes } from './identity/routes.js';
import type { WorkloadCa } from './identity/ca.js';
import { SessionManager } from './protocol/session.js';
import { AttestationTokenIssuer } from './protocol/token.js';
import { StoredTokenKeys } from './protocol/token-keys.js';

export interface KbsRateLimit {
  /** Sustained requests per second per client IP. */
  ratePerSecond: number;
  burst: number;
}

export interface KbsServerOptions {
  /** The secret lifecycle service (store, envelope keys, audit). */
  service: SecretService;
  /** Admin bearer tokens; when given, the admin API is mounted under /admin/v1. */
  tokens?: TokenService;
  verifier: Pick<QuoteVerifier, 'verify'>;
  collateral: CollateralProvider;
  /** The broker's clock (injectable so fixture quotes verify at their own time). */
  clock?: () => Date;
  logger?: Logger;
  /** TCB statuses the default policy accepts (default UpToDate, SWHardeningNeeded). */
  acceptedStatuses?: readonly string[];
  /** Session and nonce lifetime (default 5 min). */
  sessionTtlMs?: number;
  /** Live sessions this process may open before /auth answers KBS_BUSY (default 100 000; per replica). */
  maxSessions?: number;
  /** Attestation token lifetime (default 300 s). */
  tokenTtlSeconds?: number;
  /**
   * A fixed ES256 key signing attestation tokens. Default: the keys kept in
   * the store (created on first start, shared by every replica, kept across
   * restarts). A key given here is not stored: only this process accepts its tokens.
   */
  tokenSigningKey?: KeyObject;
  /** How often expired sessions are swept and the signing keys re-read (default 30 s). */
  maintenanceIntervalMs?: number;
  /** Per-IP limits on /auth and /attest; false disables (benchmarks, trusted ingress). Default 20/s, burst 40. */
  rateLimit?: KbsRateLimit | false;
  /** Largest request body in bytes (default 2 MiB, Trustee's default). */
  bodyLimitBytes?: number;
  /** 'trustee' answers 401 where kubetee answers 403/404 (see docs/key-broker.md). */
  statusMode?: 'kubetee' | 'trustee';
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Metrics registry (default: a private one served at /metrics). */
  metricsRegistry?: Registry;
  /** Notes that the simulated platform's root is trusted (logged loudly; shown on /readyz). */
  trustsSimulatedRoot?: boolean;
  /** Attested workload certificates under /kbs/v0/identity (src/kbs/identity). */
  identity?: { ca: WorkloadCa; ttlSeconds?: number };
}

export interface KbsServer {
  readonly app: FastifyInstance;
  readonly metrics: KbsMetrics;
  readonly sessions: SessionManager;
  readonly tokens: AttestationTokenIssuer;
  /** Listens and returns the base URL. */
  listen(options: { host?: string; port?: number }): Promise<string>;
  close(): Promise<void>;
}

export interface KbsPluginOptions extends Omit<KbsServerOptions, 'tls' | 'bodyLimitBytes'> {
  /** Filled in by createKbsServer; embedders may leave them out. */
  sessions?: SessionManager;
  tokenIssuer?: AttestationTokenIssuer;
  metrics?: KbsMetrics;
  secureCookie?: boolean;
}

/**
 * Mounts the key broker (Trustee protocol routes and, with `tokens`, the
 * admin API) on an existing fastify instance: this is how `kubetee up` embeds
 * it. Does not add /metrics, /healthz or /readyz (the host server owns those).
 */
export async function kbsPlugin(app: FastifyInstance, options: KbsPluginOptions): Promise<void> {
  const parts = await buildParts(options);
  await app.register(kbsProtocolRoutes, {
    service: options.service,
    evidence: { verifier: options.verifier, collateral: options.collateral },
    sessions: parts.sessions,
    tokens: parts.tokens,
    metrics: parts.metrics,
    clock: parts.clock,
    logger: parts.logger,
    acceptedStatuses: parts.acceptedStatuses,
    statusMode: options.statusMode ?? 'kubetee',
    limiters: parts.limiters,
    secureCookie: options.secureCookie ?? false,
  });
  if (options.identity) {
    await app.register(identityRoutes, { ...options.identity, tokens: parts.tokens, service: options.service, clock: parts.clock, logger: parts.logger, acceptedStatuses: parts.acceptedStatuses });
  }
  // Maintenance: expired sessions leave the store (bounded work per tick; any replica sweeps all
  // replicas' sessions), and a signing key rotated on another replica is picked up.
  const keys = parts.tokens.keys;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      await parts.sessions.sweep();
      if (keys instanceof StoredTokenKeys) await keys.refresh();
    } catch (err) {
      parts.logger.warn({ err: (err as Error).message }, 'kbs maintenance (session sweep, signing key refresh) failed; retrying on the next tick');
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), parts.maintenanceIntervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  if (options.tokens) {
    const acceptedStatuses = parts.acceptedStatuses;
    await app.register(adminRoutes, {
      service: options.service,
      tokens: options.tokens,
      onTokenSigningKeyRotated: async () => {
        if (keys instanceof StoredTokenKeys) await keys.refresh();
      },
      validatePolicy: (document: string, path: string) => {
        try {
          compilePolicy(document, `policy for ${path}`, acceptedStatuses);
        } catch (err) {
          // The admin API's code for a refused document; the policy engine's message says what and where.
          throw new KbsStoreError('POLICY_INVALID', (err as Error).message, { cause: err, ...(isKubeteeError(err) && err.hint ? { hint: err.hint } : {}) });
        }
      },
    });
  }
}

async function buildParts(options: KbsPluginOptions) {
  const clock = options.clock ?? (() => new Date());
  const now = (): number => clock().getTime();
  const logger = options.logger ?? silentLogger();
  const maintenanceIntervalMs = options.maintenanceIntervalMs ?? 30_000;
  const ttlSeconds = options.tokenTtlSeconds ?? 300;
  const tokens =
    options.tokenIssuer ??
    new AttestationTokenIssuer({
      now,
      ttlSeconds,
      ...(options.tokenSigningKey
        ? { signingKey: options.tokenSigningKey }
        : { keys: await StoredTokenKeys.open({ service: options.service, now, ttlSeconds, refreshMs: maintenanceIntervalMs, logger }) }),
    });
  const sessions =
    options.sessions ??
    new SessionManager({
      store: options.service.store.sessions,
      now,
      randomBytes,
      verifyToken: (token) => tokens.verify(token),
      ...(options.sessionTtlMs !== undefined ? { ttlMs: options.sessionTtlMs } : {}),
      ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
    });
  const metrics = options.metrics ?? new KbsMetrics({ ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}), sessionCount: () => sessions.size });
  const rate = options.rateLimit === undefined ? { ratePerSecond: 20, burst: 40 } : options.rateLimit;
  const limiters = rate
    ? { auth: new TokenBucketLimiter({ ...rate, now }), attest: new TokenBucketLimiter({ ...rate, now }) }
    : { auth: undefined, attest: undefined };
  const acceptedStatuses = options.acceptedStatuses ?? DEFAULT_ACCEPTED_STATUSES;
  if (acceptedStatuses.length === 0) throw new KubeteeError('CONFIG_INVALID', 'the accepted TCB status list is empty', { hint: 'pass at least one --accept-status' });
  return { clock, logger, sessions, tokens, metrics, limiters, acceptedStatuses, maintenanceIntervalMs };
}

/**
 * Creates the standalone broker server (`kubetee kbs serve`): the protocol
 * and admin routes plus /metrics, /healthz and /readyz, request size limits,
 * rate limiting and optional TLS. Call `listen` to start it.
 */
export async function createKbsServer(options: KbsServerOptions): Promise<KbsServer> {
  const parts = await buildParts(options);
  const bodyLimit = options.bodyLimitBytes ?? 2 * 1024 * 1024;
  const base = {
    loggerInstance: parts.logger as FastifyBaseLogger,
    bodyLimit,
    // Bound slow clients: whole request within 30 s, idle keep-alive 5 s.
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
  };
  const app = (options.tls ? Fastify({ ...base, https: { cert: options.tls.cert, key: options.tls.key } }) : Fastify(base)) as unknown as FastifyInstance;
  if (options.trustsSimulatedRoot) {
    parts.logger.warn('DEVELOPMENT ONLY: the simulated SGX platform root CA is trusted; quotes from the simulator will verify. Never use --trust-sim-root in production.');
  }
  await app.register(kbsPlugin, { ...options, sessions: parts.sessions, tokenIssuer: parts.tokens, metrics: parts.metrics, secureCookie: options.tls !== undefined });

  app.get('/metrics', async (_req, reply) => {
    void reply.type(parts.metrics.registry.contentType);
    return parts.metrics.registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      const schema = await options.service.store.schemaVersion();
      const seen = parts.metrics.lastCollateral;
      return {
        status: 'ready',
        store: options.service.store.dialect,
        schema,
        simulatedRootTrusted: options.trustsSimulatedRoot === true,
        // Known once a quote has verified; doctor warns before it expires.
        ...(seen ? { collateral: { expiresAt: seen.expiresAt.toISOString(), observedAt: seen.observedAt.toISOString() } } : {}),
      };
    } catch (err) {
      return reply.code(503).send({ status: 'not ready', reason: `store unavailable: ${(err as Error).message}` });
    }
  });

  return {
    app,
    metrics: parts.metrics,
    sessions: parts.sessions,
    tokens: parts.tokens,
    async listen({ host = '127.0.0.1', port = 0 }) {
      try {
        await app.listen({ host, port });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new KubeteeError(code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'LISTEN_FAILED', `the key broker cannot listen on ${host}:${port} (${code ?? (err as Error).message})`, {
          cause: err,
          hint: code === 'EADDRINUSE' ? 'stop the process holding the port or pass another --listen' : 'check --listen',
        });
      }
      const addr = app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return `${options.tls ? 'https' : 'http'}://${shownHost}:${actualPort}`;
    },
    async close() {
      await app.close();
    },
  };
}

export { staticCollateral, loadCollateralPath, pccsCollateral, combinedCollateral, type CollateralProvider } from './protocol/collateral-source.js';
export { KBS_PROTOCOL_VERSION, SESSION_COOKIE } from './protocol/constants.js';
export { KbsProtocolError, KBS_PROTOCOL_ERRORS, type KbsProtocolErrorCode } from './protocol/errors.js';
