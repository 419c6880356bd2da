import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { KbsProtocolError } from './errors.js';
import { parseTeePubKey, type TeePubKey } from './tee-key.js';
import { parseClaims, type AttestationClaims } from '../policy/claims.js';

/** EAR profile Trustee uses; kept so KBS-side tooling finds claims where it expects them. */
export const EAR_PROFILE = 'tag:github.com,2024:confidential-containers/Trustee';

export interface TokenIssuerOptions {
  /** P-256 signing key; an ephemeral one is generated when omitted (as Trustee does). */
  signingKey?: KeyObject;
  issuer?: string;
  /** Token lifetime; Trustee's default is 5 minutes. */
  ttlSeconds?: number;
  now: () => number;
}

export interface VerifiedToken {
  claims: AttestationClaims;
  teePubKey: TeePubKey;
  expiresAtMs: number;
}

/**
 * Issues and verifies the attestation token returned by /attest: an EAR
 * (IETF RATS attestation result) JWT signed with ES256, header carrying the
 * signer's public `jwk` (Trustee §4). kubetee's normalised claims sit beside
 * the Trustee-shaped `runtime_data_claims` (where KBS reads `tee-pubkey`).
 */
export class AttestationTokenIssuer {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  private readonly publicJwk: Record<string, unknown>;
  private readonly issuer: string;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(options: TokenIssuerOptions) {
    if (options.signingKey) {
      const details = options.signingKey.asymmetricKeyDetails;
      if (options.signingKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
        throw new KbsProtocolError('KBS_INTERNAL', 'the attestation-token signing key must be an EC P-256 private key (ES256)', {
          hint: 'generate one with: openssl ecparam -name prime256v1 -genkey -noout',
        });
      }
      this.privateKey = options.signingKey;
    } else {
      this.privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    }
    this.publicKey = createPublicKey(this.privateKey);
    this.publicJwk = this.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    this.issuer = options.issuer ?? 'kubetee-kbs';
    this.ttlSeconds = options.ttlSeconds ?? 300;
    this.now = options.now;
  }

  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  async issue(claims: AttestationClaims, teePubKey: TeePubKey, runtimeData: Record<string, unknown>): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    const earStatus = claims.debug ? 'contraindicated' : claims.status === 'UpToDate' ? 'affirming' : claims.status.startsWith('OutOfDate') || claims.status === 'Revoked' ? 'contraindicated' : 'warning';
    return new SignJWT({
      eat_profile: EAR_PROFILE,
      'ear.verifier-id': { developer: 'kubetee', build: 'kubetee-kbs' },
      submods: {
        cpu0: {
          'ear.status': earStatus,
          'ear.appraisal-policy-id': 'kubetee',
          'ear.veraison.annotated-evidence': {
            report_data: claims.reportData,
            runtime_data_claims: runtimeData,
            [claims.tee]: { tcb_status: claims.status, advisory_ids: claims.advisoryIds, mr_enclave: claims.mrenclave, mr_signer: claims.mrsigner },
          },
        },
      },
      kubetee: { claims, 'tee-pubkey': teePubKey },
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: this.publicJwk as never })
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(this.privateKey);
  }

  /** Verifies a bearer token this broker issued (signature, issuer, expiry with the injected clock). */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        issuer: this.issuer,
        currentDate: new Date(this.now()),
        clockTolerance: 0,
      });
      const k = payload['kubetee'] as { claims?: unknown; 'tee-pubkey'?: unknown } | undefined;
      if (!k || typeof k !== 'object') throw new Error('token carries no kubetee claims');
      return {
        claims: parseClaims(k.claims, 'the attestation token'),
        teePubKey: parseTeePubKey(k['tee-pubkey']),
        expiresAtMs: (payload.exp ?? 0) * 1000,
      };
    } catch (err) {
      const expired = err instanceof joseErrors.JWTExpired;
      throw new KbsProtocolError('KBS_TOKEN_INVALID', expired ? 'the attestation token has expired' : `the attestation token is not valid: ${(err as Error).message}`, {
        cause: err,
        hint: 'attest again (POST /kbs/v0/auth, then /kbs/v0/attest) to get a fresh token',
      });
    }
  }
}

