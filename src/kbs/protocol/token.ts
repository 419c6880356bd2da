import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { KbsProtocolError } from './errors.js';
import { parseTeePubKey, type TeePubKey } from './tee-key.js';
import { parseClaims, type AttestationClaims } from '../policy/claims.js';
import { jwkThumbprint } from '../secrets/token-signing-keys.js';

/** EAR profile Trustee uses; kept so KBS-side tooling finds claims where it expects them. */
export const EAR_PROFILE = 'tag:github.com,2024:confidential-containers/Trustee';

/** An ES256 key new tokens are signed with. */
export interface TokenSignerKey {
  /** RFC 7638 thumbprint of the public key; the token header's `kid`. */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * Where the issuer gets its keys: one key signs, possibly several verify (a
 * rotated-out key keeps verifying the tokens it signed until they expire).
 */
export interface TokenKeySource {
  signingKey(): TokenSignerKey;
  /** The public key for `kid` if tokens signed with it are still accepted; may consult the store. */
  verificationKey(kid: string): Promise<KeyObject | undefined>;
}

/** One fixed key (given, or ephemeral): tokens are valid only where this key is. */
export function staticTokenKeys(privateKey?: KeyObject): TokenKeySource {
  if (privateKey) {
    const details = privateKey.asymmetricKeyDetails;
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw new KbsProtocolError('KBS_INTERNAL', 'the attestation-token signing key must be an EC P-256 private key (ES256)', {
        hint: 'generate one with: openssl ecparam -name prime256v1 -genkey -noout',
      });
    }
  }
  const key = privateKey ?? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const publicKey = createPublicKey(key);
  const signer: TokenSignerKey = { kid: jwkThumbprint(publicKey), privateKey: key, publicKey };
  return {
    signingKey: () => signer,
    verificationKey: async (kid) => (kid === signer.kid ? publicKey : undefined),
  };
}

export interface TokenIssuerOptions {
  /** P-256 signing key; an ephemeral one is generated when neither this nor `keys` is given. */
  signingKey?: KeyObject;
  /** Keys kept elsewhere (the broker's store: `StoredTokenKeys`); wins over `signingKey`. */
  keys?: TokenKeySource;
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
  readonly keys: TokenKeySource;
  private readonly issuer: string;
  private readonly ttlSeconds: number;
  private readonly now: () => number;
  private readonly jwkCache = new WeakMap<KeyObject, Record<string, unknown>>();

  constructor(options: TokenIssuerOptions) {
    this.keys = options.keys ?? staticTokenKeys(options.signingKey);
    this.issuer = options.issuer ?? 'kubetee-kbs';
    this.ttlSeconds = options.ttlSeconds ?? 300;
    this.now = options.now;
  }

  /** The public key new tokens are signed with. */
  get publicKey(): KeyObject {
    return this.keys.signingKey().publicKey;
  }

  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  async issue(claims: AttestationClaims, teePubKey: TeePubKey, runtimeData: Record<string, unknown>): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    const signer = this.keys.signingKey();
    let jwk = this.jwkCache.get(signer.publicKey);
    if (!jwk) {
      jwk = signer.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      this.jwkCache.set(signer.publicKey, jwk);
    }
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
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: signer.kid, jwk: jwk as never })
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(signer.privateKey);
  }

  /**
   * Verifies a bearer token issued by this broker or any replica sharing its
   * keys: the header's `kid` picks the key (the header's `jwk` is never
   * trusted), then signature, issuer and expiry with the injected clock.
   */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      let kid: unknown;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        throw new Error('not a JWS');
      }
      const key = typeof kid === 'string' && kid.length > 0 && kid.length <= 128 ? await this.keys.verificationKey(kid) : undefined;
      if (!key) throw new Error(typeof kid === 'string' ? `it was not signed by a key this broker accepts (kid ${kid.slice(0, 64)})` : 'its header names no key (kid)');
      const { payload } = await jwtVerify(token, key, {
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

