import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../common/log.js';
import { isKubeteeError } from '../../common/errors.js';
import type { SecretService } from '../secrets/service.js';
import { parseResourcePath } from '../secrets/resource-path.js';
import { builtinDefaultPolicy, compilePolicy, type CompiledPolicy } from '../policy/engine.js';
import type { AttestationClaims } from '../policy/claims.js';
import { AttestationRequestSchema, verifyEvidence, type EvidenceVerifierDeps } from './attest.js';
import { errorResponse, KbsProtocolError, type KbsProtocolErrorCode } from './errors.js';
import { encryptToTee } from './jwe.js';
import type { KbsMetrics } from './metrics.js';
import type { TokenBucketLimiter } from './rate-limit.js';
import type { AttestedState, SessionManager } from './session.js';
import type { AttestationTokenIssuer } from './token.js';
import type { TeePubKey } from './tee-key.js';

import { KBS_PROTOCOL_VERSION, SESSION_COOKIE, SUPPORTED_TEES } from './constants.js';

export interface KbsProtocolRoutesOptions {
  service: Pick<SecretService, 'getReleasableSecret' | 'getPolicy' | 'appendAudit'>;
  evidence: EvidenceVerifierDeps;
  sessions: SessionManager;
  tokens: AttestationTokenIssuer;
  metrics: KbsMetrics;
  clock: () => Date;
  logger: Logger;
  acceptedStatuses: readonly string[];
  statusMode: 'kubetee' | 'trustee';
  limiters: { auth?: TokenBucketLimiter | undefined; attest?: TokenBucketLimiter | undefined };
  /** Adds `Secure` to the session cookie (the broker serves HTTPS). */
  secureCookie: boolean;
}

const RESOURCE_PREFIX = '/kbs/v0/resource/';

/**
 * The Trustee KBS protocol routes: /kbs/v0/auth, /kbs/v0/attest and
 * GET /kbs/v0/resource/<repo>/<type>/<tag>. A fastify plugin, so `kubetee up`
 * can mount it in its own server. Errors are encapsulated here: every refusal
 * is a Trustee `ErrorInformation` body with kubetee's `code` and `hint`.
 */
