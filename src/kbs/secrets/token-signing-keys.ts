import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';
import { openValue, rewrapValue, sealValue, type RandomBytes } from '../crypto/envelope.js';
import type { SealedValue, TokenSigningKeyRecord } from '../store/types.js';
import { KbsStoreError } from '../store/errors.js';

/*
 * The attestation-token signing keys (ES256, P-256) kept in the store: the
 * PKCS#8 private key is sealed exactly like a secret value (its own data key,
 * wrapped by the master keyring), under an envelope "path" that no resource
 * path can take (resource segments never contain ':'), so a sealed signing
 * key cannot be moved onto a secret row or back.
 */

const ENVELOPE_VERSION = 1;
const envelopePath = (kid: string): string => `token-signing-key:${kid}`;

/** A signing key as the protocol side uses it. */
export interface TokenSigningKey {
  kid: string;
  createdAt: string;
  retiredAt: string | null;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** What lists and the admin API show: never the key itself. */
export interface TokenSigningKeyInfo {
  kid: string;
  createdAt: string;
  retiredAt: string | null;
  current: boolean;
  /** Master key wrapping this key's data key. */
  masterKeyId: string;
  /** The public key (JWK) that verifies tokens signed with it. */
  publicJwk: Record<string, unknown>;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC public key. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { crv: string; kty: string; x: string; y: string };
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/** Generates a P-256 key and seals it under the keyring's active master key. */
export function newTokenSigningKeyRecord(keyring: Keyring, createdAt: string, random?: RandomBytes): TokenSigningKeyRecord {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kid = jwkThumbprint(publicKey);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    return { kid, createdAt, retiredAt: null, sealed: sealValue(keyring, envelopePath(kid), ENVELOPE_VERSION, der, random) };
  } finally {
    der.fill(0);
  }
}

/** Decrypts a stored key; DECRYPT_FAILED / MASTER_KEY_UNKNOWN as for secret values, and a key that is not its kid is refused. */
export function openTokenSigningKey(keyring: Keyring, record: TokenSigningKeyRecord): TokenSigningKey {
  const der = openValue(keyring, envelopePath(record.kid), ENVELOPE_VERSION, record.sealed);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    if (jwkThumbprint(publicKey) !== record.kid) {
      throw new KbsStoreError('DECRYPT_FAILED', `token signing key ${record.kid} does not match its kid`, { hint: 'the stored row was altered; rotate the signing key' });
    }
    return { kid: record.kid, createdAt: record.createdAt, retiredAt: record.retiredAt, privateKey, publicKey };
  } finally {
    der.fill(0);
  }
}

export function rewrapTokenSigningKey(keyring: Keyring, record: TokenSigningKeyRecord, random?: RandomBytes): SealedValue {
  return rewrapValue(keyring, envelopePath(record.kid), ENVELOPE_VERSION, record.sealed, random);
}
