import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Logger } from '../../common/log.js';
import { isKubeteeError } from '../../common/errors.js';
import type { AttestationClaims } from '../policy/claims.js';
import type { SecretService } from '../secrets/service.js';
import type { AttestationTokenIssuer } from '../protocol/token.js';
import type { WorkloadCa } from './ca.js';
import { IDENTITY_ERROR_STATUS, IdentityError } from './errors.js';
import { spiffeIdFor } from './spiffe-id.js';
import { issueSvid, spiffeBundle } from './svid.js';

/** The member of the attested `additional_evidence` JSON that names the certificate key. */
export const SVID_PUBKEY_MEMBER = 'svid-pubkey';
export const IDENTITY_PREFIX = '/kbs/v0/identity';

export interface IdentityRoutesOptions {
  ca: WorkloadCa;
  tokens: Pick<AttestationTokenIssuer, 'verify'>;
  service: Pick<SecretService, 'appendAudit'>;
  clock: () => Date;
  logger: Logger;
  acceptedStatuses: readonly string[];
  /** Certificate lifetime (default 3600 s). */
  ttlSeconds?: number;
}

/**
 * Attested workload certificates:
 * - `POST /kbs/v0/identity/svid` with `Authorization: Bearer <attestation token>`:
 *   an X.509-SVID for the P-256 key the enclave bound into REPORTDATA through
 *   the attestation's `additional_evidence` (`{"svid-pubkey": JWK}`), so the
 *   certificate key is proven to come from the attested enclave and is not the
 *   JWE key. Refused for debug enclaves and TCB statuses the broker does not
 *   accept; every issuance is audited (`identity.issue`).
 * - `GET /kbs/v0/identity/bundle`: the SPIFFE trust bundle (JWKS);
 *   `GET /kbs/v0/identity/bundle.pem`: the same CA as PEM.
 */
export async function identityRoutes(app: FastifyInstance, o: IdentityRoutesOptions): Promise<void> {
  const ttlSeconds = o.ttlSeconds ?? 3600;
  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = isKubeteeError(err) && err.code in IDENTITY_ERROR_STATUS ? (err as IdentityError) : new IdentityError('IDENTITY_INTERNAL', (err as Error).message);
    const status = IDENTITY_ERROR_STATUS[e.code];
    if (status >= 500) o.logger.error({ code: e.code, err: e.message }, 'workload certificate request failed');
    else o.logger.info({ code: e.code }, 'workload certificate refused');
    void reply.code(status).type('application/json').send({ code: e.code, detail: e.message, ...(e.hint ? { hint: e.hint } : {}) });
  });

  app.get(`${IDENTITY_PREFIX}/bundle`, async () => spiffeBundle(o.ca, 1, 300));
  app.get(`${IDENTITY_PREFIX}/bundle.pem`, async (_req, reply) => reply.type('application/x-pem-file').send(o.ca.certPem));

  app.post(`${IDENTITY_PREFIX}/svid`, async (req) => {
    const token = bearerOf(req);
    if (!token) throw new IdentityError('IDENTITY_TOKEN_MISSING', 'no attestation token', { hint: 'attest (POST /kbs/v0/auth, /kbs/v0/attest) and send the token as Authorization: Bearer <token>' });
    let claims: AttestationClaims;
    try {
      claims = (await o.tokens.verify(token)).claims;
    } catch (err) {
      throw new IdentityError('IDENTITY_TOKEN_INVALID', `the attestation token is not valid: ${(err as Error).message}`, { cause: err, hint: 'attest again; tokens expire after 5 minutes' });
    }
    const publicKeyJwk = boundKey(token);
    if (claims.debug) throw new IdentityError('IDENTITY_DENIED', 'debug enclaves get no workload certificate', { hint: 'build the enclave without debug' });
    if (!o.acceptedStatuses.includes(claims.status)) throw new IdentityError('IDENTITY_DENIED', `TCB status ${claims.status} is not accepted (${o.acceptedStatuses.join(', ')})`, { hint: 'update the platform (microcode, PCE) and attest again' });
    const spiffeId = spiffeIdFor(o.ca.trustDomain, claims);
    const now = o.clock();
    const svid = await issueSvid({ ca: o.ca, spiffeId, publicKeyJwk, claims, now, ttlSeconds });
    try {
      await o.service.appendAudit({ actor: `tee:${claims.tee}:${claims.mrenclave}`, action: 'identity.issue', resource: spiffeId, outcome: 'success', reason: `x509-svid until ${svid.notAfter.toISOString()}`, claims: claims as unknown as Record<string, unknown> });
    } catch (err) {
      throw new IdentityError('IDENTITY_INTERNAL', `cannot record the issuance in the audit chain: ${(err as Error).message}`, { cause: err });
    }
    req.log.info({ spiffeId, mrenclave: claims.mrenclave, notAfter: svid.notAfter.toISOString() }, 'workload certificate issued');
    return { spiffe_id: spiffeId, svid: svid.pem, bundle: o.ca.certPem, expires_at: svid.notAfter.toISOString() };
  });
}

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1];
}

/** The certificate key from the verified token's runtime-data (bound into REPORTDATA by the quote). */
function boundKey(token: string): { kty: 'EC'; crv: 'P-256'; x: string; y: string } {
  const payload = decodeJwt(token) as { submods?: { cpu0?: Record<string, { runtime_data_claims?: Record<string, unknown> } | undefined> } };
  const runtime = payload.submods?.cpu0?.['ear.veraison.annotated-evidence']?.runtime_data_claims;
  const additional = runtime?.['additional-evidence'];
  let jwk: unknown;
  try {
    jwk = typeof additional === 'string' && additional !== '' ? (JSON.parse(additional) as Record<string, unknown>)[SVID_PUBKEY_MEMBER] : undefined;
  } catch {
    jwk = undefined;
  }
  const k = jwk as Record<string, unknown> | undefined;
  const b64url32 = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v) && Buffer.from(v, 'base64url').length === 32;
  if (!k || k['kty'] !== 'EC' || k['crv'] !== 'P-256' || !b64url32(k['x']) || !b64url32(k['y'])) {
    throw new IdentityError('IDENTITY_KEY_NOT_BOUND', `the attestation did not bind a certificate key: additional_evidence must be JSON with "${SVID_PUBKEY_MEMBER}": {"kty":"EC","crv":"P-256","x","y"}`, {
      hint: 'generate the key inside the enclave and attest with it in additional_evidence (kubetee launch does this for spec.identity)',
    });
  }
  return { kty: 'EC', crv: 'P-256', x: k['x'] as string, y: k['y'] as string };
}