export async function kbsProtocolRoutes(app: FastifyInstance, o: KbsProtocolRoutesOptions): Promise<void> {
  const policyCache = new Map<string, CompiledPolicy>();
  const fallbackPolicy = builtinDefaultPolicy(o.acceptedStatuses);

  app.setErrorHandler((err: unknown, req, reply) => {
    const protocolError = toProtocolError(err, o.logger);
    const endpoint = endpointOf(req.url);
    o.metrics.denials.inc({ endpoint, reason: protocolError.reason ?? protocolError.code });
    const { status, body } = errorResponse(protocolError, o.statusMode);
    if (status >= 500) o.logger.error({ endpoint, code: protocolError.code, err: (err as Error).message }, 'kbs request failed');
    else o.logger.info({ endpoint, code: protocolError.code, reason: protocolError.reason }, 'kbs request refused');
    if (protocolError.code === 'KBS_RATE_LIMITED' && protocolError.retryAfterSeconds) void reply.header('Retry-After', String(protocolError.retryAfterSeconds));
    void reply.code(status).type('application/json').send(body);
  });

  const limit = (limiter: TokenBucketLimiter | undefined, req: FastifyRequest): void => {
    if (!limiter) return;
    const wait = limiter.take(req.ip);
    if (wait > 0) {
      const e = new KbsProtocolError('KBS_RATE_LIMITED', `too many requests from ${req.ip} to ${endpointOf(req.url)}`, { hint: `retry after ${wait} s` });
      e.retryAfterSeconds = wait;
      throw e;
    }
  };

  app.post('/kbs/v0/auth', async (req, reply) => {
    limit(o.limiters.auth, req);
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') throw new KbsProtocolError('KBS_REQUEST_INVALID', 'the /auth body must be a JSON object {version, tee, extra-params}', { hint: 'send Content-Type: application/json' });
    if (body['version'] !== KBS_PROTOCOL_VERSION) {
      throw new KbsProtocolError('KBS_VERSION_UNSUPPORTED', `protocol version ${JSON.stringify(body['version'])} is not supported; this broker speaks ${KBS_PROTOCOL_VERSION}`, {
        hint: 'use a guest client that speaks KBS protocol 0.4.0 (guest-components 0.14 or later)',
      });
    }
    const tee = body['tee'];
    if (typeof tee !== 'string' || !(SUPPORTED_TEES as readonly string[]).includes(tee)) {
      throw new KbsProtocolError('KBS_TEE_UNSUPPORTED', `tee ${JSON.stringify(tee)} is not supported; this broker verifies ${SUPPORTED_TEES.join(', ')}`, {
        hint: 'kubetee verifies Intel DCAP quotes (SGX, TDX)',
      });
    }
    const session = await o.sessions.create(tee);
    setSessionCookie(reply, session.id, session.expiresAtMs, o.secureCookie);
    // extra-params "" makes the client use SHA-384 for the binding (its default).
    return { nonce: session.nonce, 'extra-params': '' };
  });

  app.post('/kbs/v0/attest', async (req, reply) => {
    limit(o.limiters.attest, req);
    const parsed = AttestationRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new KbsProtocolError('KBS_REQUEST_INVALID', `the /attest body is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`, {
        hint: 'send {"runtime-data": {"nonce", "tee-pubkey"}, "tee-evidence": {"primary_evidence": {"quote"}, "additional_evidence"}}',
      });
    }
    const sessionId = readSessionCookie(req);
    const session = await o.sessions.claimNonce(sessionId, parsed.data['runtime-data'].nonce);
    try {
      const now = o.clock();
      const evidence = await verifyEvidence(parsed.data, session.tee, session.nonce, now, o.evidence);
      o.metrics.verifySeconds.observe(evidence.verifyMs / 1000);
      o.metrics.noteCollateral(evidence.claims.collateralExpiresAt, now);
      const token = await o.tokens.issue(evidence.claims, evidence.teePubKey, evidence.runtimeData);
      await o.sessions.markAttested(session, { claims: evidence.claims, teePubKey: evidence.teePubKey, token });
      o.metrics.attestations.inc({ tee: evidence.claims.tee });
      req.log.info({ tee: evidence.claims.tee, mrenclave: evidence.claims.mrenclave, status: evidence.claims.status, debug: evidence.claims.debug }, 'tee attested');
      setSessionCookie(reply, session.id, session.expiresAtMs, o.secureCookie);
      return { token };
    } catch (err) {
      // Already out of 'challenged' (claimed), so the nonce cannot be used again even if this write fails.
      await o.sessions.markBurned(session).catch((burnErr: unknown) => o.logger.warn({ err: (burnErr as Error).message }, 'cannot mark a failed attestation session burned'));
      throw err;
    }
  });

  app.get('/kbs/v0/resource/*', async (req, reply) => {
    const attested = await authenticate(req);
    const rawPath = req.url.slice(RESOURCE_PREFIX.length).split('?')[0] ?? '';
    const path = decodeResourcePath(rawPath);
    const query = req.query as Record<string, string | undefined>;
    const version = query['version'] === undefined ? undefined : parseVersion(query['version']);
    const now = o.clock();
    const actor = actorOf(attested.claims);

    const policy = await policyFor(path);
    const decision = policy.evaluate(attested.claims, { now, resource: path });
    if (!decision.allowed) {
      await audit(actor, path, 'denied', `policy rule "${decision.rule}" (${decision.expression}): ${decision.reason}`, attested.claims);
      const e = new KbsProtocolError('KBS_POLICY_DENIED', `the policy for ${path} denies this TEE: rule "${decision.rule}" failed (${decision.expression}: ${decision.reason})`, {
        hint: 'the TEE\'s verified claims do not satisfy the resource policy; see `kubetee kbs policy get` and `kubetee kbs policy test`',
      });
      e.reason = decision.rule === 'no-debug' || decision.rule === 'accepted-status' ? `policy:${decision.rule}` : 'policy:rule';
      throw e;
    }

    let secret;
    try {
      secret = await o.service.getReleasableSecret(path, now, version === undefined ? {} : { version });
    } catch (err) {
      const mapped = storeErrorToProtocol(err, path);
      if (mapped.status === 403 || mapped.status === 404) await audit(actor, path, 'denied', mapped.code + (mapped.reason ? `:${mapped.reason}` : ''), attested.claims);
      throw mapped;
    }
    try {
      // Audit before answering: a release that cannot be recorded does not happen (fail closed).
      await audit(actor, path, 'success', `version ${secret.version}`, attested.claims);
      const jwe = encryptToTee(attested.teePubKey, secret.value);
      o.metrics.releases.inc({ tee: attested.claims.tee });
      req.log.info({ resource: path, version: secret.version, mrenclave: attested.claims.mrenclave }, 'secret released');
      return reply.type('application/json').send(jwe);
    } finally {
      secret.value.fill(0);
    }
  });

  // Any other plugin name under /kbs/v0 (Trustee: PluginNotFound, 404).
  app.all('/kbs/v0/*', async (req) => {
    throw new KbsProtocolError('KBS_RESOURCE_NOT_FOUND', `no ${req.method} ${req.url.split('?')[0]} on this broker`, {
      hint: 'this broker serves /kbs/v0/auth, /kbs/v0/attest and GET /kbs/v0/resource/<repo>/<type>/<tag>',
    });
  });

  async function authenticate(req: FastifyRequest): Promise<AttestedState | { claims: AttestationClaims; teePubKey: TeePubKey }> {
    const sessionId = readSessionCookie(req);
    if (sessionId) {
      const session = await o.sessions.get(sessionId);
      if (session.state === 'attested' && session.attested) return session.attested;
      if (!bearerOf(req)) {
        throw new KbsProtocolError('KBS_SESSION_UNKNOWN', 'this session has not completed attestation', { hint: 'POST /kbs/v0/attest with evidence first' });
      }
    }
    const bearer = bearerOf(req);
    if (bearer) return o.tokens.verify(bearer);
    throw new KbsProtocolError('KBS_SESSION_MISSING', 'no attested session cookie and no attestation token', {
      hint: 'attest first (POST /kbs/v0/auth then /kbs/v0/attest) and send the kbs-session-id cookie, or Authorization: Bearer <token>',
    });
  }

  async function policyFor(path: string): Promise<CompiledPolicy> {
    let record;
    try {
      record = await o.service.getPolicy(path);
    } catch (err) {
      if (!isKubeteeError(err) || err.code !== 'KBS_ROW_TAMPERED') throw err;
      // The row failed its MAC (edited, moved or inserted in the database): deny, never fall back; the service audited it.
      o.logger.error({ resource: path, code: err.code, err: err.message }, 'stored policy row failed its integrity check; release refused');
      const e = new KbsProtocolError('KBS_ROW_TAMPERED', `the stored policy for ${path} failed its integrity check: ${err.message}`, {
        cause: err,
        hint: 'the policy row was changed in the database without the master key; review the audit trail and set the policy again with `kubetee kbs policy set`',
      });
      e.reason = err.code;
      throw e;
    }
    if (!record) return fallbackPolicy;
    const cacheKey = `${record.path}\n${record.document}`;
    let compiled = policyCache.get(cacheKey);
    if (!compiled) {
      try {
        compiled = compilePolicy(record.document, `policy ${record.path}`, o.acceptedStatuses);
      } catch (err) {
        // A stored document that no longer compiles denies (fail closed) and says why.
        throw new KbsProtocolError('KBS_INTERNAL', `the stored policy ${record.path} is invalid: ${(err as Error).message}`, {
          cause: err,
          hint: 'fix it with `kubetee kbs policy set`',
        });
      }
      if (policyCache.size >= 256) policyCache.clear();
      policyCache.set(cacheKey, compiled);
    }
    return compiled;
  }

  async function audit(actor: string, path: string, outcome: 'success' | 'denied', reason: string, claims: AttestationClaims): Promise<void> {
    try {
      await o.service.appendAudit({ actor, action: 'resource.release', resource: path, outcome, reason, claims: claims as unknown as Record<string, unknown> });
    } catch (err) {
      throw new KbsProtocolError('KBS_INTERNAL', `cannot record the ${outcome === 'success' ? 'release' : 'denial'} in the audit chain: ${(err as Error).message}`, {
        cause: err,
        hint: 'check the broker\'s database',
      });
    }
  }
}

