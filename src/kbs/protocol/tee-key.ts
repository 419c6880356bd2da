import { createPublicKey, type KeyObject } from 'node:crypto';
import { KbsProtocolError } from './errors.js';

/**
 * The TEE's public key exactly as Trustee parses it (`kbs_types::TeePubKey`):
 * only these members survive, and only these are hashed into REPORTDATA and
 * used to wrap the reply. Extra JWK members (`kid`, `use`, ...) are dropped.
 */
export type TeePubKey =
  | { kty: 'EC'; crv: 'P-256' | 'P-521'; alg: 'ECDH-ES+A256KW'; x: string; y: string }
  | { kty: 'RSA'; alg: 'RSA-OAEP-256'; n: string; e: string };

const B64URL = /^[A-Za-z0-9_-]*$/;
const EC_COORD_BYTES = { 'P-256': 32, 'P-521': 66 } as const;
const MIN_RSA_BITS = 2048;

function invalid(message: string): KbsProtocolError {
  return new KbsProtocolError('KBS_TEE_KEY_INVALID', `runtime-data.tee-pubkey: ${message}`, {
    hint: 'send a P-256 or P-521 EC JWK with alg ECDH-ES+A256KW, or an RSA JWK (>= 2048 bits) with alg RSA-OAEP-256; coordinates base64url without padding',
  });
}

function b64urlBytes(value: unknown, member: string): Buffer {
  if (typeof value !== 'string' || value.length === 0 || !B64URL.test(value)) throw invalid(`"${member}" must be base64url without padding`);
  return Buffer.from(value, 'base64url');
}

/** Validates a JWK from the wire and returns the normalised TEE key (throws KBS_TEE_KEY_INVALID). */
export function parseTeePubKey(jwk: unknown): TeePubKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('must be a JWK object');
  const k = jwk as Record<string, unknown>;
  if (k['kty'] === 'EC') {
    const crv = k['crv'];
    if (crv !== 'P-256' && crv !== 'P-521') throw invalid(`curve ${JSON.stringify(crv)} is not supported`);
    const alg = k['alg'] ?? 'ECDH-ES+A256KW';
    if (alg !== 'ECDH-ES+A256KW') throw invalid(`alg ${JSON.stringify(alg)} is not supported for EC keys`);
    const x = b64urlBytes(k['x'], 'x');
    const y = b64urlBytes(k['y'], 'y');
    if (x.length !== EC_COORD_BYTES[crv] || y.length !== EC_COORD_BYTES[crv]) throw invalid(`${crv} coordinates must be ${EC_COORD_BYTES[crv]} bytes each`);
    const key: TeePubKey = { kty: 'EC', crv, alg, x: k['x'] as string, y: k['y'] as string };
    toKeyObject(key); // rejects points that are not on the curve
    return key;
  }
  if (k['kty'] === 'RSA') {
    const alg = k['alg'] ?? 'RSA-OAEP-256';
    // RSA1_5 is deprecated in Trustee and padding-oracle prone: refused here (documented difference).
    if (alg !== 'RSA-OAEP-256') throw invalid(`alg ${JSON.stringify(alg)} is not supported for RSA keys`);
    const n = b64urlBytes(k['n'], 'n');
    b64urlBytes(k['e'], 'e');
    const bits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (bits < MIN_RSA_BITS) throw invalid(`RSA modulus has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    const key: TeePubKey = { kty: 'RSA', alg, n: k['n'] as string, e: k['e'] as string };
    toKeyObject(key);
    return key;
  }
  throw invalid(`kty ${JSON.stringify(k['kty'])} is not supported`);
}

/** A node:crypto public key for the TEE key (throws KBS_TEE_KEY_INVALID for an invalid point/modulus). */
export function toKeyObject(key: TeePubKey): KeyObject {
  try {
    const jwk = key.kty === 'EC' ? { kty: 'EC', crv: key.crv, x: key.x, y: key.y } : { kty: 'RSA', n: key.n, e: key.e };
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw invalid(`not a valid public key (${(err as Error).message})`);
  }
}
