/**
 * ECDSA P-256 key handling on node:crypto: generation, PKCS#8 persistence,
 * raw (x‖y) public keys as SGX quotes carry them, raw r‖s signatures, and the
 * bridge to WebCrypto keys that @peculiar/x509 signs with.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';

export function generateP256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('not an ECDSA P-256 private key');
  }
  return key;
}

/** Uncompressed point without the 0x04 prefix: the 64-byte form SGX quotes use. */
export function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

/** ECDSA-P256-SHA256 signature as raw r‖s (64 bytes), the encoding SGX quotes and Intel collateral use. */
export function signRaw(data: Uint8Array, privateKey: KeyObject): Uint8Array {
  return sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
}

/** ECDSA-P256-SHA256 signature DER-encoded (X.509 signatureValue). */
export function signDer(data: Uint8Array, privateKey: KeyObject): Uint8Array {
  return sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
}

export interface WebCryptoPair {
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

export async function toWebCrypto(privateKey: KeyObject): Promise<WebCryptoPair> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return {
    privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']),
  };
}