function actorOf(claims: AttestationClaims): string {
  return `tee:${claims.tee}:${claims.tee === 'sgx' ? claims.mrenclave : (claims.td['mrtd'] ?? '')}`;
}

function decodeResourcePath(raw: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
    parseResourcePath(path);
  } catch (err) {
    throw new KbsProtocolError('KBS_RESOURCE_PATH_INVALID', `"${raw.slice(0, 100)}" is not a resource path: ${(err as Error).message}`, {
      cause: err,
      hint: 'request /kbs/v0/resource/<repo>/<type>/<tag>',
    });
  }
  return path;
}

function parseVersion(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new KbsProtocolError('KBS_REQUEST_INVALID', `version=${text.slice(0, 20)} is not a positive integer`, { hint: 'omit ?version for the current version' });
  return Number(text);
}

function storeErrorToProtocol(err: unknown, path: string): KbsProtocolError {
  if (err instanceof KbsProtocolError) return err;
  const code = isKubeteeError(err) ? err.code : undefined;
  const wrap = (c: KbsProtocolErrorCode, message: string, hint: string): KbsProtocolError => {
    const e = new KbsProtocolError(c, message, { cause: err, hint });
    e.reason = code;
    return e;
  };
  switch (code) {
    case 'RESOURCE_NOT_FOUND':
    case 'VERSION_NOT_FOUND':
      return wrap('KBS_RESOURCE_NOT_FOUND', `no resource ${path}${code === 'VERSION_NOT_FOUND' ? ' at that version' : ''}`, 'check the path; list resources with `kubetee secret list`');
    case 'SECRET_EXPIRED':
    case 'VERSION_DISABLED':
    case 'VERSION_DESTROYED':
      return wrap('KBS_SECRET_UNAVAILABLE', `${path} cannot be released: ${(err as Error).message}`, 'ask the operator to rotate, enable or extend the secret');
    case 'INVALID_RESOURCE_PATH':
      return wrap('KBS_RESOURCE_PATH_INVALID', (err as Error).message, 'request /kbs/v0/resource/<repo>/<type>/<tag>');
    default:
      return wrap('KBS_INTERNAL', `cannot read ${path} from the store: ${(err as Error).message}`, 'check the broker\'s database and master key');
  }
}

function toProtocolError(err: unknown, logger: Logger): KbsProtocolError {
  if (err instanceof KbsProtocolError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new KbsProtocolError('KBS_PAYLOAD_TOO_LARGE', 'the request body is larger than the broker accepts', { hint: 'requests are limited to a few MiB; send the quote, not more' });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new KbsProtocolError('KBS_REQUEST_INVALID', `bad request: ${e.message ?? 'unreadable body'}`, { hint: 'send a JSON body with Content-Type: application/json' });
  }
  if (isKubeteeError(err)) {
    const wrapped = new KbsProtocolError('KBS_INTERNAL', err.message, { cause: err, ...(err.hint ? { hint: err.hint } : {}) });
    wrapped.reason = err.code;
    return wrapped;
  }
  logger.error({ err: e.message }, 'unexpected error in a kbs route');
  return new KbsProtocolError('KBS_INTERNAL', 'internal error', { cause: err, hint: 'see the broker log' });
}

function endpointOf(url: string): string {
  if (url.startsWith('/kbs/v0/auth')) return 'auth';
  if (url.startsWith('/kbs/v0/attest')) return 'attest';
  if (url.startsWith(RESOURCE_PREFIX)) return 'resource';
  return 'other';
}

function readSessionCookie(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return /^[0-9a-f]{32}$/.test(v) ? v : '';
    }
  }
  return undefined;
}

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : undefined;
}

function setSessionCookie(reply: FastifyReply, id: string, expiresAtMs: number, secure: boolean): void {
  // Trustee sets only Expires; Path, HttpOnly and SameSite narrow it without changing what clients send.
  const attrs = [`${SESSION_COOKIE}=${id}`, `Expires=${new Date(expiresAtMs).toUTCString()}`, 'Path=/kbs/v0', 'HttpOnly', 'SameSite=Strict'];
  if (secure) attrs.push('Secure');
  void reply.header('Set-Cookie', attrs.join('; '));
}
